package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestCommandLine(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		stdout   string
		stderr   string
	}{
		{"no command prints usage", nil, 2, "", "Usage:"},
		{"an unknown command is refused", []string{"frobnicate"}, 2, "", `unknown command "frobnicate"`},
		{"version prints the version", []string{"version"}, 0, "plimsoll dev", ""},
		{"check of the examples finds what enforce would deny", []string{"check", "-f", "../../examples"}, 1, "would be denied", ""},
		{"check of a broken file names file and document", []string{"check", "-f", "../../check/testdata/broken.yaml"}, 2, "", "check/testdata/broken.yaml: document 2:"},
		{"check with a bad mode is refused", []string{"check", "--mode", "strict", "-f", "x"}, 2, "", `--mode "strict"`},
		{"check with a bad policy names the field", []string{"check", "--config", "../../policy/testdata/unknown-field.yaml", "-f", "../../examples"}, 2, "", "defaults.resources.enabeld: unknown field"},
		{"check -o json prints the schema", []string{"check", "-o", "json", "-f", "../../examples/04-compliant-deployment.yaml"}, 0, `"summary": {`, ""},
		{"serve without a certificate says what is missing", []string{"serve"}, 2, "", "--tls-cert-file and --tls-key-file are required"},
		{"serve with a bad log format is refused", []string{"serve", "--log-format", "xml"}, 2, "", `--log-format "xml"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tt.args, &stdout, &stderr)
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d\nstdout: %s\nstderr: %s", code, tt.wantCode, stdout.String(), stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.stdout) {
				t.Errorf("stdout lacks %q:\n%s", tt.stdout, stdout.String())
			}
			if !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.stderr, stderr.String())
			}
		})
	}
}
