package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestTheBinaryKnowsWhenItRunsAsAKubectlPlugin(t *testing.T) {
	for argv0, want := range map[string]bool{
		"/usr/local/bin/kubectl-plimsoll": true,
		"kubectl-plimsoll.exe":            true,
		"/usr/local/bin/plimsoll":         false,
		"kubectl-plimsoll-old":            false,
	} {
		if got := asKubectlPlugin(argv0); got != want {
			t.Errorf("asKubectlPlugin(%q) = %v, want %v", argv0, got, want)
		}
	}
}

// TestCheckTakesKubectlsGlobalFlags: `kubectl plimsoll check -n team-x
// --context c` passes kubectl's global flags on; -n is the namespace of
// objects that name none, so the policy's namespace exemptions apply as
// they would after `kubectl apply -n team-x`.
func TestCheckTakesKubectlsGlobalFlags(t *testing.T) {
	run1 := func(args ...string) (int, string) {
		var stdout, stderr bytes.Buffer
		code := run(append([]string{"check", "--config", "testdata/exempt-team-x.yaml", "-f", "testdata/latest-pod.yaml"}, args...), &stdout, &stderr)
		return code, stdout.String() + stderr.String()
	}
	if code, out := run1(); code != 1 || !strings.Contains(out, "[image-tag]") {
		t.Errorf("without -n: exit %d, want 1 for image-tag:\n%s", code, out)
	}
	if code, out := run1("-n", "team-x", "--context", "prod", "--kubeconfig", "/nowhere"); code != 0 || !strings.Contains(out, "team-x's images") {
		t.Errorf("with -n team-x: exit %d, want 0 with image-tag exempted:\n%s", code, out)
	}
	if code, out := run1("--namespace", "team-y"); code != 1 {
		t.Errorf("with --namespace team-y: exit %d, want 1:\n%s", code, out)
	}
}

func TestCheckCanSkipDocumentsThatAreNoKubernetesObjects(t *testing.T) {
	var stdout, stderr bytes.Buffer
	args := []string{"check", "-f", "testdata/latest-pod.yaml", "-f", "../../.pre-commit-hooks.yaml"}
	if code := run(args, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), "not a Kubernetes object") {
		t.Errorf("without --skip-non-kubernetes: exit %d, want 2 naming the document:\n%s", code, stderr.String())
	}
	stdout.Reset()
	stderr.Reset()
	if code := run(append(args, "--skip-non-kubernetes"), &stdout, &stderr); code != 1 || !strings.Contains(stdout.String(), "[image-tag]") {
		t.Errorf("with --skip-non-kubernetes: exit %d, want 1 for the Pod alone:\n%s%s", code, stdout.String(), stderr.String())
	}
}
