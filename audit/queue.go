package audit

// The background audit's work: a rate-limited queue of namespace names
// (a change marks its namespace, debounced, so a rollout's burst of events
// costs one pass), the workers that take a namespace from it and judge
// its objects from the informers' caches, and the per-namespace cache of
// what was judged — by UID, with the resourceVersion and policy
// generation it was judged at — so only what changed is judged again.
// What a pass yields goes to the gauges and, through reportwriter.go, to
// the namespace's PolicyReport.

import (
	"cmp"
	"context"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"

	"github.com/plimsoll/plimsoll/cluster"
)

// cached is one judged object of a namespace's cache, with what it was
// judged at: its resourceVersion, the policy's generation and the
// namespace's context generation (Background.contextGen).
type cached struct {
	rv         string
	gen        uint64
	contextGen uint64
	ob         judged
}

// enqueue marks a namespace for re-evaluation after the debounce; one
// out of scope is ignored unless it still has state to clean up.
func (b *Background) enqueue(ns string) {
	if ns == "" {
		return
	}
	if !b.inScope(ns) {
		b.mu.Lock()
		_, known := b.cache[ns]
		known = known || b.published[ns]
		b.mu.Unlock()
		if !known {
			return
		}
	}
	b.queue.AddAfter(ns, b.o.Debounce)
}

// enqueueAll marks every namespace in scope, and every one that still
// has a report, for re-evaluation.
func (b *Background) enqueueAll() {
	for _, ns := range b.namespaces() {
		b.enqueue(ns)
	}
}

// namespaces are the namespaces a full pass evaluates: those the
// namespace informer knows (or the one of --namespace), and every one that
// still has a report.
func (b *Background) namespaces() []string {
	var names []string
	if b.nsInf == nil {
		names = []string{b.o.Namespace}
	} else {
		names = b.nsInf.GetStore().ListKeys()
	}
	b.mu.Lock()
	for ns := range b.published {
		if !slices.Contains(names, ns) {
			names = append(names, ns)
		}
	}
	b.mu.Unlock()
	return names
}

// setReady marks the first pass done.
func (b *Background) setReady() {
	if !b.ready.Swap(true) {
		b.log.Info("background audit ready: every namespace evaluated once")
	}
}

// passed notes that ns was evaluated; once every namespace of the first
// pass has been, the audit is ready.
func (b *Background) passed(ns string) {
	b.mu.Lock()
	delete(b.firstPass, ns)
	done := len(b.firstPass) == 0
	b.mu.Unlock()
	if done {
		b.setReady()
	}
}

// next processes one namespace from the queue; false once it shuts down.
func (b *Background) next(ctx context.Context) bool {
	ns, quit := b.queue.Get()
	if quit {
		return false
	}
	defer b.queue.Done(ns)
	began := time.Now()
	err := b.sync(ctx, ns)
	b.log.Debug("namespace evaluated", "namespace", ns, "took", time.Since(began).String())
	if err != nil {
		b.log.Error("re-evaluating a namespace failed, will retry", "namespace", ns, "error", err.Error())
		b.queue.AddRateLimited(ns)
		return true
	}
	b.queue.Forget(ns)
	b.passed(ns)
	return true
}

// sync re-evaluates one namespace from the informers' caches and
// publishes the result.
func (b *Background) sync(ctx context.Context, ns string) error {
	if !b.inScope(ns) {
		b.mu.Lock()
		delete(b.cache, ns)
		delete(b.contextGen, ns)
		published := b.published[ns]
		b.mu.Unlock()
		b.metrics.forgetNamespace(ns)
		if published {
			return b.deleteReport(ctx, ns)
		}
		return nil
	}
	objs, err := b.evaluate(ns)
	if err != nil {
		return err
	}
	b.metrics.setNamespace(ns, objs)
	b.metrics.lastSync.SetToCurrentTime()
	if b.o.Reports {
		return b.writeReport(ctx, ns, objs)
	}
	return nil
}

