package webhook_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/plimsoll/plimsoll/admission"

	"github.com/google/go-cmp/cmp"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/plimsoll/plimsoll/webhook"
	"github.com/plimsoll/plimsoll/workload"
)

const ownNamespace = "plimsoll-system"

func registration(scope admission.Scope, defaultMode admission.Mode, dryRun bool) webhook.Registration {
	return webhook.Registration{
		Name:               "plimsoll",
		Namespace:          ownNamespace,
		Scope:              scope,
		DefaultMode:        defaultMode,
		DryRun:             dryRun,
		ExcludedNamespaces: []string{"legacy"},
		ClientConfig: func(path string) admissionregistrationv1.WebhookClientConfig {
			return admissionregistrationv1.WebhookClientConfig{
				Service: &admissionregistrationv1.ServiceReference{Namespace: ownNamespace, Name: "plimsoll", Path: &path},
			}
		},
	}
}

// namespace is a namespace as the API server labels it: every namespace
// carries kubernetes.io/metadata.name.
type namespace struct {
	name string
	mode string // plimsoll.dev/mode, "" for none
}

func (n namespace) labels() labels.Set {
	l := labels.Set{"kubernetes.io/metadata.name": n.name}
	if n.mode != "" {
		l[admission.ModeLabel] = n.mode
	}
	return l
}

// modesSelecting returns the modes of the entries whose namespaceSelector
// selects ns, for the mutating and the validating configuration.
func modesSelecting(t *testing.T, r webhook.Registration, ns namespace) (mutating, validating []string) {
	t.Helper()
	mwc, vwc := r.Configurations()
	matches := func(sel *metav1.LabelSelector) bool {
		s, err := metav1.LabelSelectorAsSelector(sel)
		if err != nil {
			t.Fatalf("namespaceSelector %v does not parse: %v", sel, err)
		}
		return s.Matches(ns.labels())
	}
	for _, w := range mwc.Webhooks {
		if matches(w.NamespaceSelector) {
			mutating = append(mutating, strings.TrimSuffix(w.Name, ".mutate.plimsoll.dev"))
		}
	}
	for _, w := range vwc.Webhooks {
		if matches(w.NamespaceSelector) {
			validating = append(validating, strings.TrimSuffix(w.Name, ".validate.plimsoll.dev"))
		}
	}
	return mutating, validating
}

func TestNamespaceSelectorsChooseOneModePerNamespace(t *testing.T) {
	namespaces := []namespace{
		{"team-a", ""},
		{"team-enforce", "enforce"},
		{"team-warn", "warn"},
		{"team-audit", "audit"},
		{"team-off", "off"},
		{"team-typo", "enforcing"},
		{"kube-system", ""},
		{"kube-system", "enforce"},
		{"kube-public", "enforce"},
		{"kube-node-lease", ""},
		{ownNamespace, ""},
		{ownNamespace, "enforce"},
		{"legacy", "enforce"},
	}
	tests := []struct {
		name string
		reg  webhook.Registration
		// want maps a namespace (name/mode) to the one mode that guards
		// it, or "" for none.
		want map[string]string
	}{
		{
			name: "opt-in touches only labelled namespaces, each with its own mode",
			reg:  registration(admission.ScopeOptIn, "", false),
			want: map[string]string{
				"team-enforce/enforce": "enforce",
				"team-warn/warn":       "warn",
				"team-audit/audit":     "audit",
			},
		},
		{
			name: "cluster scope gives unlabelled namespaces the default mode, warn",
			reg:  registration(admission.ScopeCluster, admission.Warn, false),
			want: map[string]string{
				"team-a/":              "warn",
				"team-enforce/enforce": "enforce",
				"team-warn/warn":       "warn",
				"team-audit/audit":     "audit",
				// a label that names no mode is no reason to skip the
				// namespace: it gets the default, like an unlabelled one
				"team-typo/enforcing": "warn",
			},
		},
		{
			name: "cluster scope with default enforce",
			reg:  registration(admission.ScopeCluster, admission.Enforce, false),
			want: map[string]string{
				"team-a/":              "enforce",
				"team-enforce/enforce": "enforce",
				"team-warn/warn":       "warn",
				"team-audit/audit":     "audit",
				"team-typo/enforcing":  "enforce",
			},
		},
		{
			name: "dry run in cluster scope audits every namespace but those turned off",
			reg:  registration(admission.ScopeCluster, admission.Enforce, true),
			want: map[string]string{
				"team-a/":              "audit",
				"team-enforce/enforce": "audit",
				"team-warn/warn":       "audit",
				"team-audit/audit":     "audit",
				"team-typo/enforcing":  "audit",
			},
		},
		{
			name: "dry run in opt-in scope audits the labelled namespaces",
			reg:  registration(admission.ScopeOptIn, "", true),
			want: map[string]string{
				"team-enforce/enforce": "audit",
				"team-warn/warn":       "audit",
				"team-audit/audit":     "audit",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, ns := range namespaces {
				key := ns.name + "/" + ns.mode
				var want []string
				if m := tt.want[key]; m != "" {
					want = []string{m}
				}
				mutating, validating := modesSelecting(t, tt.reg, ns)
				if diff := cmp.Diff(want, validating); diff != "" {
					t.Errorf("namespace %s: validating entries (-want +got):\n%s", key, diff)
				}
				if diff := cmp.Diff(want, mutating); diff != "" {
					t.Errorf("namespace %s: mutating entries (-want +got):\n%s", key, diff)
				}
			}
		})
	}
}

