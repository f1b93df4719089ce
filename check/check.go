// Package check is `plimsoll check`: it reads manifests from files,
// directories and stdin, runs each object through the same pipeline and
// policy as the webhook, and reports what enforce mode would deny, what
// defaulting will fix and what it would only warn about.
package check

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/plimsoll/plimsoll/admission"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/plimsoll/plimsoll/cluster"
	"github.com/plimsoll/plimsoll/internal/trivy"
	"github.com/plimsoll/plimsoll/pipeline"
	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/validate"
	"github.com/plimsoll/plimsoll/workload"
)

// Exit codes.
const (
	ExitOK        = 0 // nothing enforce mode would deny
	ExitViolation = 1 // at least one finding --fail-on counts (by default: one enforce would deny)
	ExitUsage     = 2 // unreadable input or bad usage
)

// Options configure a check.
type Options struct {
	// Paths are files, directories (read recursively for .yaml, .yml and
	// .json) or "-" for stdin.
	Paths []string
	// Kustomizations are directories holding a kustomization, each built
	// in process as `kubectl apply -k` builds it (the command's -k); their
	// objects are judged after those of Paths.
	Kustomizations []string
	// Policy is the policy to judge by.
	Policy *policy.Policy
	// Mode is enforce (errors deny: exit 1) or warn (nothing denies).
	Mode admission.Mode
	// Output is text, json, sarif, junit or github (the command's -o;
	// Run does not read it).
	Output string
	// Color turns on ANSI colours in text output.
	Color bool
	// SkipNonKubernetes skips documents that are not Kubernetes objects
	// (no apiVersion and kind: a CI workflow, a values file) instead of
	// refusing them, for hooks that hand check every YAML file.
	SkipNonKubernetes bool
	// Namespace is the namespace of objects that name none, as `kubectl
	// apply -n` gives it; "" leaves them without one.
	Namespace string
	Stdin     io.Reader
	Now       time.Time
}

// Result is one finding, in the JSON schema README.md documents under "Checking manifests in CI".
type Result struct {
	File string `json:"file"`
	// Line and Column (1-based) are where in File the finding's field is
	// written, or its nearest parent that is (the container, the spec,
	// the object). Reports that read no file (`plimsoll audit`) leave
	// them out.
	Line        int    `json:"line,omitempty"`
	Column      int    `json:"column,omitempty"`
	Kind        string `json:"kind"`
	Namespace   string `json:"namespace"`
	Name        string `json:"name"`
	Container   string `json:"container"`
	Rule        string `json:"rule"`
	Severity    string `json:"severity"`
	Path        string `json:"path"`
	Message     string `json:"message"`
	Remediation string `json:"remediation"`
	Fixable     bool   `json:"fixable"`
	// Exemption, when set, says which exemption lifts the finding: it is
	// reported but never counted as an error or a warning.
	Exemption string `json:"exemption,omitempty"`

	short string // the message without the object, for text output
}

// Summary counts objects judged, errors (what enforce would deny) and
// warnings (what it would warn about); fixable and exempted findings are
// in neither count.
type Summary struct {
	Objects  int `json:"objects"`
	Errors   int `json:"errors"`
	Warnings int `json:"warnings"`
}

// Report is the whole output.
type Report struct {
	Results []Result `json:"results"`
	Summary Summary  `json:"summary"`

	objects []object
	files   []string
	// view holds every document read, for the context rules; pending
	// the objects read and not yet judged.
	view    *cluster.Objects
	pending []pending
}

// object is one judged object, for the text and JUnit outputs.
type object struct {
	file, kind, namespace, name string
	line, column                int
	results                     []Result
}

// InputError is unreadable input: a file that cannot be read or a
// document that cannot be decoded. It names the file and the document.
type InputError struct {
	File string
	Doc  int // 1-based; 0 when the whole file is at fault
	Err  error
}

func (e *InputError) Error() string {
	if e.Doc > 0 {
		return fmt.Sprintf("%s: document %d: %v", e.File, e.Doc, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.File, e.Err)
}

// Run checks every input and returns the report; it stops at the first
// input error.
func Run(o Options) (*Report, error) {
	if len(o.Paths) == 0 && len(o.Kustomizations) == 0 {
		return nil, errors.New("nothing to check: give -f FILE, -f DIRECTORY, -f - for stdin or -k KUSTOMIZATION_DIR")
	}
	rules := validate.Registry()
	r := &Report{Results: []Result{}, view: cluster.NewObjects("the documents checked")}
	for _, p := range o.Paths {
		files, err := expand(p)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			var data []byte
			if f == "-" {
				data, err = io.ReadAll(o.Stdin)
				f = "(stdin)"
			} else {
				data, err = os.ReadFile(f)
			}
			if err != nil {
				return nil, &InputError{File: f, Err: err}
			}
			r.files = append(r.files, f)
			if err := r.checkFile(f, data, o); err != nil {
				return nil, err
			}
		}
	}
	for _, dir := range o.Kustomizations {
		if err := r.checkKustomization(dir, o); err != nil {
			return nil, err
		}
	}
	if err := r.judge(rules, o); err != nil {
		return nil, err
	}
	return r, nil
}

