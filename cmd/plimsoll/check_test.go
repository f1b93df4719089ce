package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"strings"
	"testing"
)

// TestCheckOutputsAndFailOn runs `plimsoll check` as CI would: each -o
// format on stdout, and the exit code --fail-on makes of the findings.
func TestCheckOutputsAndFailOn(t *testing.T) {
	const (
		denied   = "../../check/testdata/multi.yaml"
		warnings = "../../check/testdata/failon/warnings.yaml"
		clean    = "../../check/testdata/dir"
		broken   = "../../check/testdata/broken.yaml"
		overlay  = "../../check/testdata/kustomize/overlays/origins"
		brokenK  = "../../check/testdata/kustomize/broken"
	)
	tests := []struct {
		name     string
		args     []string
		wantCode int
		stdout   string
		stderr   string
	}{
		{"text names each finding's file:line:col", []string{"-f", denied}, 1, "check/testdata/multi.yaml:24:9: [image-tag]", ""},
		{"json results carry line and column", []string{"-o", "json", "-f", denied}, 1, `"line": 24,` + "\n" + `      "column": 9,`, ""},
		{"sarif is a SARIF 2.1.0 log of plimsoll", []string{"-o", "sarif", "-f", denied}, 1, `"name": "plimsoll"`, ""},
		{"junit is a testsuites document", []string{"-o", "junit", "-f", denied}, 1, `<testsuites name="plimsoll check" tests="2" failures="2"`, ""},
		{"github writes workflow commands", []string{"-o", "github", "-f", denied}, 1, "::error file=../../check/testdata/multi.yaml,line=24,col=9,title=[image-tag]::", ""},
		{"an unknown output is bad usage", []string{"-o", "yaml", "-f", denied}, 2, "", `-o "yaml": use text or json (or sarif, junit, github)`},
		{"--fail-on error fails on what enforce would deny", []string{"--fail-on", "error", "-f", denied}, 1, "", ""},
		{"--fail-on error passes warnings", []string{"--fail-on", "error", "-f", warnings}, 0, "", ""},
		{"--fail-on warning fails on warnings", []string{"--fail-on", "warning", "-f", warnings}, 1, "", ""},
		{"--fail-on warning passes what defaulting fixes", []string{"--fail-on", "warning", "-f", clean}, 0, "", ""},
		{"--fail-on never passes what enforce would deny", []string{"--fail-on", "never", "-o", "github", "-f", denied}, 0, "::error ", ""},
		{"--fail-on never still fails on unreadable input", []string{"--fail-on", "never", "-f", broken}, 2, "", "broken.yaml: document 2:"},
		{"an unknown --fail-on is bad usage", []string{"--fail-on", "warnings", "-f", denied}, 2, "", `--fail-on "warnings": use error, warning or never`},
		{"the usage documents the exit codes", []string{"-h"}, 0, "", "with --fail-on warning: also any warning"},
		{"the usage documents -k", []string{"-h"}, 0, "", "-k DIR builds the kustomization in DIR"},
		{"the usage shows the Helm pipe", []string{"-h"}, 0, "", "helm template RELEASE CHART | plimsoll check -f -"},
		{"-k builds a kustomization and points into its origin files", []string{"-k", overlay}, 1, "check/testdata/kustomize/base/deployment.yaml:16:9: [image-tag]", ""},
		{"-k points what a patch wrote into the rendered stream", []string{"-o", "github", "-k", overlay}, 1, "::error file=(kustomize build " + overlay + "),line=37,col=11,title=[privileged]::", ""},
		{"-k combines with -f", []string{"-o", "json", "-f", denied, "-k", overlay}, 1, `"objects": 3`, ""},
		{"a broken kustomization is unreadable input", []string{"-k", brokenK}, 2, "", "plimsoll check: " + brokenK + ": kustomize build: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := runCheck(tt.args, strings.NewReader(""), &stdout, &stderr)
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d\nstderr: %s", code, tt.wantCode, stderr.String())
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

func TestCheckMachineOutputsParse(t *testing.T) {
	for _, format := range []string{"json", "sarif", "junit"} {
		t.Run(format, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := runCheck([]string{"-o", format, "-f", "../../examples"}, strings.NewReader(""), &stdout, &stderr); code != 1 {
				t.Fatalf("exit code %d: %s", code, stderr.String())
			}
			var err error
			if format == "junit" {
				err = xml.Unmarshal(stdout.Bytes(), new(struct{}))
			} else {
				err = json.Unmarshal(stdout.Bytes(), new(map[string]any))
			}
			if err != nil {
				t.Errorf("-o %s does not parse: %v\n%s", format, err, stdout.String())
			}
		})
	}
}
