package audit

import (
	"bufio"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/plimsoll/plimsoll/admission"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/plimsoll/plimsoll/check"
	"github.com/plimsoll/plimsoll/cluster"
	"github.com/plimsoll/plimsoll/pipeline"
	"github.com/plimsoll/plimsoll/validate"
	"github.com/plimsoll/plimsoll/workload"
)

// Verdict is what a switch to the audited mode would do about a finding.
type Verdict string

const (
	// Denied: enforce would refuse the object on its next rollout.
	Denied Verdict = "would be denied"
	// Warned: admitted with a warning.
	Warned Verdict = "would only warn"
	// Defaulted: defaulting writes the fix into the Pods; never a reason
	// to deny.
	Defaulted Verdict = "would be defaulted"
	// Exempted: an exemption lifts it; recorded only.
	Exempted Verdict = "exempted"
)

// verdicts in the order reports show them.
var verdicts = []Verdict{Denied, Warned, Defaulted, Exempted}

// Finding is one result in check's schema, with the parts the text and
// HTML reports show apart.
type Finding struct {
	check.Result
	// Detail is the finding without the rule and the object: `container
	// "web" uses image "nginx:latest", whose latest tag moves
	// (spec.template.spec.containers[0].image)`.
	Detail string
}

// Verdict says what the audited mode would do about f.
func (f Finding) Verdict() Verdict {
	switch {
	case f.Exemption != "":
		return Exempted
	case f.Fixable:
		return Defaulted
	case f.Severity == "error":
		return Denied
	}
	return Warned
}

// Object is one judged object.
type Object struct {
	APIVersion, Kind, Namespace, Name string
	UID                               types.UID
	Findings                          []Finding
}

// Denied reports whether enforce would refuse the object.
func (o *Object) Denied() bool {
	return slices.ContainsFunc(o.Findings, func(f Finding) bool { return f.Verdict() == Denied })
}

// Ref names the object for a person: `Deployment web`.
func (o *Object) Ref() string { return o.Kind + " " + o.Name }

// judge runs obj through the pipeline as a CREATE, as `plimsoll check`
// does with a manifest, and returns what it found in check's schema.
// found says whether the controller an ownerReference names exists in the
// cluster with that UID: only then does the object answer to its owner
// (for exemptions and the rest), since anyone may write ownerReferences.
//
// view is what the context rules see around obj (nil: they do not run).
// Their error severity counts here as in `plimsoll check`: the audit
// reads the cluster as it is, not a cache that may lag.
func judge(rules []*validate.Rule, o Options, view cluster.View, obj runtime.Object, found func(*metav1.OwnerReference) bool) (*Object, error) {
	trust := func(ref metav1.OwnerReference) bool { return found(&ref) }
	req := pipeline.Request{Object: obj, Operation: pipeline.Create, Now: o.Now, PodDefaulted: true, TrustOwner: trust, Cluster: view}
	if ns, ok := obj.(*corev1.Namespace); ok {
		// A Namespace is judged as part of itself: the exemptions of the
		// namespace apply to it.
		req.Namespace = ns.Name
	}
	res, err := pipeline.Evaluate(rules, o.Policy, req)
	if err != nil {
		return nil, err
	}
	t := res.Template
	ob := &Object{APIVersion: apiVersionOf(t.Kind), Kind: t.Kind, Namespace: t.Meta.Namespace, Name: workload.Name(t.Meta), UID: t.Meta.UID}
	if t.Kind == "Namespace" {
		// Reported with the objects of the namespace it is (its results
		// in check's schema name no namespace: it is cluster-scoped).
		ob.Namespace = t.Meta.Name
	}
	for _, v := range res.Violations {
		ob.Findings = append(ob.Findings, Finding{
			Result: check.NewResult(o.File, t, v, o.Mode),
			Detail: fmt.Sprintf("%s %s (%s)", v.Subject(), v.Problem, v.Path),
		})
	}
	return ob, nil
}

// Report is an audit's answer.
type Report struct {
	// Mode is the mode judged by (enforce or warn); Scope is the scope.
	Mode, Scope string
	// Context names the cluster for headings (the kubeconfig context).
	Context string
	// Started and Took are when the audit ran and how long it took.
	Started time.Time
	Took    time.Duration
	// Namespaces are the namespaces audited, by name, with their findings
	// grouped by verdict and rule.
	Namespaces []*Namespace
	// Objects are the objects judged, by namespace, kind and name.
	Objects []*Object
	// ThroughOwner counts the objects reported through their controller
	// (Pods of a ReplicaSet, ReplicaSets of a Deployment, Jobs of a
	// CronJob...) rather than as themselves.
	ThroughOwner int
	// Summary is check's summary over Objects.
	Summary check.Summary
	// UnknownModes are the namespaces whose plimsoll.dev/mode label is not
	// one of enforce, warn, audit or off (a typo such as "enforced"): no
	// webhook entry selects them, so nothing guards them, whatever their
	// owner meant. The chart's ValidatingAdmissionPolicy refuses new ones.
	UnknownModes []UnknownMode
}

// UnknownMode is a namespace with a plimsoll.dev/mode label plimsoll does
// not know.
type UnknownMode struct {
	Namespace string `json:"namespace"`
	Value     string `json:"value"`
}

const modeLabel = admission.ModeLabel

// knownMode reports whether v is a value of plimsoll.dev/mode.
func knownMode(v string) bool {
	return admission.Mode(v).Known()
}

