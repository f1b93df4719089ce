package chart

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"

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
