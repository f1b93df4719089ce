package validate

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/plimsoll/plimsoll/mutate"
	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/workload"
)

// loadTemplate decodes a manifest of any workload kind and finds its pod
// template, the way the webhook and `plimsoll check` do.
func loadTemplate(t *testing.T, path string) *workload.Template {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(data, &tm); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	obj, err := workload.New(schema.FromAPIVersionAndKind(tm.APIVersion, tm.Kind))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if err := yaml.UnmarshalStrict(data, obj); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	tpl, err := workload.Find(obj)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return tpl
}

// defaultedCopy returns the template of a deep copy of tpl's object after
// the built-in defaulting, as the webhook builds Input.Defaulted.
func defaultedCopy(t *testing.T, tpl *workload.Template) *workload.Template {
	t.Helper()
	c, err := workload.Find(tpl.Object.DeepCopyObject())
	if err != nil {
		t.Fatal(err)
	}
	mutate.Template(c, policy.Default().Defaults)
	return c
}

func ruleByID(t *testing.T, id string) *Rule {
	t.Helper()
	for _, r := range Registry() {
		if r.ID == id {
			return r
		}
	}
	t.Fatalf("no rule %q in the registry", id)
	return nil
}

// ruleFixtures lists testdata/<rule-id>/<outcome>/*.yaml.
func ruleFixtures(t *testing.T, id, outcome string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", id, outcome, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// fixtureSettings holds, by rule ID, the settings that switch on a rule
// that needs them (allowed registries, required labels). Each such rule
// registers its own in rule_<id>_test.go, with fixtureSetting.
var fixtureSettings = map[string]func(*policy.Policy){}

// fixtureSetting registers the settings rule id's fixtures are judged
// with. It is called from a package-level var declaration, so that every
// registration is in place before any test runs.
func fixtureSetting(id string, set func(*policy.Policy)) bool {
	if _, ok := fixtureSettings[id]; ok {
		panic("two fixture settings for " + id)
	}
	fixtureSettings[id] = set
	return true
}

// fixturePolicy is the policy a rule's fixtures are judged with: the
// built-in one, plus the settings the rule registered, if any.
func fixturePolicy(id string) *policy.Policy {
	p := policy.Default()
	if set := fixtureSettings[id]; set != nil {
		set(p)
	}
	return p
}

// configuredPolicy switches on every rule that needs a setting, for tests
// that run the whole registry.
func configuredPolicy() *policy.Policy {
	p := policy.Default()
	for _, id := range slices.Sorted(maps.Keys(fixtureSettings)) {
		fixtureSettings[id](p)
	}
	return p
}

// findingUnder reports whether a finding's path lies in the part of the
// object the template stands for: the pod spec, the Pods' metadata, or
// (for spec.replicas, spec.strategy...) the workload's own spec; for an
// object without Pods (a PodDisruptionBudget...), its spec or metadata,
// or for a ConfigMap its data and binaryData.
func findingUnder(tpl *workload.Template, path string) bool {
	if tpl.Kind == "ConfigMap" {
		return path == "data" || path == "binaryData" || strings.HasPrefix(path, "data[") || strings.HasPrefix(path, "binaryData[")
	}
	if !tpl.HasPods() {
		return strings.HasPrefix(path, "spec.") || strings.HasPrefix(path, "metadata.")
	}
	return strings.HasPrefix(path, tpl.SpecPath.String()+".") ||
		(tpl.Kind != "Pod" && (strings.HasPrefix(path, "spec.strategy.") || strings.HasPrefix(path, "spec.updateStrategy."))) ||
		strings.HasPrefix(path, podMetaPath(tpl).String()+".") ||
		(tpl.Replicas != nil && path == "spec.replicas")
}

func ptrTo[T any](v T) *T { return &v }

// evaluate is Evaluate for a test, which has no deadline: an error fails it.
func evaluate(t testing.TB, rules []*Rule, p *policy.Policy, in Input) []Violation {
	t.Helper()
	vs, err := Evaluate(rules, p, in)
	if err != nil {
		t.Fatalf("Evaluate: %v", err)
	}
	return vs
}
