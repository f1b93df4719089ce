package chart

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/plimsoll/plimsoll/admission"
	"github.com/plimsoll/plimsoll/export"
	"github.com/plimsoll/plimsoll/policy"
)

// admissionPolicies.rules renders exactly what `plimsoll export` makes of
// the built-in policy — the same policies, named after the release, bound
// with the same actions — with each binding selecting the namespaces of
// the webhook entry of its mode; nothing by default; only audit bindings
// with dryRun; and it refuses a policy of the values' own.
func TestAdmissionRulesAreTheExport(t *testing.T) {
	want, err := export.Export(policy.Default(), export.Options{Name: "shop-plimsoll", ExcludedNamespaces: []string{"guard"}})
	if err != nil {
		t.Fatal(err)
	}
	// ours tells the objects of the exported rules from the chart's other
	// admission policies (mode-label, the caBundle guards).
	ours := func(policyName string) bool {
		return slices.ContainsFunc(want.Policies, func(p *admissionregistrationv1.ValidatingAdmissionPolicy) bool {
			return strings.TrimPrefix(p.Name, "shop-") == policyName || p.Name == policyName
		})
	}
	for _, o := range render(t, "plimsoll", "plimsoll-system") {
		if o.GVK.Kind == "ValidatingAdmissionPolicy" && ours(o.Name) {
			t.Errorf("rendered by default: %s", o.Key())
		}
	}
	objs := render(t, "shop", "guard", "--set", "admissionPolicies.rules=true", "--set", "fullnameOverride=shop-plimsoll", "--set", "tls.mode=certManager")
	vwc := Find(objs, "ValidatingWebhookConfiguration", "shop-plimsoll").Typed.(*admissionregistrationv1.ValidatingWebhookConfiguration)
	selectors := map[string]any{}
	for _, w := range vwc.Webhooks {
		selectors[strings.SplitN(w.Name, ".", 2)[0]] = w.NamespaceSelector
	}
	for _, p := range want.Policies {
		got := Find(objs, "ValidatingAdmissionPolicy", p.Name)
		if got == nil {
			t.Errorf("ValidatingAdmissionPolicy %s is not rendered", p.Name)
			continue
		}
		if d := cmp.Diff(p.Spec, got.Typed.(*admissionregistrationv1.ValidatingAdmissionPolicy).Spec); d != "" {
			t.Errorf("ValidatingAdmissionPolicy %s differs from the export (-export +chart):\n%s", p.Name, d)
		}
	}
	for _, b := range want.Bindings {
		o := Find(objs, "ValidatingAdmissionPolicyBinding", b.Name)
		if o == nil {
			t.Errorf("ValidatingAdmissionPolicyBinding %s is not rendered", b.Name)
			continue
		}
		got := o.Typed.(*admissionregistrationv1.ValidatingAdmissionPolicyBinding)
		if got.Spec.PolicyName != b.Spec.PolicyName || !slices.Equal(got.Spec.ValidationActions, b.Spec.ValidationActions) {
			t.Errorf("binding %s: policy %s, actions %v; the export binds %s with %v", b.Name, got.Spec.PolicyName, got.Spec.ValidationActions, b.Spec.PolicyName, b.Spec.ValidationActions)
		}
		mode := b.Name[strings.LastIndex(b.Name, "-")+1:]
		if d := cmp.Diff(selectors[mode], got.Spec.MatchResources.NamespaceSelector); d != "" {
			t.Errorf("binding %s selects other namespaces than the %s webhook entry (-entry +binding):\n%s", b.Name, mode, d)
		}
	}
	n := 0
	for _, b := range ofKind(objs, "ValidatingAdmissionPolicyBinding") {
		if ours(b.Typed.(*admissionregistrationv1.ValidatingAdmissionPolicyBinding).Spec.PolicyName) {
			n++
		}
	}
	if n != len(want.Bindings) {
		t.Errorf("%d bindings of the rules rendered, the export makes %d", n, len(want.Bindings))
	}

	// The defaults: the same MutatingAdmissionPolicy, bound in enforce
	// and warn as the mutating webhook entries of those modes select.
	mwc := Find(objs, "MutatingWebhookConfiguration", "shop-plimsoll").Typed.(*admissionregistrationv1.MutatingWebhookConfiguration)
	mutatingSelectors := map[string]any{}
	for _, w := range mwc.Webhooks {
		mutatingSelectors[strings.SplitN(w.Name, ".", 2)[0]] = w.NamespaceSelector
	}
	if len(want.Mutating) != 1 {
		t.Fatalf("the export of the built-in policy makes %d mutating policies, want 1", len(want.Mutating))
	}
	for _, p := range want.Mutating {
		got := Find(objs, "MutatingAdmissionPolicy", p.Name)
		if got == nil {
			t.Errorf("MutatingAdmissionPolicy %s is not rendered", p.Name)
			continue
		}
		if d := cmp.Diff(p.Spec, got.Typed.(*admissionregistrationv1.MutatingAdmissionPolicy).Spec); d != "" {
			t.Errorf("MutatingAdmissionPolicy %s differs from the export (-export +chart):\n%s", p.Name, d)
		}
	}
	if got, n := len(ofKind(objs, "MutatingAdmissionPolicyBinding")), len(want.MutatingBindings); got != n {
		t.Errorf("%d MutatingAdmissionPolicyBindings rendered, the export makes %d", got, n)
	}
	for _, b := range want.MutatingBindings {
		o := Find(objs, "MutatingAdmissionPolicyBinding", b.Name)
		if o == nil {
			t.Errorf("MutatingAdmissionPolicyBinding %s is not rendered", b.Name)
			continue
		}
		got := o.Typed.(*admissionregistrationv1.MutatingAdmissionPolicyBinding)
		mode := b.Name[strings.LastIndex(b.Name, "-")+1:]
		if got.Spec.PolicyName != b.Spec.PolicyName {
			t.Errorf("binding %s binds %s, the export %s", b.Name, got.Spec.PolicyName, b.Spec.PolicyName)
		}
		if d := cmp.Diff(mutatingSelectors[mode], got.Spec.MatchResources.NamespaceSelector); d != "" {
			t.Errorf("binding %s selects other namespaces than the %s mutating entry (-entry +binding):\n%s", b.Name, mode, d)
		}
	}

	for _, b := range ofKind(render(t, "plimsoll", "plimsoll-system", "--set", "admissionPolicies.rules=true", "--set", "dryRun=true"), "ValidatingAdmissionPolicyBinding") {
		got := b.Typed.(*admissionregistrationv1.ValidatingAdmissionPolicyBinding)
		if !ours(got.Spec.PolicyName) {
			continue
		}
		if !strings.HasSuffix(b.Name, "-"+string(admission.Audit)) || !slices.Equal(got.Spec.ValidationActions, []admissionregistrationv1.ValidationAction{admissionregistrationv1.Audit}) {
			t.Errorf("with dryRun, binding %s acts %v", b.Name, got.Spec.ValidationActions)
		}
	}

	_, err = Template("plimsoll", "plimsoll-system", "--set", "admissionPolicies.rules=true", "--set", "policy.rules.privileged=warning")
	if err == nil || !strings.Contains(err.Error(), "plimsoll export --config") {
		t.Errorf("with a policy of the values' own, admissionPolicies.rules renders (%v); want a refusal naming plimsoll export --config", err)
	}
}

