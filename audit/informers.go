package audit

// The background audit's informers: one on namespaces (unless the audit
// is of one namespace) and one per kind judged, each caching only what
// judging reads, and the event filtering that decides which change marks
// a namespace for re-evaluation (queue.go) and which is noise (a status
// update, a resync that changed nothing).

import (
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/plimsoll/plimsoll/internal/kube"
)

// setupInformers creates the informers and their event handlers. Only
// what judging needs is cached: managed fields and Pod status are
// dropped on the way in.
func (b *Background) setupInformers() {
	opts := kube.InformerOptions{Transform: strip}
	if b.o.Namespace == "" {
		b.nsInf = kube.NewInformer(b.client, b.client.Namespaces(), opts)
		_, _ = b.nsInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj any) { b.enqueue(nameOf(obj)) },
			UpdateFunc: func(_, obj any) { b.enqueue(nameOf(obj)) },
			DeleteFunc: func(obj any) { b.enqueue(nameOf(obj)) },
		})
	}
	for _, k := range kinds {
		inf := k.informer(b.client, b.o.Namespace, opts)
		b.inf[k.gvk.Kind] = inf
		_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc: func(obj any) { b.enqueue(namespaceOf(obj)) },
			UpdateFunc: func(old, obj any) {
				if judgedTheSame(old, obj) {
					return
				}
				b.enqueue(namespaceOf(obj))
			},
			DeleteFunc: func(obj any) { b.enqueue(namespaceOf(obj)) },
		})
	}
}

// informers are the informers of Run, by kind.
func (b *Background) informers() map[string]cache.SharedIndexInformer {
	all := maps.Clone(b.inf)
	if b.nsInf != nil {
		all["Namespace"] = b.nsInf
	}
	return all
}

// strip drops what judging never reads from cached objects.
func strip(obj any) (any, error) {
	if m, err := meta.Accessor(obj); err == nil {
		m.SetManagedFields(nil)
	}
	if p, ok := obj.(*corev1.Pod); ok {
		p.Status = corev1.PodStatus{}
	}
	return obj, nil
}

// judgedTheSame reports whether an update changed nothing plimsoll
// judges: workloads' status updates keep their generation; Pods' keep
// their spec.
func judgedTheSame(old, obj any) bool {
	o, err1 := meta.Accessor(old)
	n, err2 := meta.Accessor(obj)
	if err1 != nil || err2 != nil {
		return false
	}
	if o.GetResourceVersion() == n.GetResourceVersion() {
		return true
	}
	if p, pod := obj.(*corev1.Pod); pod {
		// Pods change status all the time; their spec rarely.
		q, ok := old.(*corev1.Pod)
		if !ok || !equality.Semantic.DeepEqual(q.Spec, p.Spec) {
			return false
		}
	} else if n.GetGeneration() == 0 || o.GetGeneration() != n.GetGeneration() {
		return false
	}
	return sameStrings(o.GetLabels(), n.GetLabels()) && sameStrings(o.GetAnnotations(), n.GetAnnotations()) &&
		slices.EqualFunc(o.GetOwnerReferences(), n.GetOwnerReferences(), func(a, b metav1.OwnerReference) bool { return a.UID == b.UID })
}

func sameStrings(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func nameOf(obj any) string {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	if m, err := meta.Accessor(obj); err == nil {
		return m.GetName()
	}
	return ""
}

func namespaceOf(obj any) string {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		if ns, _, err := cache.SplitMetaNamespaceKey(d.Key); err == nil {
			return ns
		}
		obj = d.Obj
	}
	if m, err := meta.Accessor(obj); err == nil {
		return m.GetNamespace()
	}
	return ""
}

// inScope reports whether the namespace is audited, from the namespace
// informer's cache.
func (b *Background) inScope(ns string) bool {
	if b.nsInf == nil {
		return ns == b.o.Namespace
	}
	item, ok, err := b.nsInf.GetStore().GetByKey(ns)
	if err != nil || !ok {
		return false
	}
	n, ok := item.(*corev1.Namespace)
	if !ok || n.DeletionTimestamp != nil {
		return false
	}
	return b.scope.selects(n.Name, n.Labels)
}
