package jsondiff_test

import (
	"bytes"
	"encoding/json"
	jsonv2 "encoding/json/v2"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"

	jsonpatch "github.com/evanphx/json-patch/v5"
	gomodulespatch "gomodules.xyz/jsonpatch/v2"
	"sigs.k8s.io/yaml"

	"github.com/plimsoll/plimsoll/internal/jsondiff"
)

// FuzzPatchAgreesWithGomodulesJSONPatch is the diff's differential test
// against a kept library, gomodules.xyz/jsonpatch (the one
// controller-runtime's admission responses use): for any JSON object raw
// and any "defaulting" of it — values added or replaced, never removed,
// as plimsoll's defaulting does — the patch Patch writes, applied to raw,
// gives the same document as gomodules' patch from raw to the defaulted
// object; and it holds no "remove".
//
// The fuzzer varies the object (seeded with the Pod fixtures) and the
// seed of the defaulting. `make fuzz` runs it; `go test` runs the seeds.
func FuzzPatchAgreesWithGomodulesJSONPatch(f *testing.F) {
	for _, glob := range []string{"../../webhook/testdata/pod-*.yaml", "../../mutate/testdata/*/in.yaml"} {
		files, _ := filepath.Glob(glob)
		for _, file := range files {
			y, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			j, err := yaml.YAMLToJSON(y)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(j, uint64(len(j)))
		}
	}
	f.Add([]byte(`{"a":[1,2,{"b":null}],"c":{"d":"e"},"1e2":1e2}`), uint64(7))
	f.Add([]byte(`{"a/b":{"~c":[]},"x":true}`), uint64(1))
	f.Fuzz(func(t *testing.T, raw []byte, seed uint64) {
		var probe any
		// What the API server would send: valid UTF-8, no name twice
		// (jsonv2 refuses both, as plimsoll's decoder does).
		if jsonv2.Unmarshal(raw, &probe) != nil {
			return
		}
		if _, ok := probe.(map[string]any); !ok || hasEmptyKey(probe) {
			return
		}
		obj := decode(t, raw)
		roundTrip := encode(t, obj)
		defaulted := defaultSome(obj, rand.New(rand.NewPCG(seed, seed>>1)), 0)
		after := encode(t, defaulted)

		ours, _, err := jsondiff.Patch(raw, roundTrip, after)
		if err != nil {
			t.Fatalf("Patch: %v", err)
		}
		theirOps, err := gomodulespatch.CreatePatch(raw, after)
		if err != nil {
			t.Fatalf("gomodules CreatePatch: %v", err)
		}
		theirs, err := json.Marshal(theirOps)
		if err != nil {
			t.Fatal(err)
		}
		got := apply(t, raw, ours)
		want := apply(t, raw, theirs)
		if !reflect.DeepEqual(decode(t, got), decode(t, want)) {
			t.Fatalf("the patches disagree\nraw:      %s\ndefaulted: %s\nours:     %s\ntheirs:   %s\nours gives:   %s\ntheirs give: %s", raw, after, ours, theirs, got, want)
		}
		if bytes.Contains(ours, []byte(`"op":"remove"`)) {
			t.Fatalf("Patch removed something: %s", ours)
		}
	})
}

// hasEmptyKey reports whether v has a member named "": the applier the
// test uses (evanphx/json-patch) cannot apply a path with an empty
// segment, and no Kubernetes object has one (the API server refuses empty
// label and annotation keys).
func hasEmptyKey(v any) bool {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if k == "" || hasEmptyKey(e) {
				return true
			}
		}
	case []any:
		for _, e := range v {
			if hasEmptyKey(e) {
				return true
			}
		}
	}
	return false
}

// decode reads JSON keeping numbers as written.
func decode(t *testing.T, data []byte) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
	return v
}

// encode writes v as plimsoll's encoder writes typed objects: one encoder,
// keys in a fixed order.
func encode(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func apply(t *testing.T, doc, patch []byte) []byte {
	t.Helper()
	if len(patch) == 0 {
		return doc
	}
	p, err := jsonpatch.DecodePatch(patch)
	if err != nil {
		t.Fatalf("decode patch %s: %v", patch, err)
	}
	out, err := p.Apply(doc)
	if err != nil {
		t.Fatalf("apply %s to %s: %v", patch, doc, err)
	}
	return out
}

// defaultSome is a copy of v with values added or replaced at random, as
// defaulting adds fields and replaces none it was not asked to: never a
// removal.
func defaultSome(v any, rng *rand.Rand, depth int) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v)+1)
		for k, e := range v {
			switch rng.IntN(8) {
			case 0:
				out[k] = scalar(rng) // replaced whole, whatever it was
			default:
				out[k] = defaultSome(e, rng, depth+1)
			}
		}
		if rng.IntN(3) == 0 {
			k := "added" + strconv.Itoa(rng.IntN(4))
			if _, ok := out[k]; !ok {
				out[k] = added(rng, depth)
			}
		}
		return out
	case []any:
		out := make([]any, len(v), len(v)+1)
		for i, e := range v {
			out[i] = defaultSome(e, rng, depth+1)
		}
		if rng.IntN(4) == 0 {
			out = append(out, added(rng, depth))
		}
		return out
	}
	if rng.IntN(6) == 0 {
		return scalar(rng)
	}
	return v
}

func added(rng *rand.Rand, depth int) any {
	if depth < 4 && rng.IntN(2) == 0 {
		return map[string]any{"k": scalar(rng), "l": []any{scalar(rng)}}
	}
	return scalar(rng)
}

func scalar(rng *rand.Rand) any {
	switch rng.IntN(5) {
	case 0:
		return json.Number(strconv.Itoa(rng.IntN(1000)))
	case 1:
		return rng.IntN(2) == 0
	case 2:
		return nil
	case 3:
		return "a/b~c"
	}
	return "v" + strconv.Itoa(rng.IntN(100))
}
