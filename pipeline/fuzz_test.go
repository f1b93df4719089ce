package pipeline_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/plimsoll/plimsoll/cluster"
	"github.com/plimsoll/plimsoll/mutate"
	"github.com/plimsoll/plimsoll/pipeline"
	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/validate"
	"github.com/plimsoll/plimsoll/workload"
)

// seeds adds every YAML fixture of the repository's pure packages and
// examples, as JSON, to the corpus (beside testdata/fuzz/FuzzPipeline).
func seeds(f *testing.F) {
	var files []string
	for _, glob := range []string{"../examples/*.yaml", "../mutate/testdata/*/in.yaml", "../validate/testdata/*/*/*.yaml", "../test/e2e/testdata/*.yaml"} {
		m, _ := filepath.Glob(glob)
		files = append(files, m...)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		if raw, err := yaml.YAMLToJSON(data); err == nil {
			f.Add(raw)
		}
	}
}

// FuzzPipeline feeds any JSON, as any kind plimsoll judges (workloads,
// budgets, autoscalers, namespaces), through the pipeline, with the
// object itself as the context rules' View. Invariants: no panic;
// defaulting twice equals defaulting once; the verdict is deterministic;
// what enforce denies is never marked fixable; a context rule never
// denies at admission.
func FuzzPipeline(f *testing.F) {
	seeds(f)
	rules := validate.Registry()
	p := policy.Default()
	f.Fuzz(func(t *testing.T, raw []byte) {
		var tm struct{ APIVersion, Kind string }
		_ = json.Unmarshal(raw, &tm)
		gvk := schema.FromAPIVersionAndKind(tm.APIVersion, tm.Kind)
		if !workload.Supported(gvk) {
			kinds := append(slices.Clone(workload.Kinds), workload.Companions...)
			gvk = kinds[len(raw)%len(kinds)]
		}
		obj, err := pipeline.Decode(raw, gvk)
		if err != nil {
			return
		}
		view := cluster.NewObjects("the fuzzed object")
		view.Add(obj, "fuzz")
		for _, op := range []pipeline.Operation{pipeline.Create, pipeline.Update} {
			req := pipeline.Request{Object: obj, Operation: op, Namespace: "fuzz", Cluster: view, ContextWarnsOnly: true}
			if op == pipeline.Update {
				req.Old = obj.DeepCopyObject()
			}
			first, err := pipeline.Evaluate(rules, p, req)
			if err != nil {
				t.Fatalf("a decoded %s could not be evaluated: %v", gvk.Kind, err)
			}
			second, _ := pipeline.Evaluate(rules, p, req)
			if len(first.Violations) != len(second.Violations) {
				t.Fatalf("verdict not deterministic: %d then %d violations", len(first.Violations), len(second.Violations))
			}
			for i := range first.Violations {
				a, b := first.Violations[i], second.Violations[i]
				if a.Key() != b.Key() || a.Message() != b.Message() || a.Denies() != b.Denies() {
					t.Fatalf("verdict not deterministic: %q then %q", a.Message(), b.Message())
				}
				if a.Fixable && a.Denies() {
					t.Fatalf("a fixable violation denies: %q", a.Message())
				}
				if a.Rule.Context() && a.Denies() {
					t.Fatalf("a context rule denies at admission: %q", a.Message())
				}
				if op == pipeline.Update && a.Denies() {
					t.Fatalf("an UPDATE that changes nothing is denied: %q", a.Message())
				}
			}
		}
		once := obj.DeepCopyObject()
		t1, _ := workload.Find(once)
		mutate.Template(t1, p.Defaults)
		twice := once.DeepCopyObject()
		t2, _ := workload.Find(twice)
		if cs := mutate.Template(t2, p.Defaults); len(cs) != 0 {
			t.Fatalf("defaulting is not idempotent: the second pass wrote %v", cs)
		}
		if !reflect.DeepEqual(once, twice) {
			t.Fatal("defaulting twice differs from defaulting once")
		}
	})
}