// evaluate judges the namespace's objects as Run does (each Pod made by
// an existing workload through that workload; the budgets, autoscalers
// and, when it runs workloads, the namespace itself too when the policy
// runs context rules), judging again only what changed since the last
// pass: the object, the policy, or what the context rules read in the
// namespace.
func (b *Background) evaluate(ns string) ([]judged, error) {
	pg := b.current.Load()
	o := b.o.Options
	o.Policy = pg.p
	var view cluster.View
	if b.view != nil && pg.p.ContextRulesOn() {
		view = b.view
	}
	now := time.Now()
	b.mu.Lock()
	prev := b.cache[ns]
	contextGen := b.contextGen[ns]
	b.mu.Unlock()
	next := map[types.UID]cached{}
	var out []judged
	exists := func(ref *metav1.OwnerReference) bool {
		inf := b.inf[ref.Kind]
		if inf == nil {
			return false
		}
		item, ok, err := inf.GetStore().GetByKey(ns + "/" + ref.Name)
		if err != nil || !ok {
			return false
		}
		m, err := meta.Accessor(item)
		return err == nil && m.GetUID() == ref.UID
	}
	// keep records a judgement, keeping the time of the last when it
	// found the same (so the report stays stable).
	keep := func(id types.UID, rv string, ob *Object) {
		c := cached{rv: rv, gen: pg.gen, contextGen: contextGen, ob: judged{Object: ob, at: now}}
		if old, ok := prev[id]; ok && sameFindings(old.ob.Object, ob) {
			c.ob.at = old.ob.at
		}
		next[id] = c
		out = append(out, c.ob)
	}
	running := false // a workload or Pod is in the namespace
	for _, k := range kinds {
		inf := b.inf[k.gvk.Kind]
		if !k.judged || inf == nil || (k.context && view == nil) || !k.wanted(pg.p, b.rules) {
			continue
		}
		// An autoscaler's verdict depends on the workload it scales:
		// judged at every pass.
		cacheable := k.gvk.Kind != "HorizontalPodAutoscaler"
		items, err := inf.GetIndexer().ByIndex(cache.NamespaceIndex, ns)
		if err != nil {
			return nil, err
		}
		for _, item := range items {
			m, err := meta.Accessor(item)
			if err != nil {
				continue
			}
			if k.pods {
				running = true
			}
			if throughOwner(m, k.ownedBy, exists) {
				continue
			}
			if c, ok := prev[m.GetUID()]; ok && cacheable && c.rv == m.GetResourceVersion() && c.gen == pg.gen && c.contextGen == contextGen {
				next[m.GetUID()] = c
				out = append(out, c.ob)
				continue
			}
			// The cache's objects are shared: judge a copy.
			obj, ok := item.(runtime.Object)
			if !ok {
				continue // the informers hold only typed objects
			}
			ob, err := judge(b.rules, o, view, obj.DeepCopyObject(), exists)
			if err != nil {
				b.log.Error("cannot judge an object", "namespace", ns, "kind", k.gvk.Kind, "name", m.GetName(), "error", err.Error())
				continue
			}
			keep(m.GetUID(), m.GetResourceVersion(), ob)
		}
	}
	if view != nil && running {
		// namespace-quota judges the namespace itself, at every pass (it
		// reads its quotas and whether it runs workloads).
		n := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}
		if b.nsInf != nil {
			if item, ok, err := b.nsInf.GetStore().GetByKey(ns); err == nil && ok {
				if m, err := meta.Accessor(item); err == nil {
					n.UID = m.GetUID()
				}
			}
		}
		ob, err := judge(b.rules, o, view, n, exists)
		if err != nil {
			b.log.Error("cannot judge an object", "namespace", ns, "kind", "Namespace", "name", ns, "error", err.Error())
		} else {
			id := n.UID
			if id == "" {
				id = types.UID("Namespace/" + ns)
			}
			keep(id, "", ob)
		}
	}
	slices.SortFunc(out, func(a, b judged) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Name, b.Name))
	})
	b.mu.Lock()
	b.cache[ns] = next
	b.mu.Unlock()
	return out, nil
}

func sameFindings(a, b *Object) bool {
	return slices.EqualFunc(a.Findings, b.Findings, func(x, y Finding) bool { return x == y })
}