// plimsoll export --scope, --default-mode and --dry-run bind the same
// namespaces as the chart does with the values of those names: for every
// scope, default mode and dry run, each binding the chart renders for the
// rules and the defaults is one the export makes, with the same selector,
// and none is missing.
func TestExportBindsAsTheChartForEveryScope(t *testing.T) {
	for _, scope := range []admission.Scope{admission.ScopeOptIn, admission.ScopeCluster} {
		for _, def := range admission.ServedModes {
			for _, dry := range []bool{false, true} {
				name := fmt.Sprintf("scope=%s,defaultMode=%s,dryRun=%v", scope, def, dry)
				want, err := export.Export(policy.Default(), export.Options{Name: "plimsoll", ExcludedNamespaces: []string{"plimsoll-system"}, Scope: scope, DefaultMode: def, DryRun: dry})
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				exported := map[string]*metav1.LabelSelector{}
				for _, b := range want.Bindings {
					exported[b.Name] = b.Spec.MatchResources.NamespaceSelector
				}
				for _, b := range want.MutatingBindings {
					exported[b.Name] = b.Spec.MatchResources.NamespaceSelector
				}
				rendered := map[string]*metav1.LabelSelector{}
				for _, o := range render(t, "plimsoll", "plimsoll-system", "--set", "admissionPolicies.rules=true",
					"--set", "scope="+string(scope), "--set", "defaultMode="+string(def), "--set", fmt.Sprintf("dryRun=%v", dry)) {
					switch b := o.Typed.(type) {
					case *admissionregistrationv1.ValidatingAdmissionPolicyBinding:
						if _, ours := exported[b.Name]; ours || strings.HasPrefix(b.Spec.PolicyName, "plimsoll-error") || strings.HasPrefix(b.Spec.PolicyName, "plimsoll-warning") || strings.HasPrefix(b.Spec.PolicyName, "plimsoll-preexisting") {
							rendered[b.Name] = b.Spec.MatchResources.NamespaceSelector
						}
					case *admissionregistrationv1.MutatingAdmissionPolicyBinding:
						rendered[b.Name] = b.Spec.MatchResources.NamespaceSelector
					}
				}
				if len(exported) == 0 {
					t.Fatalf("%s: the export binds nothing", name)
				}
				for n, sel := range exported {
					if d := cmp.Diff(sel, rendered[n]); d != "" {
						t.Errorf("%s: binding %s (-export +chart):\n%s", name, n, d)
					}
				}
				for n := range rendered {
					if _, ok := exported[n]; !ok {
						t.Errorf("%s: the chart renders binding %s, the export does not", name, n)
					}
				}
			}
		}
	}
}

