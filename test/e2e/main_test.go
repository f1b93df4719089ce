// Package e2e tests plimsoll through a real kube-apiserver and etcd: what
// the API server stores, refuses and tells its clients, with the webhook
// configurations the chart renders (its default values: opt-in scope, one
// entry per mode, its selectors, exclusions and failure policies) pointed
// at a plimsoll serve on loopback.
package e2e

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/plimsoll/plimsoll/admission"

	"github.com/plimsoll/plimsoll/test/chart"
	"github.com/plimsoll/plimsoll/test/harness"
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
	// The chart's webhook configurations with its default values
	// (release plimsoll in plimsoll-system), as `helm install` renders them.
	env, err = harness.Start(ctx, harness.Options{
		Webhooks: chart.WebhookValues{Namespace: plimsollNS},
		Log:      func(f string, a ...any) { fmt.Fprintf(os.Stderr, "e2e: "+f+"\n", a...) },
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: cannot start:", err)
		return 1
	}
	defer env.Stop()
	for ns, mode := range map[string]admission.Mode{enforceNS: admission.Enforce, warnNS: admission.Warn, auditNS: admission.Audit, unlabelledNS: "", plimsollNS: admission.Enforce} {
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
