// Package e2e tests plimsoll through a real kube-apiserver and etcd: what
// the API server stores, refuses and tells its clients, with plimsoll's
// webhook configurations installed one entry per mode as the chart
// installs them.
package e2e

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/plimsoll/plimsoll/test/harness"
	"github.com/plimsoll/plimsoll/webhook"
)

const (
	enforceNS    = "team-enforce"
	warnNS       = "team-warn"
	auditNS      = "team-audit"
	unlabelledNS = "team-unlabelled"
	plimsollNS   = "plimsoll-system"
)

var env *harness.Env

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx := context.Background()
	var err error
	env, err = harness.Start(ctx, harness.Options{
		Registration: webhook.Registration{Name: "plimsoll", Namespace: plimsollNS, Scope: webhook.ScopeOptIn},
		Log:          func(f string, a ...any) { fmt.Fprintf(os.Stderr, "e2e: "+f+"\n", a...) },
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: cannot start:", err)
		return 1
	}
	defer env.Stop()
	for ns, mode := range map[string]webhook.Mode{enforceNS: webhook.Enforce, warnNS: webhook.Warn, auditNS: webhook.Audit, unlabelledNS: "", plimsollNS: webhook.Enforce} {
		if err := env.CreateNamespace(ctx, ns, mode); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: cannot create namespace:", err)
			return 1
		}
	}
	code := m.Run()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "e2e: plimsoll's log:\n%s\n", env.Plimsoll.Log())
	}
	return code
}
