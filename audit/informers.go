package audit

// The background audit's informers: one on namespaces (unless the audit
// is of one namespace), one per kind judged and, when the policy runs
// context rules, one per kind they read (budgets, autoscalers, quotas,
// limit ranges: a cluster.View over their caches), each caching only what
// judging reads, and the event filtering that decides which change marks
// a namespace for re-evaluation (queue.go) and which is noise (a status
// update, a resync that changed nothing).

import (
	"context"
	"maps"
	"slices"
	"time"
	"unicode/utf8"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/plimsoll/plimsoll/cluster"
	"github.com/plimsoll/plimsoll/internal/clusterwatch"
	"github.com/plimsoll/plimsoll/internal/kube"
	"github.com/plimsoll/plimsoll/internal/trivy"
)

// setupInformers creates the informers and their event handlers. Only
// what judging needs is cached: managed fields and Pod status are
// dropped on the way in (strip). The kinds the context rules read are
// watched only when the policy in force at the start runs them.
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
	p := b.current.Load().p
	contextRules := p.ContextRulesOn()
	for _, k := range listed(p, b.rules) {
		if k.optional && !b.serves(k) {
			continue
		}
		inf := k.informer(b.client, b.o.Namespace, opts)
		b.inf[k.gvk.Kind] = inf
		if k.context {
			_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
				AddFunc: func(obj any) { b.contextChanged(namespaceOf(obj)) },
				UpdateFunc: func(old, obj any) {
					if readTheSame(old, obj) {
						return
					}
					b.contextChanged(namespaceOf(obj))
				},
				DeleteFunc: func(obj any) { b.contextChanged(namespaceOf(obj)) },
			})
			continue
		}
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
	if contextRules {
		s := clusterwatch.Stores{
			Budgets:         b.inf["PodDisruptionBudget"].GetIndexer(),
			Autoscalers:     b.inf["HorizontalPodAutoscaler"].GetIndexer(),
			Quotas:          b.inf["ResourceQuota"].GetIndexer(),
			LimitRanges:     b.inf["LimitRange"].GetIndexer(),
			ServiceAccounts: b.inf["ServiceAccount"].GetIndexer(),
			NetworkPolicies: b.inf["NetworkPolicy"].GetIndexer(),
			Workloads:       map[string]cache.Indexer{},
			Source:          "the cluster",
		}
		for _, k := range cluster.Scaled {
			s.Workloads[k] = b.inf[k].GetIndexer()
		}
		if inf := b.inf[trivy.Kind]; inf != nil {
			s.Scans = inf.GetIndexer()
		}
		b.view = s.View()
	}
}

// serves reports whether the cluster serves the optional kind k
// (VulnerabilityReports: trivy-operator may not be installed), asked
// once, at the start: a kind that is not served is not watched, and the
// rule that reads it judges nothing until the audit restarts.
func (b *Background) serves(k *kind) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ok, err := served(ctx, b.client, k, b.o.Namespace)
	switch {
	case err != nil:
		b.log.Warn("cannot list "+k.resource+"; the audit goes on without them (restart it to read them)", "error", err.Error())
	case !ok:
		b.log.Info(k.resource + " are not served here, or not ours to read: the rules that read them judge nothing (restart the audit once they are)")
	}
	return ok
}

// contextChanged notes that what the context rules read in namespace ns
// changed: every verdict cached there is judged again (a Deployment's
// depends on the budgets and autoscalers of its namespace), at the
// namespace's next evaluation.
func (b *Background) contextChanged(ns string) {
	if ns == "" {
		return
	}
	b.mu.Lock()
	b.contextGen[ns]++
	b.mu.Unlock()
	b.enqueue(ns)
}

// informers are the informers of Run, by kind.
func (b *Background) informers() map[string]cache.SharedIndexInformer {
	all := maps.Clone(b.inf)
	if b.nsInf != nil {
		all["Namespace"] = b.nsInf
	}
	return all
}

// strip drops what judging never reads from cached objects: managed
// fields everywhere, the status of Pods, budgets and autoscalers, all
// but the name of quotas and limit ranges, which the context rules only
// count, and from ConfigMaps kubectl's copy of the last manifest applied
// (a second copy of every value) and the binary values that are not text
// (configmap-secrets reads only text).
func strip(obj any) (any, error) {
	if m, err := meta.Accessor(obj); err == nil {
		m.SetManagedFields(nil)
	}
	switch x := obj.(type) {
	case *corev1.Pod:
		x.Status = corev1.PodStatus{}
	case *policyv1.PodDisruptionBudget:
		x.Status = policyv1.PodDisruptionBudgetStatus{}
	case *autoscalingv2.HorizontalPodAutoscaler:
		x.Status = autoscalingv2.HorizontalPodAutoscalerStatus{}
	case *corev1.ResourceQuota:
		x.Spec, x.Status = corev1.ResourceQuotaSpec{}, corev1.ResourceQuotaStatus{}
		x.Labels, x.Annotations = nil, nil
	case *corev1.LimitRange:
		x.Spec = corev1.LimitRangeSpec{}
		x.Labels, x.Annotations = nil, nil
	case *corev1.ConfigMap:
		delete(x.Annotations, corev1.LastAppliedConfigAnnotation)
		for k, v := range x.BinaryData {
			if !utf8.Valid(v) {
				delete(x.BinaryData, k)
			}
		}
	case *corev1.ServiceAccount:
		// Whether it mounts its token, nothing else.
		x.Secrets, x.ImagePullSecrets = nil, nil
		x.Labels, x.Annotations = nil, nil
	case *networkingv1.NetworkPolicy:
		x.Labels, x.Annotations = nil, nil
	case *trivy.VulnerabilityReport:
		return trivy.Strip(x)
	}
	return obj, nil
}

// readTheSame reports whether an update to an object the context rules
// read changed nothing they read or judge: a budget's or an autoscaler's
// spec, labels and annotations (their status changes all the time), and
// nothing of a quota or a limit range, which are only counted.
func readTheSame(old, obj any) bool {
	switch n := obj.(type) {
	case *policyv1.PodDisruptionBudget:
		o, ok := old.(*policyv1.PodDisruptionBudget)
		return ok && equality.Semantic.DeepEqual(o.Spec, n.Spec) && sameStrings(o.Labels, n.Labels) && sameStrings(o.Annotations, n.Annotations)
	case *autoscalingv2.HorizontalPodAutoscaler:
		o, ok := old.(*autoscalingv2.HorizontalPodAutoscaler)
		return ok && equality.Semantic.DeepEqual(o.Spec, n.Spec) && sameStrings(o.Labels, n.Labels) && sameStrings(o.Annotations, n.Annotations)
	case *corev1.ResourceQuota, *corev1.LimitRange:
		return true
	case *corev1.ServiceAccount:
		o, ok := old.(*corev1.ServiceAccount)
		return ok && equality.Semantic.DeepEqual(o.AutomountServiceAccountToken, n.AutomountServiceAccountToken)
	case *networkingv1.NetworkPolicy:
		o, ok := old.(*networkingv1.NetworkPolicy)
		return ok && equality.Semantic.DeepEqual(o.Spec.PodSelector, n.Spec.PodSelector) && equality.Semantic.DeepEqual(o.Spec.PolicyTypes, n.Spec.PolicyTypes)
	case *trivy.VulnerabilityReport:
		o, ok := old.(*trivy.VulnerabilityReport)
		return ok && equality.Semantic.DeepEqual(o.Report, n.Report)
	}
	return false
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