// expand turns a path into the files to read: a directory is walked
// recursively for .yaml, .yml and .json files, in lexical order.
func expand(p string) ([]string, error) {
	if p == "-" {
		return []string{"-"}, nil
	}
	info, err := os.Stat(p)
	if err != nil {
		return nil, &InputError{File: p, Err: errors.Unwrap(err)}
	}
	if !info.IsDir() {
		return []string{p}, nil
	}
	var files []string
	err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return &InputError{File: path, Err: err}
		}
		if !d.IsDir() && slices.Contains([]string{".yaml", ".yml", ".json"}, strings.ToLower(filepath.Ext(path))) {
			files = append(files, path)
		}
		return nil
	})
	return files, err
}

func (r *Report) checkFile(file string, data []byte, o Options) error {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	starts := docStarts(data)
	for doc, chunks := 1, 0; ; doc++ {
		chunk, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return &InputError{File: file, Doc: doc, Err: err}
		}
		start := 1
		if chunks < len(starts) {
			start = starts[chunks]
		}
		chunks++
		if len(bytes.TrimSpace(stripComments(chunk))) == 0 {
			doc--
			continue
		}
		raw, err := yaml.YAMLToJSON(chunk)
		if err != nil {
			return &InputError{File: file, Doc: doc, Err: fmt.Errorf("not valid YAML or JSON: %w", err)}
		}
		if err := r.checkDocument(file, doc, raw, where{file: file, loc: documentLocator(chunk, start)}, o); err != nil {
			return err
		}
	}
}

func stripComments(b []byte) []byte {
	var out []byte
	for _, line := range bytes.Split(b, []byte("\n")) {
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] != '#' && !bytes.Equal(t, []byte("---")) {
			out = append(out, line...)
			out = append(out, '\n')
		}
	}
	return out
}

// typeMeta reads apiVersion, kind and, for lists, items.
type typeMeta struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Items      []json.RawMessage `json:"items"`
}

// where finds an object's fields: in origin, when set and the field is
// written there, else in file through loc.
type where struct {
	file   string
	loc    locator
	origin *where
}

// at returns the file, line and column of the field at path (or of its
// nearest parent written in file).
func (w where) at(path string) (file string, line, col int) {
	if w.origin != nil {
		if line, col, ok := w.origin.loc.find(path); ok {
			return w.origin.file, line, col
		}
	}
	line, col = w.loc.at(path)
	return w.file, line, col
}

// item is where the i-th entry of a List's items is.
func (w where) item(i int) where { return where{file: w.file, loc: w.loc.item(i)} }

// checkDocument judges one object (or each item of a List) of document
// doc of file; loc finds its fields.
func (r *Report) checkDocument(file string, doc int, raw []byte, loc where, o Options) error {
	var tm typeMeta
	if err := yaml.Unmarshal(raw, &tm); err != nil {
		if o.SkipNonKubernetes {
			return nil
		}
		return &InputError{File: file, Doc: doc, Err: fmt.Errorf("not a Kubernetes object: %w", err)}
	}
	if tm.Kind == "" || tm.APIVersion == "" {
		if o.SkipNonKubernetes {
			return nil
		}
		return &InputError{File: file, Doc: doc, Err: errors.New("not a Kubernetes object: apiVersion and kind are required")}
	}
	if strings.HasSuffix(tm.Kind, "List") && tm.APIVersion == "v1" {
		for i, item := range tm.Items {
			if err := r.checkDocument(file, doc, item, loc.item(i), o); err != nil {
				var ie *InputError
				if errors.As(err, &ie) {
					ie.Err = fmt.Errorf("items[%d]: %w", i, ie.Err)
				}
				return err
			}
		}
		return nil
	}
	gv, err := schema.ParseGroupVersion(tm.APIVersion)
	if err != nil {
		return &InputError{File: file, Doc: doc, Err: err}
	}
	gvk := gv.WithKind(tm.Kind)
	if context := contextObject(gvk); context != nil {
		// A ResourceQuota, a LimitRange, a ServiceAccount, a
		// NetworkPolicy or a VulnerabilityReport: nothing to judge, but
		// the context rules read it.
		if err := yaml.Unmarshal(raw, context); err != nil {
			return &InputError{File: file, Doc: doc, Err: fmt.Errorf("not a valid %s: %w", tm.Kind, err)}
		}
		r.view.Add(context, o.Namespace)
		return nil
	}
	if !workload.Supported(gvk) {
		for _, k := range workload.Kinds {
			if k.Kind == gvk.Kind && (k.Group == gvk.Group || gvk.Group == "extensions" || gvk.Group == "apps") {
				return &InputError{File: file, Doc: doc, Err: fmt.Errorf("%s %s is not served by current Kubernetes; write it as %s", tm.APIVersion, tm.Kind, k.GroupVersion())}
			}
		}
		return nil // a Service, a Secret...: nothing to judge
	}
	obj, err := pipeline.Decode(raw, gvk)
	if err != nil {
		return &InputError{File: file, Doc: doc, Err: err}
	}
	namespace := o.Namespace
	if m, ok := obj.(metav1.Object); ok {
		if m.GetNamespace() == "" && gvk.Kind != "Namespace" {
			m.SetNamespace(o.Namespace)
		}
		namespace = m.GetNamespace()
	}
	r.view.Add(obj, namespace)
	r.pending = append(r.pending, pending{file: file, doc: doc, obj: obj, loc: loc, namespace: namespace})
	return nil
}

