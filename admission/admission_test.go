package admission_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/plimsoll/plimsoll/admission"
	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/validate"
)

var (
	denying = &validate.Rule{ID: "privileged", Severity: policy.Error, Defaulted: "no"}
	fixable = &validate.Rule{ID: "cpu-limits", Severity: policy.Error, Defaulted: "yes"}
	warning = &validate.Rule{ID: "image-tag", Severity: policy.Warning, Defaulted: "no"}
)

func violation(r *validate.Rule, sev policy.Severity, fix bool) validate.Violation {
	return validate.Violation{Rule: r, Severity: sev, Fixable: fix, Finding: validate.Finding{Path: "spec.containers[0]", Container: "app", Problem: "is broken", Fix: "mend it"}}
}

func TestDecideFollowsTheMode(t *testing.T) {
	vs := []validate.Violation{
		violation(denying, policy.Error, false),
		violation(fixable, policy.Error, true),
		violation(warning, policy.Warning, false),
	}
	web := admission.Subject{Description: `Pod "web"`, Namespace: "team-a"}
	tests := []struct {
		name         string
		mode         admission.Mode
		vs           []validate.Violation
		wantDecision admission.Decision
		wantWarnings int
		wantAudit    []string // audit annotation keys
	}{
		{"enforce denies an error that defaulting does not fix and warns of the rest", admission.Enforce, vs, admission.Denied, 2, nil},
		{"enforce admits what only warns", admission.Enforce, vs[2:], admission.Warned, 1, nil},
		{"warn admits everything and says enforce would deny", admission.Warn, vs, admission.Warned, 3, nil},
		{"audit admits silently and records what enforce would do", admission.Audit, vs, admission.Allowed, 0, []string{"decision", "would-default", "would-deny", "would-warn"}},
		{"nothing found is admitted in every mode", admission.Enforce, nil, admission.Allowed, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := admission.Decide(tt.mode, web, tt.vs)
			if got := a.Decision(); got != tt.wantDecision {
				t.Errorf("decision %q, want %q", got, tt.wantDecision)
			}
			if len(a.Warnings) != tt.wantWarnings {
				t.Errorf("warnings %q, want %d", a.Warnings, tt.wantWarnings)
			}
			var keys []string
			for k := range a.AuditAnnotations {
				keys = append(keys, k)
			}
			if diff := cmp.Diff(tt.wantAudit, keys, cmpSorted); diff != "" {
				t.Errorf("audit annotations (-want +got):\n%s", diff)
			}
			if tt.wantDecision == admission.Denied {
				if a.Code != admission.CodeForbidden || !strings.HasPrefix(a.Message, `plimsoll denied Pod "web" in namespace "team-a": 1 violation of enforced rules:`) {
					t.Errorf("code %d message %q", a.Code, a.Message)
				}
				if diff := cmp.Diff([]admission.Cause{{Field: "spec.containers[0]", Message: vs[0].ShortMessage()}}, a.Causes); diff != "" {
					t.Errorf("causes (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestADenialOfAnUndefaultedPodSaysDefaultingDidNotRun(t *testing.T) {
	vs := []validate.Violation{violation(fixable, policy.Error, false)}
	pod := admission.Decide(admission.Enforce, admission.Subject{Description: `Pod "web"`, PodCreate: true}, vs)
	other := admission.Decide(admission.Enforce, admission.Subject{Description: `Deployment "web"`}, vs)
	if !strings.Contains(pod.Message, "did not run for this Pod") {
		t.Errorf("Pod CREATE denial lacks the hint: %q", pod.Message)
	}
	if strings.Contains(other.Message, "did not run for this Pod") {
		t.Errorf("a workload's denial has the Pod hint: %q", other.Message)
	}
}

func TestFailureFollowsTheFailurePolicyOfTheMode(t *testing.T) {
	tests := []struct {
		mode         admission.Mode
		wantDecision admission.Decision
	}{
		{admission.Enforce, admission.Errored},
		{admission.Warn, admission.Warned},
		{admission.Audit, admission.Allowed},
		{"", admission.Errored}, // failed before the mode was known: refused
	}
	for _, tt := range tests {
		a := admission.Failure(tt.mode, admission.CodeInternalError, admission.CouldNotJudge)
		if got := a.Decision(); got != tt.wantDecision {
			t.Errorf("mode %q: decision %q, want %q", tt.mode, got, tt.wantDecision)
		}
		for _, msg := range append([]string{a.Message}, a.Warnings...) {
			if msg != "" && (!strings.HasPrefix(msg, "plimsoll: ") || strings.Count(msg, "plimsoll") != 1) {
				t.Errorf("mode %q: message %q does not name plimsoll exactly once, at its start", tt.mode, msg)
			}
		}
	}
	if got := admission.Failure(admission.Enforce, admission.CodeTooManyRequests, admission.AtCapacity(5)).Decision(); got != admission.Overloaded {
		t.Errorf("at capacity: decision %q, want overloaded", got)
	}
}

func TestRefusalsNamePlimsollOnce(t *testing.T) {
	a := admission.Refusal(400, "the request carries no object to judge")
	if a.Allowed || a.Message != "plimsoll: the request carries no object to judge" || a.Decision() != admission.Errored {
		t.Errorf("refusal %+v", a)
	}
}

func TestScopeSelectsAsTheWebhookConfigurationsDo(t *testing.T) {
	tests := []struct {
		scope  admission.Scope
		labels map[string]string
		want   bool
	}{
		{admission.ScopeOptIn, nil, false},
		{admission.ScopeOptIn, map[string]string{admission.ModeLabel: "enforce"}, true},
		{admission.ScopeOptIn, map[string]string{admission.ModeLabel: "off"}, false},
		{admission.ScopeOptIn, map[string]string{admission.ModeLabel: "enforcee"}, false},
		{admission.ScopeCluster, nil, true},
		{admission.ScopeCluster, map[string]string{admission.ModeLabel: "off"}, false},
		{admission.ScopeCluster, map[string]string{admission.ModeLabel: "warn"}, true},
	}
	for _, tt := range tests {
		if got := tt.scope.Selects(tt.labels); got != tt.want {
			t.Errorf("%s scope, labels %v: selects %v, want %v", tt.scope, tt.labels, got, tt.want)
		}
	}
}

func TestModes(t *testing.T) {
	for _, s := range []string{"enforce", "warn", "audit"} {
		if m, err := admission.ParseMode(s); err != nil || string(m) != s || !m.Known() {
			t.Errorf("ParseMode(%q) = %q, %v", s, m, err)
		}
	}
	if _, err := admission.ParseMode("off"); err == nil {
		t.Error("off has no endpoint, yet ParseMode accepted it")
	}
	if !admission.Off.Known() || admission.Mode("Enforce").Known() {
		t.Error("Known: off is a known label value; Enforce (capitalised) is not")
	}
	if _, err := admission.ParseJudgingMode("audit"); err == nil {
		t.Error("reports judge by enforce or warn only")
	}
	if _, err := admission.ParseScope("cluster"); err != nil {
		t.Error(err)
	}
	if _, err := admission.ParseScope("Cluster"); err == nil {
		t.Error("ParseScope accepted Cluster")
	}
}

var cmpSorted = cmp.Transformer("sort", func(in []string) []string {
	out := append([]string(nil), in...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
})
