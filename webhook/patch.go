package webhook

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"gomodules.xyz/jsonpatch/v2"
)

// patchFor returns the JSON patch that turns raw (the object exactly as the
// request carried it) into defaulted (the typed object after defaulting),
// keeping only the changes plimsoll meant.
//
// Decoding raw into our Go types and encoding it again (the round trip)
// loses fields our k8s.io/api does not know yet — a newer cluster's Pod
// fields — and may spell some values differently (a quantity, an empty
// struct). A diff of raw against defaulted would "remove" those fields and
// "replace" those spellings. So an operation is kept only if it adds or
// replaces a value that differs from the round trip's: that is exactly
// what defaulting changed. Nothing is ever removed.
func patchFor(raw, roundTrip, defaulted []byte) ([]jsonpatch.Operation, error) {
	ops, err := jsonpatch.CreatePatch(raw, defaulted)
	if err != nil {
		return nil, fmt.Errorf("computing the patch: %w", err)
	}
	var before, after any
	if err := json.Unmarshal(roundTrip, &before); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(defaulted, &after); err != nil {
		return nil, err
	}
	kept := ops[:0]
	for _, op := range ops {
		if op.Operation == "remove" {
			continue
		}
		b, inBefore := lookup(before, op.Path)
		a, _ := lookup(after, op.Path)
		if inBefore && reflect.DeepEqual(a, b) {
			continue
		}
		kept = append(kept, op)
	}
	return kept, nil
}

// lookup resolves a JSON pointer (RFC 6901) in a decoded JSON document.
func lookup(doc any, pointer string) (any, bool) {
	if pointer == "" {
		return doc, true
	}
	cur := doc
	for _, tok := range strings.Split(strings.TrimPrefix(pointer, "/"), "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch node := cur.(type) {
		case map[string]any:
			v, ok := node[tok]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(node) {
				return nil, false
			}
			cur = node[i]
		default:
			return nil, false
		}
	}
	return cur, true
}
