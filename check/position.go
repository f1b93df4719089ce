package check

// Where a finding is in its file. Each document is parsed a second time,
// with go.yaml.in/yaml/v3, for its node tree: a yaml.Node carries the
// line and column it was read from. A violation names its field as a
// Kubernetes field path (spec.template.spec.containers[0].image,
// metadata.labels[app]); the path is walked down the tree as far as the
// document goes, so a field the manifest does not write (a probe to add,
// a securityContext it lacks) points at its nearest parent that is there:
// the securityContext, the container, the spec, the object.

import (
	"bytes"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// docStarts returns the file line (1-based) on which each document that
// apimachinery's YAMLReader returns for data begins, in the order it
// returns them. The reader reads data line by line; a line that starts
// with "---" ends the document it is building, and is dropped, when that
// document holds a line, and otherwise is kept as the first line of the
// next one (so "---" at the top of a file, or twice in a row, starts a
// document). A final empty line after the last newline is no line. The
// same walk here counts the lines; position_test.go holds it to the
// reader.
func docStarts(data []byte) []int {
	lines := bytes.Split(data, []byte("\n"))
	if len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1]
	}
	var starts []int
	inDoc := false
	for i, l := range lines {
		if inDoc && bytes.HasPrefix(l, []byte("---")) {
			inDoc = false
			continue
		}
		if !inDoc {
			starts = append(starts, i+1)
			inDoc = true
		}
	}
	return starts
}

// locator finds fields of one object in its file.
type locator struct {
	// node is the object's node (a mapping), or nil when the document
	// could not be parsed for positions.
	node *yaml.Node
	// line is the file line of the document's first line: the node's
	// lines count from it.
	line int
}

// documentLocator parses a document (chunk, beginning on file line start)
// for positions. A document yaml.v3 cannot read, though sigs.k8s.io/yaml
// could, still has the position of its first line.
func documentLocator(chunk []byte, start int) locator {
	var doc yaml.Node
	if err := yaml.Unmarshal(chunk, &doc); err != nil || len(doc.Content) == 0 {
		return locator{line: start}
	}
	return locator{node: doc.Content[0], line: start}
}

// item is the locator of the i-th entry of a List's items.
func (l locator) item(i int) locator {
	_, items := lookup(resolve(l.node), "items")
	items = resolve(items)
	if items == nil || items.Kind != yaml.SequenceNode || i >= len(items.Content) {
		return locator{line: l.line}
	}
	return locator{node: items.Content[i], line: l.line}
}

// at returns the file line and column (1-based) of the field at path, or
// of its nearest parent the document writes.
func (l locator) at(path string) (line, col int) {
	line, col, _ = l.find(path)
	return line, col
}

// find is at, and whether the document writes the field itself (not only
// a parent of it).
func (l locator) find(path string) (line, col int, found bool) {
	if l.node == nil {
		return l.line, 1, false
	}
	mark := l.node
	n := l.node
	found = true
	for _, s := range parsePath(path) {
		n = resolve(n)
		var next, at *yaml.Node
		switch {
		case n == nil:
		case n.Kind == yaml.SequenceNode && s.index >= 0:
			if s.index < len(n.Content) {
				next, at = n.Content[s.index], n.Content[s.index]
			}
		case n.Kind == yaml.MappingNode:
			// A mapping entry is where its key is written.
			at, next = lookup(n, s.name)
		}
		if next == nil {
			found = false
			break
		}
		mark, n = at, next
	}
	return l.line + mark.Line - 1, mark.Column, found
}

// step is one element of a field path: a field name, a map key or a list
// index (index is -1 for names and keys).
type step struct {
	name  string
	index int
}

// parsePath splits a field path as k8s.io/apimachinery's field.Path
// writes it: names joined by ".", indices and map keys in brackets
// (containers[0], labels[app], annotations[container.apparmor.security.beta.kubernetes.io/web]).
// A key may hold dots and slashes but never "]".
func parsePath(p string) []step {
	var steps []step
	for i := 0; i < len(p); {
		switch p[i] {
		case '.':
			i++
		case '[':
			j := strings.IndexByte(p[i:], ']')
			if j < 0 {
				return append(steps, step{name: p[i+1:], index: -1})
			}
			key := p[i+1 : i+j]
			idx, err := strconv.Atoi(key)
			if err != nil || idx < 0 {
				idx = -1
			}
			steps = append(steps, step{name: key, index: idx})
			i += j + 1
		default:
			j := strings.IndexAny(p[i:], ".[")
			if j < 0 {
				j = len(p) - i
			}
			steps = append(steps, step{name: p[i : i+j], index: -1})
			i += j
		}
	}
	return steps
}

// resolve follows an alias (*anchor) to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// lookup returns the key and value nodes of name in the mapping m: the
// last one written, as the decoder keeps it, else one merged in with "<<".
func lookup(m *yaml.Node, name string) (key, value *yaml.Node) {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil, nil
	}
	var merges []*yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := m.Content[i]
		switch {
		case k.Kind == yaml.ScalarNode && k.Value == name:
			key, value = k, m.Content[i+1]
		case k.Kind == yaml.ScalarNode && k.Tag == "!!merge":
			merges = append(merges, resolve(m.Content[i+1]))
		}
	}
	if key != nil {
		return key, value
	}
	for _, src := range merges {
		if src != nil && src.Kind == yaml.SequenceNode {
			for _, s := range src.Content {
				if k, v := lookup(resolve(s), name); k != nil {
					return k, v
				}
			}
		} else if k, v := lookup(src, name); k != nil {
			return k, v
		}
	}
	return nil, nil
}
