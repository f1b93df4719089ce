package webhook_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/plimsoll/plimsoll/mutate"
	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/workload"
)

// TestPatchesAgreeWithDefaultingOnPerturbedPods is the patch walk's
// differential test, kept: over every Pod fixture, each perturbed many
// ways (fields deleted, unknown fields added with keys holding "/" and "~",
// indented, numbers spelled 80.0), the patch /mutate answers, applied to
// the Pod as sent, must give exactly the Pod that defaulting the typed
// object gives; it must keep every value the request carried, unknown
// fields included (a patch only adds); it must hold no "remove"; and a
// second pass must find nothing to patch.
func TestPatchesAgreeWithDefaultingOnPerturbedPods(t *testing.T) {
	var pods [][]byte
	for _, glob := range []string{"testdata/pod-*.yaml", "../mutate/testdata/*/in.yaml"} {
		files, err := filepath.Glob(glob)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			pods = append(pods, loadPath(t, f))
		}
	}
	if len(pods) < 10 {
		t.Fatalf("only %d Pod fixtures", len(pods))
	}
	rng := rand.New(rand.NewPCG(14, 20))
	f := newFixture(t)
	quantities := cmp.Comparer(func(a, b resource.Quantity) bool { return a.Cmp(b) == 0 })
	checked := 0
	for i, base := range pods {
		for k := range 40 {
			raw := perturb(t, rng, base)
			name := fmt.Sprintf("fixture %d, variant %d", i, k)
			a := f.send(t, "/mutate/enforce", create(raw).byController().body(t))
			if !a.resp.Allowed {
				// A perturbation may make the Pod undecodable (a deleted
				// name, say): that is refused, never patched.
				continue
			}
			for _, op := range patchOps(t, a.resp) {
				if op.Op == "remove" {
					t.Fatalf("%s: the patch removes %s:\n%s", name, op.Path, raw)
				}
			}
			patched := applyPatch(t, raw, a.resp)

			var got corev1.Pod
			if err := json.Unmarshal(patched, &got); err != nil {
				t.Fatalf("%s: the patched Pod does not decode: %v", name, err)
			}
			want := defaultedAsTyped(t, raw)
			if diff := cmp.Diff(want, &got, quantities); diff != "" {
				t.Fatalf("%s: the patched Pod is not the defaulted one (-defaulting +patch):\n%s\nsent:\n%s", name, diff, raw)
			}
			if lost := lostLeaves(t, raw, patched); len(lost) > 0 {
				t.Fatalf("%s: the patch changed or dropped what the request carried: %v\nsent:\n%s", name, lost, raw)
			}
			if again := f.send(t, "/mutate/enforce", create(patched).byController().body(t)); again.resp.Patch != nil {
				t.Fatalf("%s: a second pass patches again: %s", name, again.resp.Patch)
			}
			checked++
		}
	}
	if checked < len(pods)*20 {
		t.Fatalf("only %d of %d variants were patched and checked", checked, len(pods)*40)
	}
}

// defaultedAsTyped is raw decoded into a Pod, defaulted and annotated as
// /mutate defaults a Pod its controller sends.
func defaultedAsTyped(t *testing.T, raw []byte) *corev1.Pod {
	t.Helper()
	pod := &corev1.Pod{}
	if err := json.Unmarshal(raw, pod); err != nil {
		t.Fatal(err)
	}
	tpl, err := workload.Find(pod)
	if err != nil {
		t.Fatal(err)
	}
	tpl.OwnerTrusted = true
	mutate.Annotate(&pod.ObjectMeta, mutate.Template(tpl, policy.Default().Defaults))
	return pod
}

// perturb returns a variant of the Pod raw: some fields deleted, unknown
// fields added at every level, numbers written as floats, indented or not.
func perturb(t *testing.T, rng *rand.Rand, raw []byte) []byte {
	t.Helper()
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	doc = perturbValue(rng, doc, "", 0)
	var b []byte
	var err error
	if rng.IntN(2) == 0 {
		b, err = json.MarshalIndent(doc, "", "  ")
	} else {
		b, err = json.Marshal(doc)
	}
	if err != nil {
		t.Fatal(err)
	}
	if rng.IntN(3) == 0 {
		// 80 written 80.0: the same number, another spelling.
		b = bytes.ReplaceAll(b, []byte(`"containerPort":80`), []byte(`"containerPort":80.0`))
		b = bytes.ReplaceAll(b, []byte(`"containerPort": 80`), []byte(`"containerPort": 80.0`))
	}
	return b
}

// stringMaps are the fields whose value is a map of strings (or of
// quantities), not an object with fields: an unknown field there would be
// a wrong type, not a newer one.
var stringMaps = map[string]bool{"labels": true, "annotations": true, "nodeSelector": true, "requests": true, "limits": true, "matchLabels": true}

func perturbValue(rng *rand.Rand, v any, key string, depth int) any {
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			if depth > 0 && k != "name" && k != "image" && rng.IntN(12) == 0 {
				delete(v, k)
				continue
			}
			v[k] = perturbValue(rng, child, k, depth+1)
		}
		if depth > 0 && !stringMaps[key] && rng.IntN(4) == 0 {
			// A field a newer cluster may know and plimsoll does not.
			v[fmt.Sprintf("future~Field/%d", rng.IntN(100))] = map[string]any{"enabled": true, "a/b": "~1"}
		}
		return v
	case []any:
		for i := range v {
			v[i] = perturbValue(rng, v[i], key, depth+1)
		}
		return v
	}
	return v
}

// lostLeaves lists the leaves of sent (field paths to scalars) that patched
// does not hold with the same value, but for plimsoll's own annotation.
func lostLeaves(t *testing.T, sent, patched []byte) []string {
	t.Helper()
	// Numbers are compared as written: a patch must not respell 80.0 as 80.
	decode := func(data []byte) any {
		d := json.NewDecoder(bytes.NewReader(data))
		d.UseNumber()
		var v any
		if err := d.Decode(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	a, b := decode(sent), decode(patched)
	var lost []string
	var walk func(path string, x, y any)
	walk = func(path string, x, y any) {
		switch x := x.(type) {
		case map[string]any:
			ym, ok := y.(map[string]any)
			if !ok {
				lost = append(lost, path)
				return
			}
			for k, xv := range x {
				yv, ok := ym[k]
				if !ok {
					lost = append(lost, path+"/"+k)
					continue
				}
				walk(path+"/"+k, xv, yv)
			}
		case []any:
			ya, ok := y.([]any)
			if !ok || len(ya) < len(x) {
				lost = append(lost, path)
				return
			}
			for i := range x {
				walk(fmt.Sprintf("%s/%d", path, i), x[i], ya[i])
			}
		default:
			if path == "/metadata/annotations/"+mutate.AnnotationKey {
				return // plimsoll's own record, merged on reinvocation
			}
			if fmt.Sprint(x) != fmt.Sprint(y) {
				lost = append(lost, fmt.Sprintf("%s: %v became %v", path, x, y))
			}
		}
	}
	walk("", a, b)
	if len(lost) > 5 {
		lost = append(lost[:5], strings.Repeat(".", 3))
	}
	return lost
}
