package audit

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/plimsoll/plimsoll/admission"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/pager"

	"github.com/plimsoll/plimsoll/cluster"
	"github.com/plimsoll/plimsoll/internal/kube"
	"github.com/plimsoll/plimsoll/validate"
)

// Run audits the namespaces in scope once and returns the report. It
// fails, naming the kind and namespace, when a List is refused: a partial
// audit would read as a clean one.
func Run(ctx context.Context, o Options) (*Report, error) {
	o = o.withDefaults()
	if err := o.Validate(); err != nil {
		return nil, err
	}
	c, err := o.client()
	if err != nil {
		return nil, err
	}
	a := &auditor{o: o, c: c, rules: validate.Registry(), scope: newScope(o), owners: map[types.UID]string{}}
	a.progress = newProgress(o.Progress)
	defer a.progress.done()
	r := &Report{Mode: string(o.Mode), Scope: string(o.Scope), Started: time.Now()}
	namespaces, err := a.namespaces(ctx, r)
	if err != nil {
		return nil, err
	}
	a.selected = map[string]bool{}
	for _, ns := range namespaces {
		a.selected[ns.Name] = true
	}
	contextRules := o.Policy.ContextRulesOn()
	listing := listed(o.Policy, a.rules)
	var listIn []string
	switch {
	case len(namespaces) == 0: // nothing in scope, nothing to list
	case o.Namespace != "" || len(listing)*len(namespaces) <= o.Burst:
		// A few namespaces: list them one by one (one burst of requests,
		// and nothing read from namespaces out of scope).
		for _, ns := range namespaces {
			listIn = append(listIn, ns.Name)
		}
	default:
		// Many: one cluster-wide List per kind, filtered here, costs
		// fewer requests than a List per kind and namespace.
		listIn = []string{metav1.NamespaceAll}
	}
	// What the context rules see: the budgets, autoscalers, quotas and
	// limit ranges of the audited namespaces (listed first), and the
	// workloads an autoscaler targets, added as they are listed. Nil when
	// the policy turns context rules off: then none of those kinds is
	// listed (and the audit needs no right to read them).
	var around *cluster.Objects
	var view cluster.View
	if contextRules {
		around = cluster.NewObjects("the cluster")
		view = around
	}
	// later are the budgets and autoscalers, judged once every workload
	// is in the view (hpa-target reads the workload an autoscaler scales).
	type pending struct {
		kind string
		obj  runtime.Object
	}
	var later []pending
	// running are the namespaces where a workload or Pod was listed.
	running := map[string]bool{}
	// targets are the workloads the autoscalers name ("namespace/Kind/name"):
	// the only ones the view is asked about (View.Workload, by hpa-target).
	// Only they are kept: a one-shot audit otherwise keeps no object past
	// its page, and keeping every Deployment, StatefulSet and ReplicaSet
	// (with ten old ReplicaSets per Deployment, by default) grew its peak
	// memory by 30% at 5,000 workloads (TestAuditScale).
	targets := map[string]bool{}
	found := func(ref *metav1.OwnerReference) bool { return a.owners[ref.UID] == ref.Kind }
	add := func(kind string, obj runtime.Object) error {
		ob, err := judge(a.rules, o, view, obj, found)
		if err != nil {
			m, _ := meta.Accessor(obj)
			return fmt.Errorf("%s %s/%s: %w", kind, m.GetNamespace(), m.GetName(), err)
		}
		r.Objects = append(r.Objects, ob)
		a.progress.judged(len(r.Objects))
		return nil
	}
	for _, k := range listing {
		scaled := around != nil && slices.Contains(cluster.Scaled, k.gvk.Kind)
		for _, ns := range listIn {
			if k.optional {
				ok, err := served(ctx, a.c, k, ns)
				if err != nil {
					return nil, fmt.Errorf("listing %s: %w", k.resource, err)
				}
				if !ok {
					continue // not installed, or not ours to read: judged without
				}
			}
			err := a.list(ctx, k, ns, func(obj runtime.Object) error {
				m, _ := meta.Accessor(obj)
				if !a.selected[m.GetNamespace()] {
					return nil
				}
				if k.context {
					slim(m)
					around.Add(obj, m.GetNamespace())
					if hpa, ok := obj.(*autoscalingv2.HorizontalPodAutoscaler); ok {
						targets[m.GetNamespace()+"/"+hpa.Spec.ScaleTargetRef.Kind+"/"+hpa.Spec.ScaleTargetRef.Name] = true
					}
					if k.judged {
						later = append(later, pending{k.gvk.Kind, obj})
					}
					return nil
				}
				if k.pods {
					// A ConfigMap runs nothing, and owns nothing plimsoll
					// judges.
					running[m.GetNamespace()] = true
					a.owners[m.GetUID()] = k.gvk.Kind
				}
				if throughOwner(m, k.ownedBy, found) {
					r.ThroughOwner++
				} else if err := add(k.gvk.Kind, obj); err != nil {
					return err
				}
				if scaled && targets[m.GetNamespace()+"/"+k.gvk.Kind+"/"+m.GetName()] {
					// A copy, without what no rule reads: the object in
					// hand would keep its whole page of objects alive.
					c := obj.DeepCopyObject()
					if cm, err := meta.Accessor(c); err == nil {
						slim(cm)
					}
					around.Add(c, m.GetNamespace())
				}
				return nil
			})
			if err != nil {
				return nil, err
			}
		}
	}
	for _, p := range later {
		if err := add(p.kind, p.obj); err != nil {
			return nil, err
		}
	}
	if contextRules {
		// namespace-quota judges the namespaces that run workloads.
		for _, ns := range namespaces {
			if running[ns.Name] {
				if err := add("Namespace", &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns.Name}}); err != nil {
					return nil, err
				}
			}
		}
	}
	r.finish(namespaces, a.rules)
	r.Took = time.Since(r.Started)
	return r, nil
}

