package check

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// docStartsSeeds are inputs whose splitting is easy to get wrong.
var docStartsSeeds = []string{
	"",
	"a: 1\n",
	"a: 1",
	"---\na: 1\n",
	"a: 1\n---\nb: 2\n",
	"a: 1\n---\n---\nb: 2\n",
	"# only a comment\n---\na: 1\n---\n",
	"a: 1\r\n---\r\nb: 2\r\n",
	"a: 1\n--- # a comment after the separator\nb: 2\n",
	"\n\n---\n\na: 1\n\n",
	"---\n---\n---\n",
	"a: 1\n---",
	"a: |\n  text\n  ---not a separator, indented\n---\nb: 2\n",
	"a: 1\n" + strings.Repeat("x", 5000) + ": 2\n---\nb: 3\n",
}

// FuzzDocStarts holds docStarts to apimachinery's YAMLReader, which check
// splits files with: for every document the reader returns, docStarts
// names the line the document's text begins on in the file. The seeds
// run with every go test.
func FuzzDocStarts(f *testing.F) {
	for _, s := range docStartsSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		lines := strings.Split(data, "\n")
		starts := docStarts([]byte(data))
		reader := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(data)))
		for i := 0; ; i++ {
			chunk, err := reader.Read()
			if errors.Is(err, io.EOF) {
				if i != len(starts) {
					t.Fatalf("%q: the reader returned %d documents, docStarts %d (%v)", data, i, len(starts), starts)
				}
				return
			}
			if err != nil {
				return // the reader refuses the rest: positions no longer matter
			}
			if i >= len(starts) {
				t.Fatalf("%q: document %d (%q) has no start in %v", data, i+1, chunk, starts)
			}
			n := bytes.Count(chunk, []byte("\n"))
			if starts[i]-1+n > len(lines) {
				t.Fatalf("%q: document %d (%q) starts on line %d, past the file's end", data, i+1, chunk, starts[i])
			}
			var want strings.Builder
			for j := starts[i] - 1; j < starts[i]-1+n; j++ {
				l := lines[j]
				if j < len(lines)-1 { // bufio drops the \r of a \r\n, not of a last line's \r
					l = strings.TrimSuffix(l, "\r")
				}
				want.WriteString(l + "\n")
			}
			if want.String() != string(chunk) {
				t.Fatalf("%q: document %d is %q, but the file's lines from line %d are %q", data, i+1, chunk, starts[i], want.String())
			}
		}
	})
}

func TestParsePathReadsFieldPaths(t *testing.T) {
	tests := []struct {
		name string
		path string
		want []step
	}{
		{"a path of names", "spec.replicas", []step{{"spec", -1}, {"replicas", -1}}},
		{"a list index", "spec.containers[0].image", []step{{"spec", -1}, {"containers", -1}, {"0", 0}, {"image", -1}}},
		{"two indices in one path", "spec.volumes[2].x[10]", []step{{"spec", -1}, {"volumes", -1}, {"2", 2}, {"x", -1}, {"10", 10}}},
		{"a label key", "metadata.labels[app]", []step{{"metadata", -1}, {"labels", -1}, {"app", -1}}},
		{"an annotation key with dots and a slash", "spec.template.metadata.annotations[container.apparmor.security.beta.kubernetes.io/web]",
			[]step{{"spec", -1}, {"template", -1}, {"metadata", -1}, {"annotations", -1}, {"container.apparmor.security.beta.kubernetes.io/web", -1}}},
		{"a key that is not closed", "metadata.labels[app", []step{{"metadata", -1}, {"labels", -1}, {"app", -1}}},
		{"the empty path", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, parsePath(tt.path), cmp.AllowUnexported(step{})); diff != "" {
				t.Errorf("parsePath(%q) (-want +got):\n%s", tt.path, diff)
			}
		})
	}
}

func TestLocatorFindsTheFieldOrItsNearestParent(t *testing.T) {
	const doc = `# a comment line
apiVersion: v1
kind: Pod
metadata:
  name: p
  labels: {app: web}
  annotations:
    container.apparmor.security.beta.kubernetes.io/a: unconfined
spec:
  base: &base
    image: busybox
  containers:
  - name: a
    <<: *base
    securityContext:
  - {name: b, image: "x:1"}
`
	tests := []struct {
		name      string
		path      string
		line, col int
	}{
		{"a field written in the document", "spec.containers[1].image", 16, 15},
		{"a label, by key", "metadata.labels[app]", 6, 12},
		{"an annotation whose key holds dots and a slash", "metadata.annotations[container.apparmor.security.beta.kubernetes.io/a]", 8, 5},
		{"a field written through a merge key", "spec.containers[0].image", 11, 5},
		{"a field under an empty mapping points at the mapping", "spec.containers[0].securityContext.runAsNonRoot", 15, 5},
		{"a field the container lacks points at the container", "spec.containers[1].livenessProbe", 16, 5},
		{"an index past the list's end points at the list", "spec.containers[5].image", 12, 3},
		{"a field the object lacks points at the object's spec", "spec.replicas", 9, 1},
		{"a field under a missing parent points at the object", "status.phase", 2, 1},
		{"the empty path is the object", "", 2, 1},
	}
	loc := documentLocator([]byte(doc), 10) // the document begins on line 10 of its file
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			line, col := loc.at(tt.path)
			if line != tt.line+9 || col != tt.col {
				t.Errorf("at(%q) = %d:%d, want %d:%d", tt.path, line, col, tt.line+9, tt.col)
			}
		})
	}
	t.Run("a document yaml.v3 cannot read points at its first line", func(t *testing.T) {
		loc := documentLocator([]byte("a: [\n"), 7)
		if line, col := loc.at("spec.replicas"); line != 7 || col != 1 {
			t.Errorf("at = %d:%d, want 7:1", line, col)
		}
	})
}

func TestWorkflowCommandEscaping(t *testing.T) {
	tests := []struct {
		name, in, data, property string
	}{
		{"plain text is left alone", "deploy/web.yaml", "deploy/web.yaml", "deploy/web.yaml"},
		{"a percent sign is escaped first", "100%", "100%25", "100%25"},
		{"line breaks are escaped", "a\r\nb", "a%0D%0Ab", "a%0D%0Ab"},
		{"a colon and a comma are escaped in properties only", "a:b,c", "a:b,c", "a%3Ab%2Cc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := escapeData(tt.in); got != tt.data {
				t.Errorf("escapeData(%q) = %q, want %q", tt.in, got, tt.data)
			}
			if got := escapeProperty(tt.in); got != tt.property {
				t.Errorf("escapeProperty(%q) = %q, want %q", tt.in, got, tt.property)
			}
		})
	}
}
