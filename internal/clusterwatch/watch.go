package clusterwatch

// Watch: the caches `plimsoll serve` keeps for the context rules at
// admission. Exactly what those rules read is listed and watched —
// PodDisruptionBudgets (pod-disruption-budget), HorizontalPodAutoscalers
// (every rule that asks whether a workload is autoscaled) and the
// Deployments and StatefulSets an autoscaler targets (hpa-target reads
// their containers' requests), ServiceAccounts (service-account-token
// reads whether they mount their token), NetworkPolicies (network-policy)
// and, where trivy-operator's custom resource is served,
// VulnerabilityReports (image-vulnerabilities) — and
// each object is stripped, on its way into the cache, to the fields those
// rules read. ResourceQuotas and LimitRanges are not watched:
// namespace-quota judges Namespaces, which the webhook does not. Nor are
// ReplicaSets and ReplicationControllers: every rollout leaves ReplicaSets
// behind (ten per Deployment by default), and a cache of them all would
// cost the webhook far more memory than an autoscaler that targets one
// directly is worth; hpa-target does not judge such an autoscaler at
// admission (Keeps), and `plimsoll check` and `plimsoll audit` do.

import (
	"context"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/plimsoll/plimsoll/cluster"
	"github.com/plimsoll/plimsoll/internal/kube"
	"github.com/plimsoll/plimsoll/internal/trivy"
)

// Source is what a Watch's View calls itself in messages: "no
// PodDisruptionBudget in the cluster selects its Pods".
const Source = "the cluster"

// Watch lists and watches, across every namespace, the objects the
// context rules read at admission, and answers for them through View once
// every cache has synced. Start it once; View never waits. Safe for
// concurrent use.
type Watch struct {
	log       *slog.Logger
	informers []*informer
	stores    Stores

	start  sync.Once
	synced atomic.Bool

	// scans, when the client can read them, are the VulnerabilityReports:
	// looked for every ScanRetry until the custom resource is served,
	// then watched; scanStore is their cache once it has synced.
	scans     kube.Scans
	client    kube.Interface
	scanStore atomic.Pointer[cache.Indexer]
	// ScanRetry is how often a Watch looks for the VulnerabilityReports
	// while they are not served (a minute unless set before Start).
	ScanRetry time.Duration
}

// informer is one cache of a Watch, with what its errors have been.
type informer struct {
	resource string // poddisruptionbudgets, ... for logs
	inf      cache.SharedIndexInformer
	failures atomic.Int64
}

// Resources are the resources a Watch lists and watches, by API group:
// the RBAC `plimsoll serve` needs for them is get, list and watch on
// each (the chart's contextRules.enabled grants it).
var Resources = map[string][]string{
	"policy":            {"poddisruptionbudgets"},
	"autoscaling":       {"horizontalpodautoscalers"},
	"apps":              {"deployments", "statefulsets"},
	"":                  {"serviceaccounts"},
	"networking.k8s.io": {"networkpolicies"},
	// Only where trivy-operator is installed; without them
	// image-vulnerabilities judges nothing at admission.
	trivy.SchemeGroupVersion.Group: {trivy.Resource},
}

// Cached are the kinds an autoscaler can target whose objects a Watch
// keeps (see the package comment for why not the others).
var Cached = []string{"Deployment", "StatefulSet"}

// New returns a Watch over client's API server that logs to log. It
// contacts nothing until Start.
func New(client kube.Interface, log *slog.Logger) *Watch {
	w := &Watch{log: log, client: client, stores: Stores{Workloads: map[string]cache.Indexer{}, Source: Source}, ScanRetry: time.Minute}
	w.scans, _ = client.(kube.Scans)
	add := func(resource string, inf cache.SharedIndexInformer) cache.Indexer {
		i := &informer{resource: resource, inf: inf}
		_ = inf.SetWatchErrorHandlerWithContext(w.failed(i)) // fails only once the informer runs
		w.informers = append(w.informers, i)
		return inf.GetIndexer()
	}
	opts := kube.InformerOptions{Transform: Strip}
	w.stores.Budgets = add("poddisruptionbudgets", kube.NewInformer(client, client.PodDisruptionBudgets(""), opts))
	w.stores.Autoscalers = add("horizontalpodautoscalers", kube.NewInformer(client, client.HorizontalPodAutoscalers(""), opts))
	w.stores.ServiceAccounts = add("serviceaccounts", kube.NewInformer(client, client.ServiceAccounts(""), opts))
	w.stores.NetworkPolicies = add("networkpolicies", kube.NewInformer(client, client.NetworkPolicies(""), opts))
	for _, kind := range Cached {
		var inf cache.SharedIndexInformer
		switch kind {
		case "Deployment":
			inf = kube.NewInformer(client, client.Deployments(""), opts)
		case "StatefulSet":
			inf = kube.NewInformer(client, client.StatefulSets(""), opts)
		default:
			continue
		}
		w.stores.Workloads[kind] = add(strings.ToLower(kind)+"s", inf)
	}
	return w
}

