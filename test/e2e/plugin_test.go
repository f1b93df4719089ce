package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plimsoll/plimsoll/check"
)

// TestKubectlPlugin runs plimsoll as a kubectl plugin through the kubectl
// the project builds (bin/kubectl; never one found on the machine): linked
// as kubectl-plimsoll into a directory on PATH, as `make install-plugin`
// does, `kubectl plimsoll check` and `kubectl plimsoll audit` take the
// global flags a kubectl user passes (--kubeconfig, --context, -n).
func TestKubectlPlugin(t *testing.T) {
	kubectl := filepath.Join(env.BinDir, "kubectl")
	if _, err := os.Stat(kubectl); err != nil {
		t.Fatalf("%s is missing: make e2e builds it (test/controlplane/build.sh kubectl)", kubectl)
	}
	plugins := t.TempDir()
	if err := os.Symlink(filepath.Join(env.BinDir, "plimsoll"), filepath.Join(plugins, "kubectl-plimsoll")); err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	auditWriteKubeconfig(t, env.Config, kubeconfig)
	ctx := context.Background()
	kc := func(args ...string) (int, string, string) {
		cmd := exec.CommandContext(ctx, kubectl, args...)
		// Only the plugin directory on PATH: no other kubectl-* can answer.
		cmd.Env = append(os.Environ(), "PATH="+plugins, "HOME="+t.TempDir(), "KUBECONFIG=")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		_ = cmd.Run()
		return cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()
	}

	if code, out, errOut := kc("plugin", "list"); !strings.Contains(out+errOut, "kubectl-plimsoll") {
		t.Errorf("kubectl plugin list (exit %d) does not find kubectl-plimsoll:\n%s%s", code, out, errOut)
	}
	if code, out, errOut := kc("plimsoll", "-h"); code != 0 || !strings.Contains(out, "kubectl plimsoll check") {
		t.Errorf("kubectl plimsoll -h: exit %d, want 0 and a usage that says kubectl plimsoll:\n%s%s", code, out, errOut)
	}
	examples, err := filepath.Abs("../../examples")
	if err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := kc("plimsoll", "check", "-f", examples, "-n", "team-a", "--context", "e2e", "--kubeconfig", kubeconfig); code != 1 || !strings.Contains(out, "would be denied") {
		t.Errorf("kubectl plimsoll check: exit %d, want 1 (the examples hold what enforce denies):\n%s%s", code, out, errOut)
	}

	auditSeedAll(t)
	ns := auditNSLabelled[1]
	code, out, errOut := kc("plimsoll", "audit", "--kubeconfig", kubeconfig, "--context", "e2e", "-n", ns, "-o", "json")
	if code != 1 {
		t.Fatalf("kubectl plimsoll audit: exit %d, want 1 (enforce would deny something in %s)\n%s", code, ns, errOut)
	}
	var got struct {
		Results []check.Result `json:"results"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil || len(got.Results) == 0 {
		t.Fatalf("kubectl plimsoll audit -o json: %v\n%s", err, out)
	}
	for _, r := range got.Results {
		// The namespace's own results (namespace-quota) are the
		// Namespace's, which is cluster-scoped.
		if r.Namespace != ns && (r.Kind != "Namespace" || r.Name != ns) {
			t.Errorf("-n %s: a result from %s %q in namespace %q", ns, r.Kind, r.Name, r.Namespace)
		}
	}
}
