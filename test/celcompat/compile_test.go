// Package celcompat checks that what plimsoll export prints compiles
// with the API server's own CEL compiler, as the oldest Kubernetes the
// chart supports (1.30) compiles a new ValidatingAdmissionPolicy: a
// function a later release added, or a variable a policy does not
// declare, is refused there before the policy can judge anything.
package celcompat

import (
	"fmt"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/util/version"
	plugincel "k8s.io/apiserver/pkg/admission/plugin/cel"
	"k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	"k8s.io/apiserver/pkg/admission/plugin/webhook/matchconditions"
	"k8s.io/apiserver/pkg/cel/environment"

	"github.com/plimsoll/plimsoll/export"
	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/validate"
)

// oldest is the oldest Kubernetes the chart supports
// (charts/plimsoll/README.md), where ValidatingAdmissionPolicy is GA.
var oldest = version.MajorMinor(1, 30)

// compile compiles every expression of p as the API server of version v
// does a policy it is asked to create, and returns the errors, each
// naming the expression.
func compile(v *version.Version, p *admissionregistrationv1.ValidatingAdmissionPolicy) []string {
	c, err := plugincel.NewCompositedCompiler(environment.MustBaseEnvSet(v))
	if err != nil {
		return []string{err.Error()}
	}
	opts := plugincel.OptionalVariableDeclarations{HasAuthorizer: true}
	var errs []string
	check := func(what string, r plugincel.CompilationResult) {
		if r.Error != nil {
			errs = append(errs, fmt.Sprintf("%s %s: %v", p.Name, what, r.Error))
		}
	}
	for _, va := range p.Spec.Variables {
		check("variable "+va.Name, c.CompileAndStoreVariable(&validating.Variable{Name: va.Name, Expression: va.Expression}, opts, environment.NewExpressions))
	}
	for _, m := range p.Spec.MatchConditions {
		check("matchCondition "+m.Name, c.CompileCELExpression(&matchconditions.MatchCondition{Name: m.Name, Expression: m.Expression}, opts, environment.NewExpressions))
	}
	for i, va := range p.Spec.Validations {
		check(fmt.Sprintf("validation %d", i), c.CompileCELExpression(&validating.ValidationCondition{Expression: va.Expression}, opts, environment.NewExpressions))
		if va.MessageExpression != "" {
			// (messages are compiled without the authorizer, as the API
			// server compiles them)
			check(fmt.Sprintf("messageExpression %d", i), c.CompileCELExpression(&validating.MessageExpressionCondition{MessageExpression: va.MessageExpression},
				plugincel.OptionalVariableDeclarations{}, environment.NewExpressions))
		}
	}
	return errs
}

// policies are the policies exported under: the built-in policy, every
// rule on, the policy's lists set, and exemptions by namespace and by
// annotation.
func policies(t *testing.T) map[string]*policy.Policy {
	t.Helper()
	everyRule := policy.Default()
	everyRule.Rules = map[string]policy.Severity{}
	for _, r := range validate.Registry() {
		everyRule.Rules[r.ID] = policy.Error
	}
	configured, err := policy.Load([]byte(`apiVersion: plimsoll.dev/v1alpha1
kind: Policy
requiredLabels: [app.kubernetes.io/name, team]
allowedRegistries: [ghcr.io/acme, registry.local:5000]
blockedRegistries: [ghcr.io/acme/forbidden]
allowAnnotationExemptions: true
exemptions:
- reason: the node agents
  rules: [host-path, host-namespaces]
  namespaces: ["agents-*", "monitoring"]
- reason: a lab namespace
  namespaces: [lab]
rules: {seccomp-profile: error, image-digest: warning, priority-class: warning}
`), validate.IDs())
	if err != nil {
		t.Fatal(err)
	}
	return map[string]*policy.Policy{"built-in": policy.Default(), "every rule on, as errors": everyRule, "configured": configured}
}

// Every ValidatingAdmissionPolicy that plimsoll export prints compiles on
// Kubernetes 1.30 as on the release the e2e tests run.
func TestExportCompilesOnTheOldestKubernetes(t *testing.T) {
	for name, p := range policies(t) {
		res, err := export.Export(p, export.Options{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(res.Policies) == 0 {
			t.Fatalf("%s: nothing exported", name)
		}
		expressions := 0
		for _, vap := range res.Policies {
			expressions += len(vap.Spec.Variables) + len(vap.Spec.MatchConditions) + 2*len(vap.Spec.Validations)
			for _, e := range compile(oldest, vap) {
				t.Errorf("%s, Kubernetes %s: %s", name, oldest, e)
			}
		}
		t.Logf("%s: %d policies, about %d expressions compiled as Kubernetes %s compiles them", name, len(res.Policies), expressions, oldest)
	}
}

// The check can fail: a function that Kubernetes 1.34 added (the lists
// library's sort) is refused as 1.30 compiles it, accepted as 1.34 does;
// and a variable no policy declares is refused.
func TestTheCompilerRefusesWhatTheOldestDoesNot(t *testing.T) {
	vap := &admissionregistrationv1.ValidatingAdmissionPolicy{}
	vap.Name = "probe"
	vap.Spec.Validations = []admissionregistrationv1.Validation{{Expression: "[2, 1].sort() == [1, 2]"}}
	if errs := compile(oldest, vap); len(errs) == 0 {
		t.Error("sort() compiles as Kubernetes 1.30 compiles it")
	}
	if errs := compile(version.MajorMinor(1, 34), vap); len(errs) != 0 {
		t.Errorf("sort() does not compile as Kubernetes 1.34 compiles it: %v", errs)
	}
	vap.Spec.Validations = []admissionregistrationv1.Validation{{Expression: "variables.podAnnotations.size() == 0"}}
	if errs := compile(oldest, vap); len(errs) == 0 {
		t.Error("an undeclared variable compiles")
	}
}