// Start runs the informers until ctx ends, and returns at once. Only the
// first call does anything.
func (w *Watch) Start(ctx context.Context) {
	w.start.Do(func() {
		names := make([]string, 0, len(w.informers))
		synced := make([]cache.InformerSynced, 0, len(w.informers))
		for _, i := range w.informers {
			go i.inf.RunWithContext(ctx)
			names = append(names, i.resource)
			synced = append(synced, i.inf.HasSynced)
		}
		w.log.Info("context rules: watching the objects they read", "resources", names)
		go func() {
			if !cache.WaitForCacheSync(ctx.Done(), synced...) {
				return // ctx ended first
			}
			w.synced.Store(true)
			w.log.Info("context rules: the caches of the cluster are synced; the context rules run at admission")
			settle()
		}()
		if w.scans != nil {
			go w.watchScans(ctx)
		}
	})
}

// watchScans looks for trivy-operator's VulnerabilityReports until they
// are served, then keeps a cache of them. Their absence is no failure:
// most clusters run no scanner, and image-vulnerabilities then judges
// nothing at admission (View's Keeps says so).
func (w *Watch) watchScans(ctx context.Context) {
	reports := w.scans.VulnerabilityReports("")
	said := false
	for {
		_, err := reports.List(ctx, metav1.ListOptions{Limit: 1})
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return
		}
		if !said {
			said = true
			switch {
			case apierrors.IsNotFound(err):
				w.log.Info("context rules: trivy-operator's VulnerabilityReports are not served in this cluster, so image-vulnerabilities judges nothing at admission; looking again every "+w.ScanRetry.String(),
					"resource", trivy.Resource)
			case apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err):
				w.log.Warn("context rules: plimsoll may not list VulnerabilityReports, so image-vulnerabilities judges nothing at admission: grant get, list and watch on them (the chart's contextRules.enabled does)",
					"resource", trivy.Resource, "error", err.Error())
			default:
				w.log.Warn("context rules: cannot list VulnerabilityReports; image-vulnerabilities judges nothing at admission until it can",
					"resource", trivy.Resource, "error", err.Error())
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(w.ScanRetry):
		}
	}
	inf := kube.NewInformer(w.client, reports, kube.InformerOptions{Transform: Strip})
	if err := inf.AddIndexers(cache.Indexers{trivy.KeyIndex: trivy.IndexByImage}); err != nil {
		w.log.Error("context rules: cannot index VulnerabilityReports", "error", err.Error())
		return
	}
	i := &informer{resource: trivy.Resource, inf: inf}
	_ = inf.SetWatchErrorHandlerWithContext(w.failed(i))
	go inf.RunWithContext(ctx)
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		return
	}
	idx := inf.GetIndexer()
	w.scanStore.Store(&idx)
	w.log.Info("context rules: VulnerabilityReports are cached; image-vulnerabilities runs at admission")
	settle()
}

// settle returns to the operating system the memory that filling the
// caches took and no longer needs. An informer holds every object of its
// first list (or watch-list) whole until the list ends, and strips them
// only then: with 10,000 VulnerabilityReports that is a hundred MB or more
// of garbage, which the collector frees but the runtime would hand back to
// the system only slowly, leaving the resident set (what a memory limit
// counts) far above what the caches keep (docs/performance.md). One forced
// collection per initial sync, a few milliseconds, at start.
func settle() { debug.FreeOSMemory() }

// View returns the caches as a cluster.View, and false until every one
// has synced (or when Start was never called): the context rules then do
// not run, rather than judge against a cache that may be missing what
// exists. It never waits.
func (w *Watch) View() (cluster.View, bool) {
	if !w.synced.Load() {
		return nil, false
	}
	s := w.stores
	if idx := w.scanStore.Load(); idx != nil {
		s.Scans = *idx
	}
	return s.View(), true
}

// Synced reports whether every cache has synced.
func (w *Watch) Synced() bool { return w.synced.Load() }

// failed is the informer i's error handler: the first failure of each
// cache is a warning (the context rules are skipped until it lists, and
// a missing permission says which), the retries that follow are debug.
func (w *Watch) failed(i *informer) cache.WatchErrorHandlerWithContext {
	return func(ctx context.Context, _ *cache.Reflector, err error) {
		if ctx.Err() != nil {
			return // shutting down
		}
		n := i.failures.Add(1)
		switch {
		case n > 1 || w.synced.Load():
			w.log.Debug("context rules: listing or watching failed; retrying", "resource", i.resource, "error", err.Error())
		case apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err):
			w.log.Warn("context rules: plimsoll may not list or watch this resource, so the context rules are skipped at admission until it can: grant get, list and watch on it (the chart's contextRules.enabled does)",
				"resource", i.resource, "error", err.Error())
		default:
			w.log.Warn("context rules: cannot list or watch this resource, so the context rules are skipped at admission until it can; retrying",
				"resource", i.resource, "error", err.Error())
		}
	}
}