// Namespace is one audited namespace.
type Namespace struct {
	Name string
	// Mode is its plimsoll.dev/mode label, "unlabelled", or "unknown"
	// when the namespace could not be read.
	Mode    string
	Objects int
	// Denied counts the objects enforce would refuse.
	Denied int
	// Counts are the findings by verdict.
	Counts map[Verdict]int
	Groups []*Group
}

// Group is the findings of one rule with one verdict in one namespace.
type Group struct {
	Verdict  Verdict
	Rule     *validate.Rule
	Severity string
	Items    []Item
}

// Item is one finding with the object it is about.
type Item struct {
	Object *Object
	Finding
}

// Objects counts the distinct objects in the group.
func (g *Group) Objects() int {
	n := 0
	for i, it := range g.Items {
		if i == 0 || g.Items[i-1].Object != it.Object {
			n++
		}
	}
	return n
}

// Fix is the remediation every finding of the group shares, or "" when
// each says its own (naming its container or image).
func (g *Group) Fix() string {
	for _, it := range g.Items[1:] {
		if it.Remediation != g.Items[0].Remediation {
			return ""
		}
	}
	return g.Items[0].Remediation
}

// finish sorts the objects and builds the per-namespace groups and the
// summary.
func (r *Report) finish(namespaces []*Namespace, rules []*validate.Rule) {
	slices.SortFunc(r.Objects, func(a, b *Object) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Name, b.Name))
	})
	byID := map[string]*validate.Rule{}
	for _, rule := range rules {
		byID[rule.ID] = rule
	}
	byName := map[string]*Namespace{}
	for _, ns := range namespaces {
		ns.Counts = map[Verdict]int{}
		byName[ns.Name] = ns
	}
	r.Summary = check.Summary{}
	for _, ob := range r.Objects {
		r.Summary.Objects++
		ns := byName[ob.Namespace]
		if ns == nil { // listed, but not selected: cannot happen
			continue
		}
		ns.Objects++
		if ob.Denied() {
			ns.Denied++
		}
		for _, f := range ob.Findings {
			r.Summary.Count(f.Result)
			v := f.Verdict()
			ns.Counts[v]++
			i := slices.IndexFunc(ns.Groups, func(g *Group) bool { return g.Verdict == v && g.Rule.ID == f.Rule })
			if i < 0 {
				ns.Groups = append(ns.Groups, &Group{Verdict: v, Rule: byID[f.Rule], Severity: f.Severity})
				i = len(ns.Groups) - 1
			}
			ns.Groups[i].Items = append(ns.Groups[i].Items, Item{Object: ob, Finding: f})
		}
	}
	for _, ns := range namespaces {
		slices.SortFunc(ns.Groups, func(a, b *Group) int {
			return cmp.Or(cmp.Compare(slices.Index(verdicts, a.Verdict), slices.Index(verdicts, b.Verdict)), cmp.Compare(a.Rule.ID, b.Rule.ID))
		})
	}
	slices.SortFunc(namespaces, func(a, b *Namespace) int { return cmp.Compare(a.Name, b.Name) })
	r.Namespaces = namespaces
}

// Results are every finding in check's schema, by namespace, kind, name
// and then in the pipeline's order.
func (r *Report) Results() []check.Result {
	out := []check.Result{}
	for _, ob := range r.Objects {
		for _, f := range ob.Findings {
			out = append(out, f.Result)
		}
	}
	return out
}

// DeniedObjects counts the objects enforce would refuse.
func (r *Report) DeniedObjects() int {
	n := 0
	for _, ns := range r.Namespaces {
		n += ns.Denied
	}
	return n
}

// WriteJSON prints the report in `plimsoll check -o json`'s schema,
// {"results":[...],"summary":{...}}, byte for byte as check prints it. It
// streams one result at a time: ten thousand workloads' findings are never
// held twice in memory.
func (r *Report) WriteJSON(w io.Writer) error {
	// A bufio.Writer keeps its first error and returns it from Flush:
	// the writes below are checked there.
	bw := bufio.NewWriter(w)
	_, _ = bw.WriteString("{\n  \"results\": [")
	n := 0
	for _, ob := range r.Objects {
		for _, f := range ob.Findings {
			b, err := json.MarshalIndent(f.Result, "    ", "  ")
			if err != nil {
				return err
			}
			if n > 0 {
				_ = bw.WriteByte(',')
			}
			_, _ = bw.WriteString("\n    ")
			_, _ = bw.Write(b)
			n++
		}
	}
	if n > 0 {
		_, _ = bw.WriteString("\n  ")
	}
	b, err := json.MarshalIndent(r.Summary, "  ", "  ")
	if err != nil {
		return err
	}
	_, _ = bw.WriteString("],\n  \"summary\": ")
	_, _ = bw.Write(b)
	if len(r.UnknownModes) > 0 {
		u, err := json.MarshalIndent(r.UnknownModes, "  ", "  ")
		if err != nil {
			return err
		}
		_, _ = bw.WriteString(",\n  \"unknownModes\": ")
		_, _ = bw.Write(u)
	}
	_, _ = bw.WriteString("\n}\n")
	return bw.Flush()
}

// ExitCode is check's: 1 when enforce would deny something, else 0.
func (r *Report) ExitCode() int {
	if r.Summary.Errors > 0 {
		return check.ExitViolation
	}
	return check.ExitOK
}