func TestConfigurationsEntries(t *testing.T) {
	tests := []struct {
		name      string
		reg       webhook.Registration
		wantModes []string
	}{
		{"every served mode has an entry", registration(admission.ScopeOptIn, "", false), []string{"enforce", "warn", "audit"}},
		{"cluster scope has the same entries", registration(admission.ScopeCluster, admission.Warn, false), []string{"enforce", "warn", "audit"}},
		{"dry run renders the audit entry only", registration(admission.ScopeCluster, admission.Enforce, true), []string{"audit"}},
	}
	wantFailure := map[string]admissionregistrationv1.FailurePolicyType{
		"enforce": admissionregistrationv1.Fail,
		"warn":    admissionregistrationv1.Ignore,
		"audit":   admissionregistrationv1.Ignore,
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mwc, vwc := tt.reg.Configurations()
			if mwc.Name != "plimsoll" || vwc.Name != "plimsoll" {
				t.Errorf("names %q and %q, want plimsoll", mwc.Name, vwc.Name)
			}
			var mModes, vModes []string
			for _, w := range mwc.Webhooks {
				mode := strings.TrimSuffix(w.Name, ".mutate.plimsoll.dev")
				mModes = append(mModes, mode)
				checkCommon(t, w.Name, mode, "/mutate/", w.ClientConfig, w.FailurePolicy, w.MatchPolicy, w.SideEffects, w.TimeoutSeconds, w.AdmissionReviewVersions, wantFailure[mode])
				if w.ReinvocationPolicy == nil || *w.ReinvocationPolicy != admissionregistrationv1.IfNeededReinvocationPolicy {
					t.Errorf("%s: reinvocationPolicy %v, want IfNeeded (another webhook may add containers after plimsoll)", w.Name, w.ReinvocationPolicy)
				}
				if diff := cmp.Diff([]string{"CREATE /pods"}, ruleStrings(w.Rules)); diff != "" {
					t.Errorf("%s: rules (-want +got):\n%s", w.Name, diff)
				}
			}
			for _, w := range vwc.Webhooks {
				mode := strings.TrimSuffix(w.Name, ".validate.plimsoll.dev")
				vModes = append(vModes, mode)
				checkCommon(t, w.Name, mode, "/validate/", w.ClientConfig, w.FailurePolicy, w.MatchPolicy, w.SideEffects, w.TimeoutSeconds, w.AdmissionReviewVersions, wantFailure[mode])
				if diff := cmp.Diff(validatedRules(), ruleStrings(w.Rules)); diff != "" {
					t.Errorf("%s: rules (-want +got):\n%s", w.Name, diff)
				}
			}
			if diff := cmp.Diff(tt.wantModes, mModes); diff != "" {
				t.Errorf("mutating entries (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantModes, vModes); diff != "" {
				t.Errorf("validating entries (-want +got):\n%s", diff)
			}
		})
	}
}

