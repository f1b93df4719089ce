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
		{"serve with an OTLP endpoint that is no URL is refused", []string{"serve", "--tls-cert-file", "c", "--tls-key-file", "k", "--otlp-endpoint", "otel-collector:4318"}, 2, "", "--otlp-endpoint"},
		{"serve with a sample ratio above 1 is refused", []string{"serve", "--tls-cert-file", "c", "--tls-key-file", "k", "--trace-sample-ratio", "2"}, 2, "", "--trace-sample-ratio 2: must be between 0 and 1"},
		{"serve --tls-self-managed without a namespace says where to set it", []string{"serve", "--tls-self-managed", "--tls-cert-file", "/tmp/c/tls.crt", "--tls-key-file", "/tmp/c/tls.key", "--tls-secret-namespace", ""}, 2, "", "--tls-secret-namespace is required with --tls-self-managed"},
		{"serve --tls-self-managed refuses a SAN that is no name", []string{"serve", "--tls-self-managed", "--tls-cert-file", "/tmp/c/tls.crt", "--tls-key-file", "/tmp/c/tls.key", "--tls-secret-namespace", "ns", "--tls-extra-san", "a b"}, 2, "", `--tls-extra-san "a b"`},
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

func TestServeHelpHidesTestingFlags(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"serve", "-h"}, &stdout, &stderr); code != 0 {
		t.Fatalf("serve -h exited %d", code)
	}
	help := stderr.String()
	for _, want := range []string{"-tls-self-managed", "-tls-secret-name", "-tls-secret-namespace", "-webhook-config-name", "-tls-service-name", "-tls-extra-san", "-kubeconfig", "-listen", "-client-ca-file", "-otlp-endpoint", "-trace-sample-ratio"} {
		if !strings.Contains(help, want) {
			t.Errorf("serve -h lacks %s", want)
		}
	}
	for _, hidden := range []string{"tls-ca-lifetime", "tls-cert-lifetime"} {
		if strings.Contains(help, hidden) {
			t.Errorf("serve -h shows the testing flag %s", hidden)
		}
	}
}

// TestEveryCommandReadsThePolicyFromPLIMSOLL_CONFIG pins one convention
// (CONTRIBUTING.md): a flag that means the same in every subcommand is
// read the same way, here --config and its environment variable.
func TestEveryCommandReadsThePolicyFromPLIMSOLL_CONFIG(t *testing.T) {
	t.Setenv("PLIMSOLL_CONFIG", "../../policy/testdata/unknown-field.yaml")
	for _, args := range [][]string{
		{"check", "-f", "../../examples"},
		{"serve", "--tls-cert-file", "c", "--tls-key-file", "k"},
		{"audit", "-h"}, // audit would need a cluster to get as far as the policy
	} {
		var stdout, stderr bytes.Buffer
		code := run(args, &stdout, &stderr)
		if !strings.Contains(stderr.String(), "unknown-field.yaml") {
			t.Errorf("%s: exit %d, stderr %q; want the policy file from PLIMSOLL_CONFIG named", args[0], code, stderr.String())
		}
	}
}
