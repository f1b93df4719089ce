package main

import (
	"bytes"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
)

// clusterWatch finds the API server as kubectl does; without one it says
// once that the context rules are off, and serve goes on without them.
func TestClusterWatch(t *testing.T) {
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "none"))
	t.Setenv("HOME", t.TempDir())
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	t.Setenv("KUBERNETES_SERVICE_PORT", "")
	logged := func(kubeconfig string) (bool, string) {
		var buf bytes.Buffer
		w := clusterWatch(kubeconfig, slog.New(slog.NewTextHandler(&buf, nil)))
		return w != nil, buf.String()
	}

	ok, log := logged("")
	if ok || strings.Count(log, "context rules are off for lack of cluster access") != 1 || !strings.Contains(log, "level=INFO") {
		t.Errorf("no cluster: watch %t, log:\n%s", ok, log)
	}
	ok, log = logged(filepath.Join(t.TempDir(), "missing"))
	if ok || !strings.Contains(log, "level=WARN") || !strings.Contains(log, "context rules are off") {
		t.Errorf("a --kubeconfig that is not there: watch %t, log:\n%s", ok, log)
	}
	ok, log = logged(kubeconfigFile(t))
	if !ok || log != "" {
		t.Errorf("a kubeconfig: watch %t, log:\n%s", ok, log)
	}
	t.Setenv("KUBECONFIG", kubeconfigFile(t))
	if ok, log = logged(""); !ok {
		t.Errorf("$KUBECONFIG: no watch; log:\n%s", log)
	}
}
