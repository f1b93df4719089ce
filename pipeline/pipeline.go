// Package pipeline is the one path every object takes, in the webhook, in
// `plimsoll check` and in `plimsoll audit` alike:
//
//	decode → find the pod template → default → check rules
//
// Evaluate judges an object (defaulting a copy where its Pods will be
// defaulted); Default defaults a Pod, as the webhook's /mutate does.
// Deciding by mode (package admission) and answering belong to the caller. The package is
// pure: no I/O, no client, so a manifest checked offline gets exactly the
// verdict the cluster would give.
package pipeline

import (
	"context"
	jsonv2 "encoding/json/v2"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/plimsoll/plimsoll/cluster"
	"github.com/plimsoll/plimsoll/mutate"
	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/validate"
	"github.com/plimsoll/plimsoll/workload"
)

// Operation is what is being done to the object.
type Operation string

const (
	Create Operation = "CREATE"
	Update Operation = "UPDATE"
)

// Request is one object to judge.
type Request struct {
	Object runtime.Object
	// Old is the object before an UPDATE, or nil.
	Old       runtime.Object
	Operation Operation
	// Subresource is "" or "ephemeralcontainers".
	Subresource string
	// Namespace is where the object lives (the object may not say it).
	Namespace string
	// Now decides whether exemptions have expired (zero: time.Now()).
	Now time.Time
	// PodDefaulted says that a Pod CREATE will be defaulted before it is
	// stored, so it is judged as defaulting will leave it: true where the
	// question is "what would enforce do" (audit mode, plimsoll check,
	// plimsoll audit). The webhook's /validate in enforce and warn leaves
	// it false and judges a Pod CREATE as it arrives: validating webhooks
	// run after every mutating one, so a Pod that arrives undefaulted was
	// not defaulted (the mutating entry is missing, mis-scoped, timed out
	// under Ignore, or failed) and never will be. Workloads are always
	// judged as defaulting will leave their Pods, whatever this says: their
	// Pods have yet to pass /mutate.
	PodDefaulted bool
	// Requester is who sent the request (its userInfo.username): the
	// object's controller ownerReference is believed when the requester
	// is the controller that makes such objects
	// (policy.Policy.TrustsController). Used when TrustOwner is nil; ""
	// believes nobody, as for a manifest, whose ownerReferences anyone can
	// write.
	Requester string
	// TrustOwner, when set, decides instead whether the object's
	// controller ownerReference can be believed (see
	// workload.Template.OwnerTrusted); the audit sets it to "found in the
	// cluster with that UID".
	TrustOwner func(metav1.OwnerReference) bool
	// Context, when set, stops the evaluation early once it is done (the
	// API server's deadline passed): Evaluate returns its error.
	Context context.Context
	// Cluster is what is known of the objects around this one, for the
	// context rules (validate.Rule.InContext); nil: they do not run.
	Cluster cluster.View
	// ContextWarnsOnly makes the context rules warn where they would
	// deny: at admission, where Cluster is a cache that may lag.
	ContextWarnsOnly bool
	// AroundDefault, if set, is handed the defaulting of the copy the
	// object is judged on, to run it (once, and only when a rule needs the
	// copy); the webhook traces it. Nil: defaulting simply runs.
	AroundDefault func(run func())
}

// Result is the verdict before the mode decides what to do with it.
type Result struct {
	Template   *workload.Template
	Violations []validate.Violation
}