// pending is an object read and not yet judged: the context rules judge
// it once every document of the run is in the View.
type pending struct {
	file      string
	doc       int
	obj       runtime.Object
	loc       where
	namespace string
}

// contextObject returns an empty object of gvk when it is a kind that
// only the context rules read, else nil.
func contextObject(gvk schema.GroupVersionKind) runtime.Object {
	switch gvk {
	case corev1.SchemeGroupVersion.WithKind("ResourceQuota"):
		return &corev1.ResourceQuota{}
	case corev1.SchemeGroupVersion.WithKind("LimitRange"):
		return &corev1.LimitRange{}
	case corev1.SchemeGroupVersion.WithKind("ServiceAccount"):
		return &corev1.ServiceAccount{}
	case networkingv1.SchemeGroupVersion.WithKind("NetworkPolicy"):
		return &networkingv1.NetworkPolicy{}
	case trivy.SchemeGroupVersion.WithKind(trivy.Kind):
		// trivy-operator's scan of an image: `kubectl get
		// vulnerabilityreports -o yaml` piped into the run.
		return &trivy.VulnerabilityReport{}
	}
	return nil
}

// judge runs every object read through the pipeline, in the order read,
// with every document of the run as what the context rules see.
func (r *Report) judge(rules []*validate.Rule, o Options) error {
	for _, p := range r.pending {
		res, err := pipeline.Evaluate(rules, o.Policy, pipeline.Request{Object: p.obj, Operation: pipeline.Create, Namespace: p.namespace, Now: o.Now, PodDefaulted: true, Cluster: r.view})
		if err != nil {
			return &InputError{File: p.file, Doc: p.doc, Err: err}
		}
		t := res.Template
		ob := object{kind: t.Kind, namespace: t.Meta.Namespace, name: workload.Name(t.Meta)}
		ob.file, ob.line, ob.column = p.loc.at("")
		r.Summary.Objects++
		for _, v := range res.Violations {
			res := NewResult(p.file, t, v, o.Mode)
			res.File, res.Line, res.Column = p.loc.at(v.Path)
			r.Summary.Count(res)
			ob.results = append(ob.results, res)
			r.Results = append(r.Results, res)
		}
		r.objects = append(r.objects, ob)
	}
	r.pending = nil
	return nil
}

// FailOn says which findings fail a check (exit 1): `--fail-on`.
type FailOn string

const (
	// FailOnError fails when enforce mode would deny something (the
	// default).
	FailOnError FailOn = "error"
	// FailOnWarning fails on that and on any warning too.
	FailOnWarning FailOn = "warning"
	// FailOnNever never fails on findings: only unreadable input or bad
	// usage make the exit code (2).
	FailOnNever FailOn = "never"
)

// ParseFailOn reads a --fail-on value.
func ParseFailOn(s string) (FailOn, error) {
	switch f := FailOn(s); f {
	case FailOnError, FailOnWarning, FailOnNever:
		return f, nil
	}
	return "", fmt.Errorf("%q: use error, warning or never", s)
}

// ExitCode is 1 when enforce mode would deny something, else 0: the exit
// code under --fail-on error.
func (r *Report) ExitCode() int { return r.ExitCodeFor(FailOnError) }

// ExitCodeFor is the exit code under --fail-on f: 1 when a finding f
// counts is there, else 0. Fixable and exempted findings never count.
func (r *Report) ExitCodeFor(f FailOn) int {
	switch {
	case f == FailOnNever:
	case r.Summary.Errors > 0:
		return ExitViolation
	case f == FailOnWarning && r.Summary.Warnings > 0:
		return ExitViolation
	}
	return ExitOK
}
