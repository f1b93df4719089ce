package check_test

import (
	"fmt"
	"testing"
)

func TestFindingsCarryTheirFilePosition(t *testing.T) {
	const crlfStdin = "apiVersion: v1\r\nkind: Pod\r\nmetadata: {name: p}\r\n---\r\n---\r\napiVersion: v1\r\nkind: Pod\r\nmetadata: {name: q}\r\nspec:\r\n  containers:\r\n  - name: a\r\n    image: busybox\r\n"
	tests := []struct {
		name   string
		path   string
		stdin  string
		object string // the object's name
		rule   string
		want   string // file:line:col
	}{
		{"a finding in the second document of a file counts the file's lines", "testdata/positions/multi.yaml", "", "web", "image-tag", "testdata/positions/multi.yaml:28:9"},
		{"a Deployment's container field points at the field", "testdata/positions/multi.yaml", "", "web", "privileged", "testdata/positions/multi.yaml:30:11"},
		{"a field the container lacks points at the container", "testdata/positions/multi.yaml", "", "web", "liveness-probe", "testdata/positions/multi.yaml:27:9"},
		{"a field its securityContext lacks points at the securityContext", "testdata/positions/multi.yaml", "", "web", "run-as-non-root", "testdata/positions/multi.yaml:29:9"},
		{"a field of the object it lacks points at the object's spec", "testdata/positions/multi.yaml", "", "web", "replicas", "testdata/positions/multi.yaml:21:1"},
		{"the first document after one of comments only keeps its lines", "testdata/positions/multi.yaml", "", "first", "liveness-probe", "testdata/positions/multi.yaml:10:5"},
		{"a List's second item is found under items[1]", "testdata/positions/list.yaml", "", "two", "image-tag", "testdata/positions/list.yaml:15:7"},
		{"a List's first item, written in flow style, is found under items[0]", "testdata/positions/list.yaml", "", "one", "liveness-probe", "testdata/positions/list.yaml:8:18"},
		{"a JSON file is read as YAML for its positions", "testdata/positions/deployment.json", "", "api", "image-tag", "testdata/positions/deployment.json:12:27"},
		{"a field absent from a JSON object points at its parent", "testdata/positions/deployment.json", "", "api", "topology-spread", "testdata/positions/deployment.json:10:7"},
		{"a List in a JSON file", "testdata/list.json", "", "report", "image-tag", "testdata/list.json:4:40"},
		{"stdin is named (stdin), CRLF line ends count once", "-", crlfStdin, "q", "image-tag", "(stdin):12:5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := run(t, "enforce", tt.stdin, tt.path)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, res := range r.Results {
				if res.Name == tt.object && res.Rule == tt.rule {
					got = append(got, fmt.Sprintf("%s:%d:%d", res.File, res.Line, res.Column))
				}
			}
			if len(got) != 1 || got[0] != tt.want {
				t.Errorf("%s %s at %v, want %s", tt.object, tt.rule, got, tt.want)
			}
		})
	}
}

func TestEveryFindingHasAPosition(t *testing.T) {
	r, err := run(t, "enforce", "", "testdata/positions", "testdata/multi.yaml", "testdata/list.json", "testdata/dir")
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Results) == 0 {
		t.Fatal("no findings")
	}
	for _, res := range r.Results {
		if res.Line < 1 || res.Column < 1 {
			t.Errorf("%s %s %s at %d:%d", res.File, res.Name, res.Rule, res.Line, res.Column)
		}
	}
}
