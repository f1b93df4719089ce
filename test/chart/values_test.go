package chart

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
	corev1 "k8s.io/api/core/v1"

	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/validate"
)

// jsonSchema is the part of JSON Schema values.schema.json uses.
type jsonSchema struct {
	Type                 any                    `json:"type"`
	Description          string                 `json:"description"`
	Enum                 []any                  `json:"enum"`
	Const                any                    `json:"const"`
	Properties           map[string]*jsonSchema `json:"properties"`
	AdditionalProperties json.RawMessage        `json:"additionalProperties"`
	Items                *jsonSchema            `json:"items"`
	AnyOf                []*jsonSchema          `json:"anyOf"`
	Required             []string               `json:"required"`
}

// additional returns the schema of keys not in Properties: nil when they
// are refused (false) or unconstrained (absent).
func (s *jsonSchema) additional() *jsonSchema {
	if len(s.AdditionalProperties) == 0 || string(s.AdditionalProperties) == "false" {
		return nil
	}
	var a jsonSchema
	if err := json.Unmarshal(s.AdditionalProperties, &a); err != nil {
		return nil
	}
	return &a
}

func (s *jsonSchema) isObject() bool {
	switch t := s.Type.(type) {
	case string:
		return t == "object"
	case []any:
		return slices.Contains(t, any("object"))
	}
	return false
}

func (s *jsonSchema) typeName() string {
	switch {
	case s.Const != nil:
		return fmt.Sprintf("`%v`", s.Const)
	case len(s.Enum) > 0:
		var vs []string
		for _, e := range s.Enum {
			vs = append(vs, fmt.Sprintf("`%v`", e))
		}
		return "one of " + strings.Join(vs, ", ")
	case len(s.AnyOf) > 0:
		var ts []string
		for _, a := range s.AnyOf {
			ts = append(ts, a.typeName())
		}
		return strings.Join(ts, " or ")
	}
	switch t := s.Type.(type) {
	case string:
		if t == "array" && s.Items != nil && s.Items.Type != nil {
			return "array of " + s.Items.typeName()
		}
		return t
	case []any:
		var ts []string
		for _, x := range t {
			ts = append(ts, fmt.Sprint(x))
		}
		return strings.Join(ts, " or ")
	}
	return "any"
}

func loadSchema(t *testing.T) *jsonSchema {
	t.Helper()
	dir, _ := Dir()
	data, err := os.ReadFile(filepath.Join(dir, "values.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s jsonSchema
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&s); err != nil {
		t.Fatal(err)
	}
	return &s
}

func loadValues(t *testing.T) *yaml.Node {
	t.Helper()
	dir, _ := Dir()
	data, err := os.ReadFile(filepath.Join(dir, "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Content[0]
}

// valueDoc is one row of the README's values table.
type valueDoc struct {
	key, typ, def, desc string
}

func comment(n *yaml.Node) string {
	var lines []string
	for _, l := range strings.Split(n.HeadComment, "\n") {
		l = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "#"))
		if l != "" {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, " ")
}

// documented walks values.yaml. A map whose keys all carry comments is a
// group: each key gets its own row. A map whose keys carry none (resources,
// the policy) is one value, shown whole. A leaf without a comment, or a map
// with some keys commented and some not, is an error.
func documented(m *yaml.Node, prefix string, schema *jsonSchema, rows *[]valueDoc, errs *[]string) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		key := prefix + k.Value
		var sub *jsonSchema
		if schema != nil {
			sub = schema.Properties[k.Value]
			if sub == nil {
				sub = schema.additional()
			}
		}
		if sub == nil {
			*errs = append(*errs, fmt.Sprintf("%s is in values.yaml but values.schema.json does not allow it", key))
		}
		commented := documentedKeys(v)
		switch {
		case v.Kind == yaml.MappingNode && commented > 0 && commented == len(v.Content)/2:
			if c := comment(k); c != "" {
				*rows = append(*rows, valueDoc{key: key, typ: "object", desc: c})
			}
			documented(v, key+".", sub, rows, errs)
			if sub != nil {
				for p := range sub.Properties {
					if !slices.ContainsFunc(v.Content, func(n *yaml.Node) bool { return n.Value == p }) {
						*errs = append(*errs, fmt.Sprintf("%s.%s is in values.schema.json but not in values.yaml, so it has no default or comment", key, p))
					}
				}
			}
		case v.Kind == yaml.MappingNode && commented > 0:
			*errs = append(*errs, fmt.Sprintf("%s: comment every key or none", key))
		default:
			c := comment(k)
			if c == "" {
				*errs = append(*errs, fmt.Sprintf("%s has no comment", key))
			}
			var val any
			if err := v.Decode(&val); err != nil {
				*errs = append(*errs, fmt.Sprintf("%s: %v", key, err))
			}
			def, _ := json.Marshal(val)
			typ := "any"
			if sub != nil {
				typ = sub.typeName()
			}
			*rows = append(*rows, valueDoc{key: key, typ: typ, def: "`" + string(def) + "`", desc: c})
		}
	}
}

// documentedKeys counts the keys of a map that carry a comment or are
// themselves groups of documented keys.
func documentedKeys(m *yaml.Node) int {
	if m.Kind != yaml.MappingNode {
		return 0
	}
	n := 0
	for j := 0; j+1 < len(m.Content); j += 2 {
		k, v := m.Content[j], m.Content[j+1]
		if comment(k) != "" || v.Kind == yaml.MappingNode && len(v.Content) > 0 && documentedKeys(v) == len(v.Content)/2 {
			n++
		}
	}
	return n
}