type auditor struct {
	o        Options
	c        kube.Interface
	rules    []*validate.Rule
	scope    scope
	selected map[string]bool
	// owners maps the UID of every object listed so far to its kind.
	owners   map[types.UID]string
	progress *progress
}

// namespaces returns the namespaces in scope, each with its mode, and
// records in r every namespace read whose mode label plimsoll does not
// know, in scope or not.
func (a *auditor) namespaces(ctx context.Context, r *Report) ([]*Namespace, error) {
	if a.o.Namespace != "" {
		ns, err := a.c.Namespaces().Get(ctx, a.o.Namespace, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			return nil, fmt.Errorf("namespace %s not found", a.o.Namespace)
		case apierrors.IsForbidden(err):
			// Rights in one namespace only: audit it without its label.
			return []*Namespace{{Name: a.o.Namespace, Mode: modeOf(nil, false)}}, nil
		case err != nil:
			return nil, fmt.Errorf("reading namespace %s: %w", a.o.Namespace, err)
		}
		if v, ok := ns.Labels[admission.ModeLabel]; ok && !knownMode(v) {
			r.UnknownModes = append(r.UnknownModes, UnknownMode{Namespace: ns.Name, Value: v})
		}
		return []*Namespace{{Name: ns.Name, Mode: modeOf(ns.Labels, true)}}, nil
	}
	var out []*Namespace
	a.progress.listing("namespaces")
	err := a.pager(func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
		return a.c.Namespaces().List(ctx, opts)
	}).EachListItem(ctx, metav1.ListOptions{}, func(obj runtime.Object) error {
		ns, ok := obj.(*corev1.Namespace)
		if !ok {
			return fmt.Errorf("listing namespaces returned a %T", obj)
		}
		if v, ok := ns.Labels[admission.ModeLabel]; ok && !knownMode(v) {
			r.UnknownModes = append(r.UnknownModes, UnknownMode{Namespace: ns.Name, Value: v})
		}
		if a.scope.selects(ns.Name, ns.Labels) {
			out = append(out, &Namespace{Name: ns.Name, Mode: modeOf(ns.Labels, true)})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing namespaces: %w (give --namespace to audit one namespace without listing them)", err)
	}
	return out, nil
}

// slim drops from an object the audit keeps beyond judging it (in the
// context rules' view) what no rule reads: its managed fields and
// kubectl's copy of the last manifest applied, together often larger
// than the rest of the object.
func slim(m metav1.Object) {
	m.SetManagedFields(nil)
	if a := m.GetAnnotations(); a[corev1.LastAppliedConfigAnnotation] != "" {
		delete(a, corev1.LastAppliedConfigAnnotation)
	}
}

// pager lists through list a page of PageSize at a time, the latest
// state (no resourceVersion: each List is a consistent read, and the
// continue tokens keep every page of one List in the snapshot of its
// first). The next page is fetched while the current one is judged. An
// expired continue token is an error here: list decides what to do.
func (a *auditor) pager(list pager.ListPageFunc) *pager.ListPager {
	return &pager.ListPager{PageSize: a.o.PageSize, PageFn: list, PageBufferSize: 1}
}

// list calls each for every object of kind k in namespace ns ("" for all),
// a page of PageSize at a time. When the continue token expires (the
// listing outlived the API server's compaction window), it lists again
// from a fresh snapshot, skipping what it has seen, up to three times.
func (a *auditor) list(ctx context.Context, k *kind, ns string, each func(runtime.Object) error) error {
	seen := map[string]bool{}
	// continued says whether the last List was for a page after the
	// first. Set by the pager's goroutine, it is read only once the
	// pager has reported that List's error, which happens after.
	var continued bool
	p := a.pager(func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
		continued = opts.Continue != ""
		return k.list(ctx, a.c, ns, opts)
	})
	a.progress.listing(k.resource)
	for restarts := 0; ; restarts++ {
		var failed error
		err := p.EachListItem(ctx, metav1.ListOptions{}, func(obj runtime.Object) error {
			m, _ := meta.Accessor(obj)
			id := string(m.GetUID())
			if id == "" { // objects of a real API server always have one
				id = m.GetNamespace() + "/" + m.GetName()
			}
			if seen[id] {
				return nil
			}
			seen[id] = true
			failed = each(obj)
			return failed
		})
		switch {
		case err == nil:
			return nil
		case failed != nil:
			return failed
		case (apierrors.IsResourceExpired(err) || apierrors.IsGone(err)) && continued && restarts < 3:
			continue
		}
		where := "in all namespaces"
		if ns != "" {
			where = "in namespace " + ns
		}
		return fmt.Errorf("listing %s %s: %w", k.resource, where, err)
	}
}