// Evaluate judges req under policy p with rules.
//
// Every workload's Pods will be defaulted, and so will a Pod CREATE when
// req.PodDefaulted says so: those are judged as defaulting will leave
// them, so what defaulting fixes is marked Fixable. Any other Pod request
// (a CREATE that was not defaulted, an UPDATE, a new ephemeral container)
// is judged as it is. On UPDATE, what the old object already broke — the
// same rule, at the same field, with the same value — is marked
// Preexisting.
func Evaluate(rules []*validate.Rule, p *policy.Policy, req Request) (*Result, error) {
	t, err := workload.Find(req.Object)
	if err != nil {
		return nil, err
	}
	believe := func(t *workload.Template) {
		if req.TrustOwner != nil {
			trustOwner(t, req.TrustOwner)
		} else {
			TrustRequester(t, p, req.Requester)
		}
	}
	believe(t)
	in := validate.Input{Template: t, Namespace: req.Namespace, Now: req.Now, Context: req.Context, ContextWarnsOnly: req.ContextWarnsOnly}
	if req.Cluster != nil {
		in.Cluster = defaultedWorkloads{req.Cluster, p}
	}
	if t.HasPods() && (t.Kind != "Pod" || (req.PodDefaulted && req.Operation == Create && req.Subresource == "")) {
		// Defaulted on first need: an object that breaks no rule is not.
		in.Default = func() *workload.Template {
			if req.AroundDefault != nil {
				var d *workload.Template
				req.AroundDefault(func() { d = defaulted(t, p, req.Cluster, req.Namespace) })
				return d
			}
			return defaulted(t, p, req.Cluster, req.Namespace)
		}
	}
	if req.Old != nil {
		if in.Old, err = workload.Find(req.Old); err != nil {
			return nil, fmt.Errorf("oldObject: %w", err)
		}
		believe(in.Old)
	}
	vs, err := validate.Evaluate(rules, p, in)
	if err != nil {
		return nil, err
	}
	return &Result{Template: t, Violations: vs}, nil
}

// defaultedWorkloads is a View whose workloads are as defaulting will
// leave their Pods: an autoscaler scaling on CPU is satisfied by the CPU
// request plimsoll writes in, as the Pods will have it.
type defaultedWorkloads struct {
	cluster.View
	p *policy.Policy
}

func (d defaultedWorkloads) Workload(ns, kind, name string) *workload.Template {
	t := d.View.Workload(ns, kind, name)
	if t == nil || !t.HasPods() {
		return t
	}
	return defaulted(t, d.p, d.View, ns)
}

// Defaulted is a Pod after Default.
type Defaulted struct {
	// Template is the Pod's, defaulted in place.
	Template *workload.Template
	// Changes are what defaulting wrote; none when the Pod already had
	// everything the policy defaults.
	Changes mutate.Changes
}

// Default defaults the Pod of req (a Pod CREATE) under p, in place: the
// object req carries is changed, and what defaulting wrote is recorded in
// its annotation plimsoll.dev/mutations. The one default that reads
// another object (automountServiceAccountToken, from the Pod's
// ServiceAccount) is written only when req.Cluster knows that
// ServiceAccount. The Pod's controller
// ownerReference counts as Evaluate decides it (req.Requester, or
// req.TrustOwner), so a Pod is defaulted and judged as the same
// workload's, or as nobody's.
func Default(p *policy.Policy, req Request) (*Defaulted, error) {
	t, err := workload.Find(req.Object)
	if err != nil {
		return nil, err
	}
	if t.Kind != "Pod" {
		return nil, fmt.Errorf("plimsoll defaults Pods, not %s", t.Kind)
	}
	if req.TrustOwner != nil {
		trustOwner(t, req.TrustOwner)
	} else {
		TrustRequester(t, p, req.Requester)
	}
	changes := mutate.Template(t, p.Defaults)
	changes = append(changes, mutate.AccountToken(t, p.Defaults, account(p, req.Cluster, req.Namespace, t))...)
	if len(changes) > 0 {
		mutate.Annotate(t.Meta, changes)
	}
	return &Defaulted{Template: t, Changes: changes}, nil
}

// TrustRequester sets t.OwnerTrusted as the webhook decides it: t's
// controller ownerReference is believed when requester (the request's
// userInfo.username) is the controller that makes such objects
// (policy.Policy.TrustsController); "" believes nobody. /mutate and
// Evaluate both decide through it, so a Pod is defaulted and judged as
// the same workload's, or as nobody's.
func TrustRequester(t *workload.Template, p *policy.Policy, requester string) {
	if ref := workload.Controller(t.Meta); ref != nil && requester != "" {
		t.OwnerTrusted = p.TrustsController(requester, *ref)
	}
}