// Strip is the informers' transform: it keeps of each object only what
// the context rules read. Everything keeps its name, namespace, UID,
// resourceVersion (the informer resumes its watch from it) and labels;
// a budget its spec; an autoscaler its spec but its scaling behavior;
// a workload spec.replicas, spec.selector, its pod template's labels,
// pod-level resources and, of every container and init container, the
// name, restartPolicy and resources. Managed fields, annotations, owner
// references and status go. Strip builds a new object, so running it
// twice changes nothing more; what it does not know it returns as is.
func Strip(obj any) (any, error) {
	switch o := obj.(type) {
	case *policyv1.PodDisruptionBudget:
		return &policyv1.PodDisruptionBudget{TypeMeta: o.TypeMeta, ObjectMeta: keptMeta(o.ObjectMeta), Spec: o.Spec}, nil
	case *autoscalingv2.HorizontalPodAutoscaler:
		spec := o.Spec
		spec.Behavior = nil
		return &autoscalingv2.HorizontalPodAutoscaler{TypeMeta: o.TypeMeta, ObjectMeta: keptMeta(o.ObjectMeta), Spec: spec}, nil
	case *appsv1.Deployment:
		return &appsv1.Deployment{TypeMeta: o.TypeMeta, ObjectMeta: keptMeta(o.ObjectMeta), Spec: appsv1.DeploymentSpec{
			Replicas: o.Spec.Replicas, Selector: o.Spec.Selector, Template: keptTemplate(o.Spec.Template),
		}}, nil
	case *appsv1.StatefulSet:
		return &appsv1.StatefulSet{TypeMeta: o.TypeMeta, ObjectMeta: keptMeta(o.ObjectMeta), Spec: appsv1.StatefulSetSpec{
			Replicas: o.Spec.Replicas, Selector: o.Spec.Selector, Template: keptTemplate(o.Spec.Template),
		}}, nil
	case *appsv1.ReplicaSet:
		return &appsv1.ReplicaSet{TypeMeta: o.TypeMeta, ObjectMeta: keptMeta(o.ObjectMeta), Spec: appsv1.ReplicaSetSpec{
			Replicas: o.Spec.Replicas, Selector: o.Spec.Selector, Template: keptTemplate(o.Spec.Template),
		}}, nil
	case *corev1.ReplicationController:
		rc := &corev1.ReplicationController{TypeMeta: o.TypeMeta, ObjectMeta: keptMeta(o.ObjectMeta), Spec: corev1.ReplicationControllerSpec{
			Replicas: o.Spec.Replicas, Selector: o.Spec.Selector,
		}}
		if o.Spec.Template != nil {
			t := keptTemplate(*o.Spec.Template)
			rc.Spec.Template = &t
		}
		return rc, nil
	case *corev1.ServiceAccount:
		// Whether it mounts its token, nothing else: not its labels, not
		// the names of its Secrets.
		m := keptMeta(o.ObjectMeta)
		m.Labels = nil
		return &corev1.ServiceAccount{TypeMeta: o.TypeMeta, ObjectMeta: m, AutomountServiceAccountToken: o.AutomountServiceAccountToken}, nil
	case *trivy.VulnerabilityReport:
		return trivy.Strip(o)
	case *networkingv1.NetworkPolicy:
		// Which Pods it selects and which ways it isolates them, not its
		// rules: the policy types are written out (cluster.PolicyTypes)
		// before the egress rules that decide them when unset go.
		in, out := cluster.PolicyTypes(o)
		var types []networkingv1.PolicyType
		if in {
			types = append(types, networkingv1.PolicyTypeIngress)
		}
		if out {
			types = append(types, networkingv1.PolicyTypeEgress)
		}
		m := keptMeta(o.ObjectMeta)
		m.Labels = nil
		return &networkingv1.NetworkPolicy{TypeMeta: o.TypeMeta, ObjectMeta: m, Spec: networkingv1.NetworkPolicySpec{
			PodSelector: o.Spec.PodSelector, PolicyTypes: types,
		}}, nil
	}
	return obj, nil
}

func keptMeta(m metav1.ObjectMeta) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: m.Name, Namespace: m.Namespace, UID: m.UID, ResourceVersion: m.ResourceVersion, Labels: m.Labels}
}

func keptTemplate(t corev1.PodTemplateSpec) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: t.Labels},
		Spec: corev1.PodSpec{
			InitContainers: keptContainers(t.Spec.InitContainers),
			Containers:     keptContainers(t.Spec.Containers),
			Resources:      t.Spec.Resources,
		},
	}
}

func keptContainers(cs []corev1.Container) []corev1.Container {
	if cs == nil {
		return nil
	}
	out := make([]corev1.Container, len(cs))
	for i, c := range cs {
		out[i] = corev1.Container{Name: c.Name, RestartPolicy: c.RestartPolicy, Resources: c.Resources}
	}
	return out
}
