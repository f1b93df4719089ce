package check_test

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/plimsoll/plimsoll/admission"
	"github.com/plimsoll/plimsoll/check"
	"github.com/plimsoll/plimsoll/policy"
)

// workflowCommand is one GitHub Actions annotation as check writes it.
var workflowCommand = regexp.MustCompile(`^::(error|warning|notice) file=([^,:]+),line=(\d+),col=(\d+),title=(\[[a-z-]+\])::(.*)$`)

func TestGitHubAnnotatesEachFinding(t *testing.T) {
	r, err := check.Run(check.Options{Paths: []string{"testdata/multi.yaml"}, Policy: exemptDebug(t), Mode: admission.Enforce})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := r.WriteGitHub(&buf); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != len(r.Results) {
		t.Fatalf("%d commands for %d findings:\n%s", len(lines), len(r.Results), buf.String())
	}
	for i, res := range r.Results {
		m := workflowCommand.FindStringSubmatch(lines[i])
		if m == nil {
			t.Fatalf("line %d is not a workflow command: %q", i, lines[i])
		}
		want := "warning"
		switch {
		case res.Fixable || res.Exemption != "":
			want = "notice"
		case res.Severity == "error":
			want = "error"
		}
		if m[1] != want || m[2] != "testdata/multi.yaml" || m[3] != strconv.Itoa(res.Line) || m[4] != strconv.Itoa(res.Column) || m[5] != "["+res.Rule+"]" || !strings.HasPrefix(m[6], res.Message) {
			t.Errorf("line %d = %q, want %s at %d:%d for %s", i, lines[i], want, res.Line, res.Column, res.Rule)
		}
	}
	if !strings.Contains(buf.String(), "::error file=testdata/multi.yaml,line=24,col=9,title=[image-tag]::[image-tag] Deployment \"web\": container \"web\" uses image \"nginx:latest\"") {
		t.Errorf("no error annotation for the latest tag:\n%s", buf.String())
	}
	if !strings.Contains(buf.String(), "::notice file=testdata/multi.yaml,line=37,col=23,title=[privileged]::") ||
		!strings.Contains(buf.String(), "(exempt: ") {
		t.Errorf("the exempted finding is not a notice naming its exemption:\n%s", buf.String())
	}
}

func TestGitHubEscapesFileNamesAndMessages(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "a,b:c%.yaml")
	if err := os.WriteFile(file, []byte("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: a, image: \"busybox:1.36\", securityContext: {privileged: true}}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := check.Run(check.Options{Paths: []string{file}, Policy: policy.Default(), Mode: admission.Enforce})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := r.WriteGitHub(&buf); err != nil {
		t.Fatal(err)
	}
	escaped := strings.NewReplacer("%", "%25", ":", "%3A", ",", "%2C").Replace(file)
	want := "::error file=" + escaped + ",line=5,col=67,title=[privileged]::"
	if !strings.Contains(buf.String(), want) {
		t.Errorf("output lacks %q:\n%s", want, buf.String())
	}
}