// trustOwner sets t.OwnerTrusted from trust, for t's controller.
func trustOwner(t *workload.Template, trust func(metav1.OwnerReference) bool) {
	if ref := workload.Controller(t.Meta); ref != nil && trust != nil {
		t.OwnerTrusted = trust(*ref)
	}
}

// defaulted is t with a copy of its PodSpec, defaulted under p, with
// view (which may be nil) as what is known of its ServiceAccount in
// namespace ns. Defaulting writes only the PodSpec, so the rest of the
// object is shared with t, not copied: for a Deployment that halves the
// copy. (Its Object is still the object as sent.)
func defaulted(t *workload.Template, p *policy.Policy, view cluster.View, ns string) *workload.Template {
	d := *t
	d.Spec = t.Spec.DeepCopy()
	mutate.Template(&d, p.Defaults)
	mutate.AccountToken(&d, p.Defaults, account(p, view, ns, &d))
	return &d
}

// account returns the ServiceAccount t's Pods run as, as view knows it,
// or nil (no view, or the ServiceAccount is not known). Only looked up
// where p defaults the token.
func account(p *policy.Policy, view cluster.View, ns string, t *workload.Template) *corev1.ServiceAccount {
	if t := p.Defaults.ServiceAccountToken; t == nil || *t {
		return nil
	}
	if view == nil || !t.HasPods() || !view.Keeps("ServiceAccount") {
		return nil
	}
	if ns == "" {
		ns = t.Meta.Namespace
	}
	return view.ServiceAccount(ns, mutate.AccountName(t))
}

// Decode decodes raw JSON into a typed object of the kind gvk, refusing an
// object whose apiVersion and kind disagree with gvk. Field names are
// matched case-sensitively, as the API server matches them.
func Decode(raw []byte, gvk schema.GroupVersionKind) (runtime.Object, error) {
	if obj := decodeOnce(raw, gvk); obj != nil {
		return obj, nil
	}
	// Something is wrong, or the object does not say what it is: decode
	// in two steps, which say what is wrong in the user's terms.
	var tm metav1.TypeMeta
	if err := jsonv2.Unmarshal(raw, &tm); err != nil {
		return nil, fmt.Errorf("the object is not valid JSON: %w", err)
	}
	if tm.Kind != "" && (tm.Kind != gvk.Kind || tm.APIVersion != gvk.GroupVersion().String()) {
		return nil, fmt.Errorf("the object is %s %s but the request says %s %s", tm.APIVersion, tm.Kind, gvk.GroupVersion(), gvk.Kind)
	}
	obj, err := workload.New(gvk)
	if err != nil {
		return nil, err
	}
	if err := jsonv2.Unmarshal(raw, obj); err != nil {
		return nil, fmt.Errorf("the object is not a valid %s: %w", gvk.Kind, err)
	}
	return obj, nil
}

// decodeOnce decodes raw in a single pass when it is a well-formed object
// that names exactly the kind gvk, as the API server always sends it, and
// returns nil otherwise. The result is the one Decode's two steps give:
// the typed object carries the apiVersion and kind it read, which are
// gvk's.
func decodeOnce(raw []byte, gvk schema.GroupVersionKind) runtime.Object {
	obj, err := workload.New(gvk)
	if err != nil {
		return nil
	}
	tm, ok := obj.GetObjectKind().(*metav1.TypeMeta)
	if !ok {
		return nil
	}
	*tm = metav1.TypeMeta{}
	if jsonv2.Unmarshal(raw, obj) != nil {
		return nil
	}
	if tm.Kind != gvk.Kind || tm.APIVersion != gvk.GroupVersion().String() {
		return nil
	}
	return obj
}
