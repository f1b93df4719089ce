// Package jsondiff computes the JSON patch that turns an object as a
// request carried it into the same object after defaulting, keeping only
// the changes defaulting meant (see Patch).
package jsondiff

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Patch returns the JSON patch (RFC 6902), encoded, that turns raw (the
// object exactly as the request carried it) into defaulted (the typed
// object after defaulting, encoded), keeping only the changes plimsoll
// meant, and the number of its operations; nil when there are none.
// roundTrip is the typed object before defaulting, encoded the same way.
//
// Decoding raw into our Go types and encoding it again (the round trip)
// loses fields our k8s.io/api does not know yet — a newer cluster's Pod
// fields — and may spell some values differently (a quantity, an empty
// struct). A diff of raw against defaulted would "remove" those fields and
// "replace" those spellings. So an operation is kept only if it adds or
// replaces a value that differs from the round trip's: that is exactly
// what defaulting changed. Nothing is ever removed.
//
// The three documents are walked together, once, as a JSON diff of raw
// against defaulted walks them (objects key by key, arrays index by index,
// a value of another type replaced whole), with the round trip alongside.
// Where the round trip and defaulted are equal, defaulting changed nothing
// below, and the walk does not descend: every operation it would find
// there is one the rule above drops. The walk reads the documents' bytes
// in place and decodes only the scalars it compares: roundTrip and
// defaulted come from the same encoder and the same Go types, so their
// bytes are equal exactly when their values are, and an operation's value
// is defaulted's own bytes.
func Patch(raw, roundTrip, defaulted []byte) ([]byte, int, error) {
	w := &patchWriter{}
	// The patch holds what defaulting added, plus each operation's path:
	// sized for that at once, it is not copied again and again as it
	// grows (a Pod of 30,000 containers has a patch of tens of MB).
	w.buf.Grow(1024 + 2*max(0, len(defaulted)-len(roundTrip)))
	if err := w.walk(trimSpace(raw), trimSpace(roundTrip), true, trimSpace(defaulted), ""); err != nil {
		return nil, 0, fmt.Errorf("computing the patch: %w", err)
	}
	if w.n == 0 {
		return nil, 0, nil
	}
	w.buf.WriteByte(']')
	return w.buf.Bytes(), w.n, nil
}

// patchWriter encodes the kept operations as they are found.
type patchWriter struct {
	buf bytes.Buffer
	n   int
}

// walk diffs a (raw's value at path) against b (defaulted's), with r (the
// round trip's, if inR) alongside. Each is one JSON value, without
// surrounding space.
func (w *patchWriter) walk(a, r []byte, inR bool, b []byte, path string) error {
	if inR && bytes.Equal(r, b) {
		return nil // defaulting changed nothing here
	}
	switch kindOf(b) {
	case '{':
		if kindOf(a) != '{' {
			break // another type: replaced whole
		}
		bm, err := members(b)
		if err != nil {
			return err
		}
		am, err := members(a)
		if err != nil {
			return err
		}
		var rm []member
		if inR && kindOf(r) == '{' {
			if rm, err = members(r); err != nil {
				return err
			}
		}
		for _, m := range bm {
			p := path + "/" + escapePointer(m.key)
			rv, inRk := lookup(rm, m.key)
			av, inA := lookup(am, m.key)
			if !inA {
				w.op("add", p, rv, inRk, m.value)
				continue
			}
			if err := w.walk(av, rv, inRk, m.value, p); err != nil {
				return err
			}
		}
		// Keys of raw missing from defaulted are unknown to our types:
		// never removed.
		return nil
	case '[':
		if kindOf(a) != '[' {
			break
		}
		bs, err := elements(b)
		if err != nil {
			return err
		}
		as, err := elements(a)
		if err != nil {
			return err
		}
		var rs [][]byte
		if inR && kindOf(r) == '[' {
			if rs, err = elements(r); err != nil {
				return err
			}
		}
		n := min(len(as), len(bs))
		// Entries of raw beyond defaulted's length would be removed: never.
		for i := n; i < len(bs); i++ {
			rv, inRi := index(rs, i)
			w.op("add", path+"/"+strconv.Itoa(i), rv, inRi, bs[i])
		}
		for i := range n {
			rv, inRi := index(rs, i)
			if err := w.walk(as[i], rv, inRi, bs[i], path+"/"+strconv.Itoa(i)); err != nil {
				return err
			}
		}
		return nil
	case 'n':
		if kindOf(a) == 'n' {
			return nil
		}
	default:
		equal, err := scalarsEqual(a, b)
		if err != nil {
			return err
		}
		if equal {
			return nil
		}
	}
	w.op("replace", path, r, inR, b)
	return nil
}

// op writes an add or replace of value at path, unless the round trip
// already has that value there (a spelling of raw's, not a default).
func (w *patchWriter) op(kind, path string, r []byte, inR bool, value []byte) {
	if inR && bytes.Equal(r, value) {
		return
	}
	if w.n == 0 {
		w.buf.WriteByte('[')
	} else {
		w.buf.WriteByte(',')
	}
	w.n++
	w.buf.WriteString(`{"op":"`)
	w.buf.WriteString(kind)
	w.buf.WriteString(`","path":`)
	p, _ := json.Marshal(path)
	w.buf.Write(p)
	w.buf.WriteString(`,"value":`)
	w.buf.Write(value)
	w.buf.WriteByte('}')
}

func index(s [][]byte, i int) ([]byte, bool) {
	if i < len(s) {
		return s[i], true
	}
	return nil, false
}

// escapePointer escapes a key as a JSON pointer token (RFC 6901).
func escapePointer(k string) string {
	if !strings.ContainsAny(k, "~/") {
		return k
	}
	return strings.ReplaceAll(strings.ReplaceAll(k, "~", "~0"), "/", "~1")
}

// ---- reading JSON in place ----
//
// The documents were produced by encoding/json (roundTrip, defaulted) or
// already decoded by it successfully (raw), so they are well formed; a
// malformed one is still reported, never read past.

var errMalformed = errors.New("malformed JSON")

// kindOf returns the first byte of a JSON value: '{', '[', '"', 't', 'f',
// 'n', or a number's first character.
func kindOf(v []byte) byte {
	if len(v) == 0 {
		return 0
	}
	return v[0]
}

// scalarsEqual compares two JSON values of which b is a string, number or
// boolean, as their decoded values compare.
func scalarsEqual(a, b []byte) (bool, error) {
	if bytes.Equal(a, b) {
		return true, nil
	}
	ka, kb := kindOf(a), kindOf(b)
	sameType := ka == kb || (isNumber(ka) && isNumber(kb)) || (ka == 't' || ka == 'f') && (kb == 't' || kb == 'f')
	if !sameType {
		return false, nil
	}
	// The same type spelled differently: a string with escapes, or a
	// number written another way (1.0, 1e0).
	var av, bv any
	if err := json.Unmarshal(a, &av); err != nil {
		return false, err
	}
	if err := json.Unmarshal(b, &bv); err != nil {
		return false, err
	}
	return av == bv, nil
}

func isNumber(c byte) bool { return c == '-' || (c >= '0' && c <= '9') }

// member is one member of a JSON object.
type member struct {
	key   string
	value []byte
}

// members returns the members of a JSON object, sorted by key. A key given
// twice keeps its last value, as encoding/json decodes it.
func members(obj []byte) ([]member, error) {
	out := make([]member, 0, 8)
	i := skipSpace(obj, 1)
	if i < len(obj) && obj[i] == '}' {
		return out, nil
	}
	for i < len(obj) {
		if obj[i] != '"' {
			return nil, errMalformed
		}
		end, err := skipString(obj, i)
		if err != nil {
			return nil, err
		}
		key, err := unquote(obj[i:end])
		if err != nil {
			return nil, err
		}
		i = skipSpace(obj, end)
		if i >= len(obj) || obj[i] != ':' {
			return nil, errMalformed
		}
		i = skipSpace(obj, i+1)
		vend, err := skipValue(obj, i)
		if err != nil {
			return nil, err
		}
		out = append(out, member{key, obj[i:vend]})
		i = skipSpace(obj, vend)
		if i >= len(obj) {
			return nil, errMalformed
		}
		switch obj[i] {
		case ',':
			i = skipSpace(obj, i+1)
		case '}':
			return sortMembers(out), nil
		default:
			return nil, errMalformed
		}
	}
	return nil, errMalformed
}

// sortMembers sorts ms by key and, of members with the same key, keeps the
// last.
func sortMembers(ms []member) []member {
	slices.SortStableFunc(ms, func(a, b member) int { return strings.Compare(a.key, b.key) })
	out := ms[:0]
	for i, m := range ms {
		if i+1 < len(ms) && ms[i+1].key == m.key {
			continue // a later value for the same key wins
		}
		out = append(out, m)
	}
	return out
}

// lookup finds key in members sorted by key.
func lookup(ms []member, key string) ([]byte, bool) {
	i, found := slices.BinarySearchFunc(ms, key, func(m member, k string) int { return strings.Compare(m.key, k) })
	if !found {
		return nil, false
	}
	return ms[i].value, true
}

// elements returns the elements of a JSON array.
func elements(arr []byte) ([][]byte, error) {
	var out [][]byte
	i := skipSpace(arr, 1)
	if i < len(arr) && arr[i] == ']' {
		return out, nil
	}
	for i < len(arr) {
		end, err := skipValue(arr, i)
		if err != nil {
			return nil, err
		}
		out = append(out, arr[i:end])
		i = skipSpace(arr, end)
		if i >= len(arr) {
			return nil, errMalformed
		}
		switch arr[i] {
		case ',':
			i = skipSpace(arr, i+1)
		case ']':
			return out, nil
		default:
			return nil, errMalformed
		}
	}
	return nil, errMalformed
}

// skipValue returns the index just past the JSON value that starts at i.
func skipValue(d []byte, i int) (int, error) {
	if i >= len(d) {
		return 0, errMalformed
	}
	switch d[i] {
	case '"':
		return skipString(d, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(d); j++ {
			switch d[j] {
			case '"':
				end, err := skipString(d, j)
				if err != nil {
					return 0, err
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, errMalformed
	}
	// A number, true, false or null: up to the next delimiter.
	j := i
	for j < len(d) && !isDelimiter(d[j]) {
		j++
	}
	if j == i {
		return 0, errMalformed
	}
	return j, nil
}

// skipString returns the index just past the string whose quote is at i.
func skipString(d []byte, i int) (int, error) {
	for j := i + 1; j < len(d); j++ {
		switch d[j] {
		case '\\':
			j++
		case '"':
			return j + 1, nil
		}
	}
	return 0, errMalformed
}

func unquote(s []byte) (string, error) {
	if bytes.IndexByte(s, '\\') < 0 {
		return string(s[1 : len(s)-1]), nil
	}
	var out string
	err := json.Unmarshal(s, &out)
	return out, err
}

func isDelimiter(c byte) bool {
	switch c {
	case ',', '}', ']', ':', ' ', '\t', '\n', '\r':
		return true
	}
	return false
}

func skipSpace(d []byte, i int) int {
	for i < len(d) && (d[i] == ' ' || d[i] == '\t' || d[i] == '\n' || d[i] == '\r') {
		i++
	}
	return i
}

func trimSpace(d []byte) []byte {
	return bytes.Trim(d, " \t\n\r")
}