func valuesTable(t *testing.T) string {
	t.Helper()
	var rows []valueDoc
	var errs []string
	documented(loadValues(t), "", loadSchema(t), &rows, &errs)
	for _, e := range errs {
		t.Error(e)
	}
	var b strings.Builder
	b.WriteString("| Key | Type | Default | Description |\n|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", r.key, cell(r.typ), cell(r.def), cell(r.desc))
	}
	return b.String()
}

// cell makes text safe in a Markdown table cell: pipes escaped, and
// outside code spans, angle brackets too (<fullname> is not an HTML tag).
func cell(s string) string {
	parts := strings.Split(s, "`")
	for i := range parts {
		if i%2 == 0 {
			parts[i] = strings.NewReplacer("<", "&lt;", ">", "&gt;").Replace(parts[i])
		}
	}
	return strings.ReplaceAll(strings.Join(parts, "`"), "|", "\\|")
}

const (
	tableBegin = "<!-- values:begin (generated from values.yaml by `cd test && UPDATE_GOLDEN=1 go test ./chart -run TestValuesTable`; do not edit) -->\n"
	tableEnd   = "<!-- values:end -->"
)

// The chart README's values table is generated from values.yaml's
// comments and the schema's types; every value must have a comment and a
// schema, and every schema property a value.
func TestValuesTable(t *testing.T) {
	dir, _ := Dir()
	file := filepath.Join(dir, "README.md")
	readme, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	table := valuesTable(t)
	s := string(readme)
	b, e := strings.Index(s, tableBegin), strings.Index(s, tableEnd)
	if b < 0 || e < b {
		t.Fatalf("%s has no %q ... %q section", file, tableBegin, tableEnd)
	}
	got := s[b+len(tableBegin) : e]
	if got == table {
		return
	}
	if os.Getenv("UPDATE_GOLDEN") != "" {
		if err := os.WriteFile(file, []byte(s[:b+len(tableBegin)]+table+s[e:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("the values table in %s is stale; run `cd test && UPDATE_GOLDEN=1 go test ./chart -run TestValuesTable`\n%s", file, cmp.Diff(got, table))
}

// Every object in the schema refuses unknown keys (additionalProperties
// false) or says what its keys' values are (a map of strings); none is
// left open.
func TestSchemaIsClosed(t *testing.T) {
	var walk func(s *jsonSchema, path string)
	walk = func(s *jsonSchema, path string) {
		if s == nil {
			return
		}
		if s.isObject() {
			switch {
			case len(s.AdditionalProperties) == 0:
				t.Errorf("%s: an object without additionalProperties accepts any key", path)
			case len(s.Properties) > 0 && string(s.AdditionalProperties) != "false":
				t.Errorf("%s: an object with properties must set additionalProperties: false", path)
			}
		}
		keys := make([]string, 0, len(s.Properties))
		for k := range s.Properties {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			walk(s.Properties[k], path+"."+k)
		}
		walk(s.additional(), path+".*")
		walk(s.Items, path+"[]")
		for i, a := range s.AnyOf {
			walk(a, fmt.Sprintf("%s<anyOf %d>", path, i))
		}
	}
	walk(loadSchema(t), "values")
}

// The schema of `policy` has exactly the fields of policy.Policy, so the
// schema refuses what plimsoll's strict decoding would refuse, and
// accepts everything it accepts.
func TestPolicySchemaMatchesPolicyType(t *testing.T) {
	quantities := reflect.TypeOf(corev1.ResourceList{})
	var walk func(s *jsonSchema, typ reflect.Type, path string)
	walk = func(s *jsonSchema, typ reflect.Type, path string) {
		for typ.Kind() == reflect.Pointer {
			typ = typ.Elem()
		}
		if s == nil {
			t.Errorf("%s: no schema", path)
			return
		}
		switch {
		case typ == quantities:
			return
		case typ.Kind() == reflect.Struct && typ.PkgPath() == "github.com/plimsoll/plimsoll/policy":
			var fields []string
			for i := range typ.NumField() {
				f := typ.Field(i)
				name := strings.Split(f.Tag.Get("json"), ",")[0]
				if !f.IsExported() || name == "" || name == "-" {
					continue
				}
				fields = append(fields, name)
				walk(s.Properties[name], f.Type, path+"."+name)
			}
			var props []string
			for p := range s.Properties {
				props = append(props, p)
			}
			slices.Sort(fields)
			slices.Sort(props)
			if d := cmp.Diff(fields, props); d != "" {
				t.Errorf("%s: fields of %s (-Go +schema):\n%s", path, typ, d)
			}
		case typ.Kind() == reflect.Slice:
			walk(s.Items, typ.Elem(), path+"[]")
		}
	}
	walk(loadSchema(t).Properties["policy"], reflect.TypeOf(policy.Policy{}), "policy")
}

// The policy the chart puts in its ConfigMap loads with plimsoll's own
// strict loader, by default and with a ci/ file's policy.
func TestRenderedPolicyLoads(t *testing.T) {
	dir, _ := Dir()
	for _, flags := range [][]string{nil, {"-f", filepath.Join(dir, "ci", "opt-in-self-managed-dry-run-values.yaml")}} {
		objs := render(t, "plimsoll", "plimsoll-system", flags...)
		cm := Find(objs, "ConfigMap", "plimsoll-policy").Typed.(*corev1.ConfigMap)
		p, err := policy.Load([]byte(cm.Data["policy.yaml"]), validate.IDs())
		if err != nil {
			t.Errorf("%v: the rendered policy does not load: %v\n%s", flags, err, cm.Data["policy.yaml"])
			continue
		}
		if flags != nil && p.Severity("liveness-probe", policy.Warning) != policy.Off {
			t.Errorf("%v: liveness-probe is not off in the rendered policy", flags)
		}
	}
}
