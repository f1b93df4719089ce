package validate

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/plimsoll/plimsoll/cluster"
	"github.com/plimsoll/plimsoll/internal/trivy"
	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/workload"
)

// fixtureNamespace is where the documents of a fixture that name no
// namespace live, as `plimsoll check -n` would put them.
const fixtureNamespace = "default"

// run is a fixture file read as `plimsoll check` reads a run: every
// document, the judged ones found as templates, and all of them in the
// View the context rules see.
type run struct {
	templates []*workload.Template
	view      *cluster.Objects
}

// loadRun reads every document of a (multi-document) fixture.
func loadRun(t testing.TB, path string) run {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := run{view: cluster.NewObjects("the documents checked")}
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return r
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if len(bytes.TrimSpace(doc)) == 0 || strings.TrimSpace(string(doc)) == "---" {
			continue
		}
		obj := decodeDoc(t, path, doc)
		if m, ok := obj.(metav1.Object); ok && m.GetNamespace() == "" {
			if _, ns := obj.(*corev1.Namespace); !ns {
				m.SetNamespace(fixtureNamespace)
			}
		}
		r.view.Add(obj, fixtureNamespace)
		if tpl, err := workload.Find(obj); err == nil {
			r.templates = append(r.templates, tpl)
		}
	}
}

func decodeDoc(t testing.TB, path string, doc []byte) runtime.Object {
	t.Helper()
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	gvk := schema.FromAPIVersionAndKind(tm.APIVersion, tm.Kind)
	var obj runtime.Object
	switch gvk {
	case corev1.SchemeGroupVersion.WithKind("ResourceQuota"):
		obj = &corev1.ResourceQuota{}
	case corev1.SchemeGroupVersion.WithKind("LimitRange"):
		obj = &corev1.LimitRange{}
	case corev1.SchemeGroupVersion.WithKind("ServiceAccount"):
		obj = &corev1.ServiceAccount{}
	case networkingv1.SchemeGroupVersion.WithKind("NetworkPolicy"):
		obj = &networkingv1.NetworkPolicy{}
	case trivy.SchemeGroupVersion.WithKind(trivy.Kind):
		obj = &trivy.VulnerabilityReport{}
	default:
		var err error
		if obj, err = workload.New(gvk); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	if err := yaml.UnmarshalStrict(doc, obj); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return obj
}

// judged returns the templates of the run that rule r judges.
func (r run) judged(rule *Rule) []*workload.Template {
	var out []*workload.Template
	for _, tpl := range r.templates {
		if rule.Judges(tpl) {
			out = append(out, tpl)
		}
	}
	return out
}

// findings runs rule over tpl of the run as Evaluate does, with the run
// as the View.
func (r run) findings(rule *Rule, tpl *workload.Template, p *policy.Policy) []Finding {
	return rule.findings(tpl, r.view, tpl.Meta.Namespace, p)
}

// all runs rule over every template of the run it judges.
func (r run) all(rule *Rule, p *policy.Policy) []Finding {
	var out []Finding
	for _, tpl := range r.judged(rule) {
		out = append(out, r.findings(rule, tpl, p)...)
	}
	return out
}

// viewOf is a View of objs, for tests that judge a template they built
// in Go.
func viewOf(t testing.TB, objs ...runtime.Object) *cluster.Objects {
	t.Helper()
	v := cluster.NewObjects("the test")
	for _, o := range objs {
		if !v.Add(o, fixtureNamespace) {
			t.Fatalf("the View does not keep a %T", o)
		}
	}
	return v
}
