package check_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/plimsoll/plimsoll/admission"
	"github.com/plimsoll/plimsoll/check"
	"github.com/plimsoll/plimsoll/policy"
)

// The fixtures: a base (a Service and a Deployment whose image is
// nginx:latest) and two overlays that patch its container privileged,
// one with buildMetadata: [originAnnotations] (and a namePrefix), one
// without; and a kustomization whose resource is missing.
const (
	kBase    = "testdata/kustomize/base"
	kPlain   = "testdata/kustomize/overlays/plain"
	kOrigins = "testdata/kustomize/overlays/origins"
	kBroken  = "testdata/kustomize/broken"
)

func runK(t *testing.T, paths []string, dirs ...string) (*check.Report, error) {
	t.Helper()
	return check.Run(check.Options{Paths: paths, Kustomizations: dirs, Policy: policy.Default(), Mode: admission.Mode("enforce"), Stdin: strings.NewReader("")})
}

func TestKustomizeFindingsAndPositions(t *testing.T) {
	tests := []struct {
		name   string
		dir    string
		object string
		rule   string
		want   string // file:line:col
	}{
		{"without origins, a base's field points into the rendered stream", kPlain, "web", "image-tag", check.RenderedName(kPlain) + ":28:9"},
		{"without origins, the patched privileged points into the rendered stream", kPlain, "web", "privileged", check.RenderedName(kPlain) + ":31:11"},
		{"with origins, a field the base writes points into the base's file", kOrigins, "prod-web", "image-tag", "testdata/kustomize/base/deployment.yaml:16:9"},
		{"with origins, a field only the patch writes points into the rendered stream", kOrigins, "prod-web", "privileged", check.RenderedName(kOrigins) + ":37:11"},
		{"with origins, a field nobody writes points at its parent in the rendered stream", kOrigins, "prod-web", "run-as-non-root", check.RenderedName(kOrigins) + ":36:9"},
		{"a base built alone, without origins, points into its rendered stream", kBase, "web", "image-tag", check.RenderedName(kBase) + ":26:9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := runK(t, nil, tt.dir)
			if err != nil {
				t.Fatal(err)
			}
			if r.ExitCode() != check.ExitViolation {
				t.Errorf("exit code = %d, want 1", r.ExitCode())
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

// The rendered stream's lines are those `kustomize build DIR` prints: the
// line a finding names there holds its field.
func TestKustomizeRenderedLinesAreKustomizeBuilds(t *testing.T) {
	for _, dir := range []string{kBase, kPlain, kOrigins} {
		t.Run(dir, func(t *testing.T) {
			m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
			if err != nil {
				t.Fatal(err)
			}
			out, err := m.AsYaml()
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(string(out), "\n")
			r, err := runK(t, nil, dir)
			if err != nil {
				t.Fatal(err)
			}
			checked := 0
			for _, res := range r.Results {
				if res.Rule != "privileged" && res.Rule != "image-tag" || res.File != check.RenderedName(dir) {
					continue
				}
				checked++
				field := map[string]string{"privileged": "privileged: true", "image-tag": "image: nginx:latest"}[res.Rule]
				if l := lines[res.Line-1]; !strings.HasPrefix(l[res.Column-1:], field) {
					t.Errorf("%s at %d:%d: line is %q, want %q at column %d", res.Rule, res.Line, res.Column, l, field, res.Column)
				}
			}
			if checked == 0 {
				t.Error("no finding in the rendered stream to check")
			}
		})
	}
}

func TestKustomizeOriginAnnotationIsNeverJudged(t *testing.T) {
	r, err := runK(t, nil, kOrigins)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := r.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "config.kubernetes.io/origin") {
		t.Errorf("a finding names the origin annotation:\n%s", b.String())
	}
	if r.Summary.Objects != 1 {
		t.Errorf("objects = %d, want 1 (the Service is not judged)", r.Summary.Objects)
	}
}

func TestKustomizeInputs(t *testing.T) {
	tests := []struct {
		name    string
		paths   []string
		dirs    []string
		objects int
		errWant string // "" for no error
	}{
		{"-k and -f combine", []string{"testdata/multi.yaml"}, []string{kPlain}, 3, ""},
		{"-k repeats", nil, []string{kPlain, kOrigins}, 2, ""},
		{"a broken kustomization is an input error naming its directory", nil, []string{kBroken}, 0, kBroken + ": kustomize build: "},
		{"a directory without a kustomization is an input error", nil, []string{"testdata/dir"}, 0, "testdata/dir: kustomize build: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := runK(t, tt.paths, tt.dirs...)
			if tt.errWant != "" {
				var ie *check.InputError
				if !errors.As(err, &ie) || !strings.HasPrefix(err.Error(), tt.errWant) {
					t.Fatalf("err = %v, want an InputError beginning %q", err, tt.errWant)
				}
				if tt.dirs[0] == kBroken && !strings.Contains(err.Error(), "no-such-deployment.yaml") {
					t.Errorf("err = %v, want kustomize's message", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Summary.Objects != tt.objects {
				t.Errorf("objects = %d, want %d", r.Summary.Objects, tt.objects)
			}
		})
	}
}
