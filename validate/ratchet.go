package validate

import (
	"encoding/json"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/plimsoll/plimsoll/workload"
)

// ratchet marks Preexisting the violations of an UPDATE that the old
// object already had: the same rule, at the same field, in the same
// container, with the same value there (the same image string, the same
// list of added capabilities, the same hostPath volume, ...). A value that
// changed is judged as new, even where the old one broke the same rule:
// ratcheting lets an unrelated change (a label, a scale) through, never a
// swap of one bad value for another — an exempted vendor image for an
// image from a registry the policy does not allow, one untagged image for
// another.
//
// A finding about a field that is absent (no limits, no probe) has no
// value: it is "already there" when the same container lacked it before.
func ratchet(current []Violation, now *workload.Template, before []Violation, old *workload.Template) {
	if len(before) == 0 {
		return
	}
	candidates := keys(before)
	oldValues := newValues(old)
	was := make(map[ratchetKey]bool, len(before))
	for _, v := range before {
		was[ratchetKeyOf(v, oldValues)] = true
	}
	var nowValues *values // read only if a violation may be forgiven
	for i := range current {
		if !candidates[keyOf(current[i])] {
			continue
		}
		if nowValues == nil {
			nowValues = newValues(now)
		}
		if was[ratchetKeyOf(current[i], nowValues)] {
			current[i].Preexisting = true
		}
	}
}

type ratchetKey struct{ rule, path, container, value string }

func ratchetKeyOf(v Violation, vals *values) ratchetKey {
	return ratchetKey{v.Rule.ID, v.Path, v.Container, vals.at(v.Path)}
}

// values reads the value at a field path of an object, as JSON. The
// object is converted once, on first need.
type values struct {
	obj  runtime.Object
	tree map[string]any
	err  error
}

func newValues(t *workload.Template) *values { return &values{obj: t.Object} }

// absent is the value of a field the object does not have.
const absent = "<absent>"

// at returns the JSON of the value at path (as a Finding writes it:
// spec.containers[0].image, metadata.annotations[a.b/c]), or absent. An
// object that cannot be read gives a value of its own, never equal to
// another's, so nothing is forgiven by mistake.
func (vs *values) at(path string) string {
	if vs.tree == nil && vs.err == nil {
		vs.tree, vs.err = runtime.DefaultUnstructuredConverter.ToUnstructured(vs.obj)
	}
	if vs.err != nil {
		return "<unreadable " + vs.err.Error() + ">"
	}
	var cur any = vs.tree
	for _, seg := range splitPath(path) {
		switch node := cur.(type) {
		case map[string]any:
			next, ok := node[seg]
			if !ok {
				return absent
			}
			cur = next
		case []any:
			i, ok := index(seg)
			if !ok || i >= len(node) {
				return absent
			}
			cur = node[i]
		default:
			return absent
		}
	}
	b, err := json.Marshal(cur)
	if err != nil {
		return "<unreadable " + err.Error() + ">"
	}
	return string(b)
}

// splitPath splits a field path into field names, list indexes and map
// keys: "metadata.annotations[a.b/c]" is [metadata annotations a.b/c].
func splitPath(path string) []string {
	var out []string
	for path != "" {
		switch path[0] {
		case '.':
			path = path[1:]
		case '[':
			end := strings.IndexByte(path, ']')
			if end < 0 {
				return append(out, path[1:])
			}
			out = append(out, path[1:end])
			path = path[end+1:]
		default:
			end := strings.IndexAny(path, ".[")
			if end < 0 {
				return append(out, path)
			}
			out = append(out, path[:end])
			path = path[end:]
		}
	}
	return out
}

func index(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	n := 0
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, false
		}
		n = n*10 + int(r-'0')
	}
	return n, true
}