func checkCommon(t *testing.T, name, mode, prefix string, cc admissionregistrationv1.WebhookClientConfig,
	fp *admissionregistrationv1.FailurePolicyType, mp *admissionregistrationv1.MatchPolicyType,
	se *admissionregistrationv1.SideEffectClass, timeout *int32, versions []string, wantFP admissionregistrationv1.FailurePolicyType) {
	t.Helper()
	if cc.Service == nil || cc.Service.Path == nil || *cc.Service.Path != prefix+mode {
		t.Errorf("%s: calls %+v, want path %s%s", name, cc.Service, prefix, mode)
	}
	if fp == nil || *fp != wantFP {
		t.Errorf("%s: failurePolicy %v, want %s", name, fp, wantFP)
	}
	if mp == nil || *mp != admissionregistrationv1.Equivalent {
		t.Errorf("%s: matchPolicy %v, want Equivalent (older API versions converted, not skipped)", name, mp)
	}
	if se == nil || *se != admissionregistrationv1.SideEffectClassNone {
		t.Errorf("%s: sideEffects %v, want None (dry-run requests must reach plimsoll)", name, se)
	}
	if timeout == nil || *timeout != 5 {
		t.Errorf("%s: timeoutSeconds %v, want 5", name, timeout)
	}
	if diff := cmp.Diff([]string{"v1"}, versions); diff != "" {
		t.Errorf("%s: admissionReviewVersions (-want +got):\n%s", name, diff)
	}
}

// ruleStrings flattens rules into "OPERATION group/resource", sorted.
func ruleStrings(rules []admissionregistrationv1.RuleWithOperations) []string {
	var out []string
	for _, r := range rules {
		if r.Scope == nil || *r.Scope != admissionregistrationv1.NamespacedScope {
			out = append(out, "scope not Namespaced")
		}
		if !slices.Equal(r.APIVersions, []string{"v1"}) {
			out = append(out, "apiVersions "+strings.Join(r.APIVersions, ","))
		}
		for _, op := range r.Operations {
			for _, g := range r.APIGroups {
				for _, res := range r.Resources {
					out = append(out, string(op)+" "+g+"/"+res)
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

// validatedRules are CREATE and UPDATE of every kind workload knows (its
// resource the lower-cased plural of its kind), and of the subresource
// kubectl debug uses.
func validatedRules() []string {
	var out []string
	for _, op := range []string{"CREATE", "UPDATE"} {
		for _, k := range workload.Kinds {
			out = append(out, op+" "+k.Group+"/"+strings.ToLower(k.Kind)+"s")
		}
		out = append(out, op+" /pods/ephemeralcontainers")
	}
	slices.Sort(out)
	return out
}

func TestFailurePolicyCanBeOverriddenPerMode(t *testing.T) {
	r := registration(admission.ScopeOptIn, "", false)
	r.FailurePolicy = map[admission.Mode]admissionregistrationv1.FailurePolicyType{admission.Enforce: admissionregistrationv1.Ignore}
	r.TimeoutSeconds = 3
	_, vwc := r.Configurations()
	for _, w := range vwc.Webhooks {
		if *w.FailurePolicy != admissionregistrationv1.Ignore {
			t.Errorf("%s: failurePolicy %s, want Ignore", w.Name, *w.FailurePolicy)
		}
		if *w.TimeoutSeconds != 3 {
			t.Errorf("%s: timeoutSeconds %d, want 3", w.Name, *w.TimeoutSeconds)
		}
	}
}
