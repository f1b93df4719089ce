package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// plimsoll export prints the policies and bindings of the modes asked
// for, under a header naming the rules carried and those left to the
// webhook; a policy file's exemption that CEL cannot express moves its
// rule to the second list; bad usage exits 2.
func TestExportCommand(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"export", "--mode", "enforce", "--exclude-namespace", "plimsoll-system"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	text := out.String()
	for _, want := range []string{"# In-process (", "privileged", "# Left to the webhook (", "#   pod-disruption-budget: reads other objects",
		"kind: ValidatingAdmissionPolicy\n", "kind: ValidatingAdmissionPolicyBinding\n", "name: plimsoll-error-enforce\n", "- Deny\n", "- plimsoll-system\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("plimsoll export does not print %q", want)
		}
	}
	if strings.Contains(text, "-warn\n") || strings.Contains(text, "-audit\n") {
		t.Error("--mode enforce also binds warn or audit")
	}

	cfg := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(cfg, []byte("apiVersion: plimsoll.dev/v1alpha1\nkind: Policy\nexemptions:\n- reason: the ingress controller\n  rules: [host-port]\n  names: [ingress-nginx]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if code := run([]string{"export", "--config", cfg}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "#   host-port: exemption 0 (the ingress controller) selects by name or kind") {
		t.Errorf("host-port, lifted by a name exemption, is not listed as left to the webhook:\n%s", out.String()[:min(2000, out.Len())])
	}
	// in cluster scope, the default mode's bindings also select
	// namespaces without the label; with --dry-run, audit alone, in every
	// namespace not labelled off
	out.Reset()
	if code := run([]string{"export", "--scope", "cluster", "--default-mode", "enforce"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "name: plimsoll-error-enforce\n") || !strings.Contains(out.String(), "- warn\n        - audit\n        - \"off\"\n") {
		t.Errorf("--scope cluster --default-mode enforce: the enforce bindings do not select unlabelled namespaces:\n%s", tail(out.String()))
	}
	out.Reset()
	if code := run([]string{"export", "--scope", "cluster", "--dry-run"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if strings.Contains(out.String(), "-enforce\n") || strings.Contains(out.String(), "-warn\n") || !strings.Contains(out.String(), "name: plimsoll-error-audit\n") {
		t.Errorf("--dry-run binds other modes than audit:\n%s", tail(out.String()))
	}
	for _, args := range [][]string{{"export", "--mode", "strict"}, {"export", "extra"}, {"export", "--config", "/nonexistent"},
		{"export", "--scope", "everywhere"}, {"export", "--default-mode", "off"}, {"export", "--dry-run", "--mode", "enforce"}} {
		errb.Reset()
		if code := run(args, &out, &errb); code != 2 || errb.Len() == 0 {
			t.Errorf("%v: exit %d, stderr %q; want 2 and a message", args, code, errb.String())
		}
	}
}

// tail is the end of a long output, for a failure message.
func tail(s string) string { return s[max(0, len(s)-2000):] }