// ofKind returns the objects of a kind.
func ofKind(objs []Object, kind string) []Object {
	var out []Object
	for _, o := range objs {
		if o.GVK.Kind == kind {
			out = append(out, o)
		}
	}
	return out
}

// admissionPolicies.only renders the admission policies and nothing else:
// no webhook configuration, no workload, no Service, no certificate, no
// RBAC; the rules and defaults are the same as beside the webhook, and
// the mode-label guard stays.
func TestAdmissionPoliciesOnly(t *testing.T) {
	beside := render(t, "plimsoll", "plimsoll-system", "--set", "admissionPolicies.rules=true")
	only := render(t, "plimsoll", "plimsoll-system", "--set", "admissionPolicies.only=true")
	allowed := []string{"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding"}
	for _, o := range only {
		if !slices.Contains(allowed, o.GVK.Kind) {
			t.Errorf("admissionPolicies.only renders %s", o.Key())
		}
	}
	for _, kind := range allowed {
		for _, o := range ofKind(beside, kind) {
			if strings.Contains(o.Name, "cabundle") || strings.Contains(o.Name, "webhook") {
				continue // the guards of the webhooks' own configurations: none to guard
			}
			got := Find(only, kind, o.Name)
			if got == nil {
				t.Errorf("admissionPolicies.only leaves out %s", o.Key())
				continue
			}
			if d := cmp.Diff(string(o.Raw), string(got.Raw)); d != "" {
				t.Errorf("%s differs with admissionPolicies.only (-beside the webhook +only):\n%s", o.Key(), d)
			}
		}
	}
	if len(ofKind(only, "MutatingAdmissionPolicy")) != 1 || len(ofKind(only, "ValidatingAdmissionPolicy")) < 4 {
		t.Errorf("admissionPolicies.only renders %d mutating and %d validating policies", len(ofKind(only, "MutatingAdmissionPolicy")), len(ofKind(only, "ValidatingAdmissionPolicy")))
	}
	_, err := Template("plimsoll", "plimsoll-system", "--set", "admissionPolicies.only=true", "--set", "policy.rules.privileged=warning")
	if err == nil || !strings.Contains(err.Error(), "plimsoll export --config") {
		t.Errorf("admissionPolicies.only with a policy of the values' own renders (%v); want a refusal naming plimsoll export --config", err)
	}
}
