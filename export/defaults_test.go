package export

import (
	"os"
	"slices"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/plimsoll/plimsoll/admission"
	"github.com/plimsoll/plimsoll/mutate"
	"github.com/plimsoll/plimsoll/policy"
)

// Every family of defaults the policy turns on is written by the
// mutating policy or left to the webhook with a reason; a family turned
// off is neither; with none on there is no mutating policy at all.
func TestEveryDefaultIsExportedOrExplained(t *testing.T) {
	p := policy.Default()
	no := false
	p.Defaults.ServiceAccountToken = &no
	res, err := Export(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range mutate.Families {
		exported := slices.Contains(res.Defaults, string(f))
		left := slices.ContainsFunc(res.DefaultsWebhookOnly, func(fb Fallback) bool { return fb.Rule == string(f) && fb.Reason != "" })
		if exported == left {
			t.Errorf("family %s: exported %v, left to the webhook with a reason %v: want exactly one", f, exported, left)
		}
	}
	if want := []string{"resources", "probes", "securityContext"}; !slices.Equal(res.Defaults, want) {
		t.Errorf("defaults exported: %v, want %v", res.Defaults, want)
	}
	if len(res.Mutating) != 1 {
		t.Fatalf("%d mutating policies, want 1", len(res.Mutating))
	}

	p.Defaults.Probes.Enabled = false
	res, _ = Export(p, Options{})
	if slices.Contains(res.Defaults, "probes") || strings.Contains(res.Mutating[0].Spec.Mutations[0].JSONPatch.Expression+variablesText(res.Mutating[0]), "readinessProbe") {
		t.Errorf("probes turned off, still exported: %v", res.Defaults)
	}

	p.Defaults = policy.Defaults{}
	res, _ = Export(p, Options{})
	if len(res.Mutating) != 0 || len(res.MutatingBindings) != 0 || len(res.Defaults) != 0 || len(res.DefaultsWebhookOnly) != 0 {
		t.Errorf("no defaults on: %d mutating policies, %d bindings, defaults %v, left %v", len(res.Mutating), len(res.MutatingBindings), res.Defaults, res.DefaultsWebhookOnly)
	}
}

func variablesText(p *admissionregistrationv1.MutatingAdmissionPolicy) string {
	var b strings.Builder
	for _, v := range p.Spec.Variables {
		b.WriteString(v.Expression + "\n")
	}
	return b.String()
}

// Defaults are written on a Pod's CREATE only, in enforce and warn, as the
// chart's mutating entries apply them; never in audit, where the webhook
// only says what it would write. An expression that fails admits.
func TestDefaultsAreBoundWhereTheyApply(t *testing.T) {
	res, err := Export(policy.Default(), Options{Name: "x", ModeLabel: "example.com/mode", ExcludedNamespaces: []string{"guard"}})
	if err != nil {
		t.Fatal(err)
	}
	pol := res.Mutating[0]
	rules := pol.Spec.MatchConstraints.ResourceRules
	if len(rules) != 1 || !slices.Equal(rules[0].Resources, []string{"pods"}) || !slices.Equal(rules[0].Operations, []admissionregistrationv1.OperationType{admissionregistrationv1.Create}) {
		t.Errorf("the defaults match %+v, want Pods on CREATE only", rules)
	}
	if *pol.Spec.FailurePolicy != admissionregistrationv1.Ignore || pol.Spec.ReinvocationPolicy != admissionregistrationv1.IfNeededReinvocationPolicy {
		t.Errorf("failurePolicy %s, reinvocationPolicy %s; want Ignore and IfNeeded", *pol.Spec.FailurePolicy, pol.Spec.ReinvocationPolicy)
	}
	var modes []string
	for _, b := range res.MutatingBindings {
		if b.Spec.PolicyName != pol.Name {
			t.Errorf("binding %s binds %s", b.Name, b.Spec.PolicyName)
		}
		sel := b.Spec.MatchResources.NamespaceSelector
		if !slices.ContainsFunc(sel.MatchExpressions, func(r metav1.LabelSelectorRequirement) bool {
			return r.Key == "kubernetes.io/metadata.name" && slices.Contains(r.Values, "guard") && slices.Contains(r.Values, "kube-system")
		}) {
			t.Errorf("binding %s does not exclude guard and kube-system: %+v", b.Name, sel)
		}
		for _, r := range sel.MatchExpressions {
			if r.Key == "example.com/mode" {
				modes = append(modes, r.Values...)
			}
		}
	}
	if !slices.Equal(modes, []string{string(admission.Enforce), string(admission.Warn)}) {
		t.Errorf("defaults bound in modes %v, want enforce and warn", modes)
	}
	res, _ = Export(policy.Default(), Options{Modes: []admission.Mode{admission.Audit}})
	if len(res.MutatingBindings) != 0 {
		t.Errorf("with audit only, %d bindings of the defaults", len(res.MutatingBindings))
	}
}

// The defaults' policy for the built-in policy, as `plimsoll export`
// prints it (testdata/defaults.yaml; UPDATE_GOLDEN=1 rewrites it): a
// change to the framework shows in review as a change to the CEL.
func TestDefaultsExportGolden(t *testing.T) {
	res, err := Export(policy.Default(), Options{Modes: []admission.Mode{admission.Enforce}})
	if err != nil {
		t.Fatal(err)
	}
	y, err := yaml.Marshal(res.Mutating[0])
	if err != nil {
		t.Fatal(err)
	}
	const golden = "testdata/defaults.yaml"
	if os.Getenv("UPDATE_GOLDEN") != "" {
		if err := os.WriteFile(golden, y, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != string(y) {
		t.Errorf("%s is stale: run UPDATE_GOLDEN=1 go test ./export/", golden)
	}
}

// Only the controllers the policy trusts to say a Pod is a Job's are
// believed, as /mutate believes them: kube-controller-manager's Job
// controller and the policy's own trusted controllers of Jobs.
func TestBatchBelievesWhomThePolicyTrusts(t *testing.T) {
	p := policy.Default()
	p.TrustedControllers = []policy.TrustedController{
		{Username: "system:serviceaccount:batch:volcano", Kinds: []string{"Job"}},
		{Username: "system:serviceaccount:argo:rollouts", Kinds: []string{"Rollout"}},
	}
	got := batchOf(p)
	for _, u := range []string{"system:serviceaccount:kube-system:job-controller", "system:kube-controller-manager", "system:serviceaccount:batch:volcano"} {
		if !strings.Contains(got, celString(u)) {
			t.Errorf("%s is not believed about Jobs: %s", u, got)
		}
	}
	for _, u := range []string{"rollouts", "deployment-controller", "cronjob-controller"} {
		if strings.Contains(got, u) {
			t.Errorf("%s is believed about Jobs: %s", u, got)
		}
	}
}
