package webhook_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plimsoll/plimsoll/admission"

	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/validate"
	"github.com/plimsoll/plimsoll/workload"
)

// The tests in this file try, as a tenant would, to get past enforce:
// borrow an exempted workload's identity, outlast the cap on requests in
// flight, outrun the API server's deadline.

// claimingOwner is the privileged Pod fixture naming a DaemonSet "agent"
// as its controller.
func claimingOwner(t *testing.T) []byte {
	t.Helper()
	return edit(t, asMutated(t, "pod-privileged.yaml"), func(m map[string]any) {
		m["metadata"].(map[string]any)["ownerReferences"] = []any{map[string]any{
			"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "agent",
			"uid": "1d2c3b4a-0000-4000-8000-000000000001", "controller": true,
		}}
	})
}

func TestAPodCannotBorrowAnExemptedWorkloadsIdentity(t *testing.T) {
	exempting := func() *policy.Policy {
		p := policy.Default()
		p.Exemptions = []policy.Exemption{{Reason: "node agent", Namespaces: []string{"team-a"}, Kinds: []string{"DaemonSet"}, Names: []string{"agent"}}}
		return p
	}
	tests := []struct {
		name        string
		username    string
		wantAllowed bool
	}{
		{"a tenant's Pod naming the exempted DaemonSet as its owner is judged as itself, and denied", "alice@example.com", false},
		{"a Pod the DaemonSet controller sends is exempted with its DaemonSet", "system:serviceaccount:kube-system:daemon-set-controller", true},
		{"a Pod kube-controller-manager sends without service-account credentials is exempted", "system:kube-controller-manager", true},
		{"another controller's word about a DaemonSet owner is not believed", "system:serviceaccount:kube-system:replicaset-controller", false},
		{"a look-alike of the DaemonSet controller's name in another namespace is not believed", "system:serviceaccount:team-a:daemon-set-controller", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.h.Policy.Store(exempting())
			r := create(claimingOwner(t))
			r.username = tt.username
			a := f.send(t, "/validate/enforce", r.body(t))
			if a.resp.Allowed != tt.wantAllowed {
				t.Fatalf("allowed=%v, want %v: %s", a.resp.Allowed, tt.wantAllowed, a.message())
			}
			if !tt.wantAllowed && !strings.Contains(a.message(), "[privileged]") {
				t.Errorf("denied, but not for running privileged: %s", a.message())
			}
		})
	}
	t.Run("a controller the policy trusts is believed for the kinds it lists", func(t *testing.T) {
		f := newFixture(t)
		p := exempting()
		p.TrustedControllers = []policy.TrustedController{{Username: "system:serviceaccount:ops:agent-operator", Kinds: []string{"DaemonSet"}}}
		f.h.Policy.Store(p)
		r := create(claimingOwner(t))
		r.username = "system:serviceaccount:ops:agent-operator"
		if a := f.send(t, "/validate/enforce", r.body(t)); !a.resp.Allowed {
			t.Errorf("denied: %s", a.message())
		}
	})
}

// blockingRule finds nothing, but only after release is closed; entered is
// told each time it starts.
func blockingRule(entered chan<- struct{}, release <-chan struct{}) *validate.Rule {
	return &validate.Rule{
		ID: "zz-blocking", Category: "reliability", Severity: policy.Warning, Description: "waits",
		Check: func(*workload.Template, *policy.Policy) []validate.Finding {
			entered <- struct{}{}
			<-release
			return nil
		},
	}
}

func TestRequestsBeyondMaxInFlightAreAnsweredAtOnce(t *testing.T) {
	f := newFixture(t)
	f.h.MaxInFlight = 1
	entered, release := make(chan struct{}, 1), make(chan struct{})
	f.h.Rules = append(rulesByID(t, handlerRules...), blockingRule(entered, release))
	body := create(load(t, "deployment-compliant.yaml")).body(t)

	var wg sync.WaitGroup
	var first answer
	wg.Add(1)
	go func() {
		defer wg.Done()
		first = f.send(t, "/validate/enforce", body)
	}()
	<-entered // the first request holds the only slot

	tests := []struct {
		path        string
		wantAllowed bool
		wantCode    int32
		wantWarning bool
	}{
		{"/validate/enforce", false, http.StatusTooManyRequests, false},
		{"/mutate/enforce", false, http.StatusTooManyRequests, false},
		{"/validate/warn", true, 0, true},
		{"/validate/audit", true, 0, false},
	}
	for _, tt := range tests {
		a := f.send(t, tt.path, create(load(t, "pod-privileged.yaml")).body(t))
		if a.resp.Allowed != tt.wantAllowed || a.code() != tt.wantCode || (len(a.resp.Warnings) > 0) != tt.wantWarning {
			t.Errorf("%s over the cap: allowed=%v code=%d warnings=%q, want allowed=%v code=%d warning=%v",
				tt.path, a.resp.Allowed, a.code(), a.resp.Warnings, tt.wantAllowed, tt.wantCode, tt.wantWarning)
		}
		if !tt.wantAllowed && !strings.Contains(a.message(), "limit of 1 requests in flight") {
			t.Errorf("%s: message %q does not say why", tt.path, a.message())
		}
	}
	close(release)
	wg.Wait()
	if !first.resp.Allowed {
		t.Errorf("the request holding the slot was refused: %s", first.message())
	}
	overloaded := 0
	for _, r := range f.rec.requests {
		if r.Decision == admission.Overloaded {
			overloaded++
		}
	}
	if overloaded != 2 {
		t.Errorf("%d requests counted as overloaded, want the 2 refused in enforce: %+v", overloaded, f.rec.requests)
	}
	// The slot is free again.
	if a := f.send(t, "/validate/enforce", body); !a.resp.Allowed {
		t.Errorf("after the load, a compliant Deployment was refused: %s", a.message())
	}
}

func TestWorkStopsAtTheAPIServersDeadline(t *testing.T) {
	slow := &validate.Rule{
		ID: "aa-slow", Category: "reliability", Severity: policy.Warning, Description: "slow",
		Check: func(*workload.Template, *policy.Policy) []validate.Finding {
			time.Sleep(20 * time.Millisecond)
			return nil
		},
	}
	ran := 0
	after := &validate.Rule{
		ID: "zz-after", Category: "reliability", Severity: policy.Warning, Description: "counts",
		Check: func(*workload.Template, *policy.Policy) []validate.Finding {
			ran++
			return nil
		},
	}
	f := newFixture(t)
	f.h.Rules = []*validate.Rule{slow, after}
	// The API server says how long it waits: here 1ms, which the slow rule
	// outlasts.
	a := f.send(t, "/validate/enforce?timeout=1ms", create(load(t, "deployment-compliant.yaml")).body(t))
	if a.resp.Allowed || a.code() != http.StatusGatewayTimeout {
		t.Fatalf("allowed=%v code=%d, want a refusal with 504: %s", a.resp.Allowed, a.code(), a.message())
	}
	if ran != 0 {
		t.Errorf("a rule ran after the deadline had passed")
	}
	if len(f.rec.internal) != 1 {
		t.Errorf("internal errors %v, want the deadline counted once", f.rec.internal)
	}
	// Without a deadline in sight the same request is judged.
	if b := f.send(t, "/validate/enforce?timeout=10s", create(load(t, "deployment-compliant.yaml")).body(t)); !b.resp.Allowed || ran != 1 {
		t.Errorf("with 10s to go: allowed=%v, rules after the slow one ran %d times", b.resp.Allowed, ran)
	}
}
