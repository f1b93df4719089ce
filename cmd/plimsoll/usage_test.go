package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// kubeconfigFile writes a kubeconfig whose current context is "ctx-a"
// (and another, "ctx-b"); its server is an address nothing listens on.
func kubeconfigFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	const cfg = `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://127.0.0.1:1"}
users:
- name: u
  user: {token: t}
contexts:
- name: ctx-a
  context: {cluster: c, user: u}
- name: ctx-b
  context: {cluster: c, user: u}
current-context: ctx-a
`
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestExitCodes pins each subcommand's answer to bad usage (2), to help
// (0), and check's verdicts (0: nothing enforce would deny, 1: something,
// 2: unreadable input).
func TestExitCodes(t *testing.T) {
	// No kubeconfig anywhere and not in a cluster.
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "none"))
	t.Setenv("HOME", t.TempDir())
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	t.Setenv("KUBERNETES_SERVICE_PORT", "")
	kc := kubeconfigFile(t)
	advice := filepath.Join(t.TempDir(), "advice.yaml")
	if err := os.WriteFile(advice, []byte("apiVersion: plimsoll.dev/v1alpha1\nkind: Policy\nexemptions:\n- reason: r\n  names: [web]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const compliant = "../../examples/04-compliant-deployment.yaml"
	tests := []struct {
		name     string
		args     []string
		wantCode int
		stdout   string
		stderr   string
	}{
		{"help prints usage on stdout", []string{"help"}, 0, "Usage:", ""},
		{"-h prints usage on stdout", []string{"-h"}, 0, "plimsoll check -f PATH", ""},
		{"--help prints usage on stdout", []string{"--help"}, 0, "plimsoll version", ""},
		{"--version prints the version", []string{"--version"}, 0, "plimsoll dev\n", ""},

		{"check -h prints its usage", []string{"check", "-h"}, 0, "", "Exit 0: nothing enforce mode would deny"},
		{"check with an unknown flag", []string{"check", "--frob"}, 2, "", "flag provided but not defined: -frob"},
		{"check without a path", []string{"check"}, 2, "", "nothing to check"},
		{"check of a missing file", []string{"check", "-f", "../../examples/no-such.yaml"}, 2, "", "no-such.yaml"},
		{"check with a bad output", []string{"check", "-o", "yaml", "-f", compliant}, 2, "", `-o "yaml": use text or json`},
		{"check with a missing policy file", []string{"check", "--config", "no-such-policy.yaml", "-f", compliant}, 2, "", "--config no-such-policy.yaml"},
		{"check of a compliant workload passes", []string{"check", "-f", compliant}, 0, "", ""},
		{"check takes paths as arguments too", []string{"check", compliant, "../../examples/02-privileged-pod.yaml"}, 1, "would be denied", ""},
		{"check --mode warn never fails on findings", []string{"check", "--mode", "warn", "-f", "../../examples"}, 0, "", ""},
		{"check prints the policy's advice", []string{"check", "--config", advice, "-f", compliant}, 0, "", "note: exemptions[0] (r) selects kinds or names in every namespace"},

		{"audit -h prints its usage", []string{"audit", "-h"}, 0, "", "Usage: plimsoll audit"},
		{"audit with an unknown flag", []string{"audit", "--frob"}, 2, "", "flag provided but not defined: -frob"},
		{"audit with an argument", []string{"audit", "pods"}, 2, "", `unexpected argument "pods"`},
		{"audit with a bad output", []string{"audit", "-o", "yaml"}, 2, "", `-o "yaml": use text, json or html`},
		{"audit without a cluster says so", []string{"audit"}, 2, "", "no kubeconfig found"},
		{"audit with a missing kubeconfig", []string{"audit", "--kubeconfig", "no-such-kubeconfig"}, 2, "", "kubeconfig:"},
		{"audit with an unknown context", []string{"audit", "--kubeconfig", kc, "--context", "ctx-z"}, 2, "", "kubeconfig:"},
		{"audit with a bad policy names the field", []string{"audit", "--kubeconfig", kc, "--config", "../../policy/testdata/unknown-field.yaml"}, 2, "", "defaults.resources.enabeld: unknown field"},
		{"audit --watch with a bad log format", []string{"audit", "--kubeconfig", kc, "--watch", "--log-format", "xml"}, 2, "", `--log-format "xml"`},

		{"serve with an unknown flag", []string{"serve", "--frob"}, 2, "", "flag provided but not defined: -frob"},
		{"serve with an argument", []string{"serve", "now"}, 2, "", `unexpected argument "now"`},
		{"serve with a bad log level", []string{"serve", "--log-level", "loud"}, 2, "", `--log-level "loud"`},
		{"serve --tls-self-managed without the API server cannot start", []string{"serve", "--log-format", "text", "--tls-self-managed", "--tls-cert-file", "/tmp/c/tls.crt", "--tls-key-file", "/tmp/c/tls.key", "--tls-secret-namespace", "ns", "--kubeconfig", "no-such-kubeconfig"}, 1, "", "--tls-self-managed needs the API server"},
		{"serve with a certificate that cannot be read cannot start", []string{"serve", "--log-format", "text", "--tls-cert-file", "no-such.crt", "--tls-key-file", "no-such.key", "--listen", "127.0.0.1:0", "--metrics-listen", "0", "--health-listen", "127.0.0.1:0"}, 1, "", "cannot start"},
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

// TestCheckReadsStdin: -f - reads the manifest from stdin.
func TestCheckReadsStdin(t *testing.T) {
	for _, tt := range []struct {
		file string
		want int
	}{
		{"../../examples/04-compliant-deployment.yaml", 0},
		{"../../examples/02-privileged-pod.yaml", 1},
		{"../../check/testdata/broken.yaml", 2},
	} {
		data, err := os.ReadFile(tt.file)
		if err != nil {
			t.Fatal(err)
		}
		var stdout, stderr bytes.Buffer
		if code := runCheck([]string{"-f", "-"}, bytes.NewReader(data), &stdout, &stderr); code != tt.want {
			t.Errorf("%s on stdin: exit code = %d, want %d\nstdout: %s\nstderr: %s", tt.file, code, tt.want, stdout.String(), stderr.String())
		}
	}
}

// TestTheEnvironmentSetsServeDefaults: PLIMSOLL_LOG_FORMAT is read when the
// flag is not given, and the flag wins over it.
func TestTheEnvironmentSetsServeDefaults(t *testing.T) {
	t.Setenv("PLIMSOLL_LOG_FORMAT", "xml")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"serve"}, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), `--log-format "xml"`) {
		t.Errorf("serve with PLIMSOLL_LOG_FORMAT=xml: exit %d, stderr %s", code, stderr.String())
	}
	stderr.Reset()
	if code := run([]string{"serve", "--log-format", "text"}, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), "--tls-cert-file and --tls-key-file are required") {
		t.Errorf("serve --log-format text with PLIMSOLL_LOG_FORMAT=xml: exit %d, stderr %s", code, stderr.String())
	}
}

// TestKubeClientConfig: the context named on the command line, else the
// kubeconfig's current one, names the report.
func TestKubeClientConfig(t *testing.T) {
	kc := kubeconfigFile(t)
	for _, tt := range []struct{ context, want string }{{"", "ctx-a"}, {"ctx-b", "ctx-b"}} {
		cfg, name, err := kubeClientConfig(kc, tt.context)
		if err != nil {
			t.Fatal(err)
		}
		if name != tt.want || cfg.Host != "https://127.0.0.1:1" {
			t.Errorf("--context %q: name %q host %q, want %q https://127.0.0.1:1", tt.context, name, cfg.Host, tt.want)
		}
	}
}

func TestIsTerminal(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if isTerminal(f) || isTerminal(&bytes.Buffer{}) {
		t.Error("a file or a buffer was taken for a terminal")
	}
}
