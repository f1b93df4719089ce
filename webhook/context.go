package webhook

// The context rules at admission (DESIGN.md, "Context rules"): the rules
// that read the objects around the one judged — the budgets selecting a
// workload's Pods, the autoscaler scaling it, the workload an autoscaler
// targets — read them from caches of the cluster (ClusterView, fed by
// internal/clusterwatch). At admission they only warn (their error
// severity takes effect in `plimsoll check` and `plimsoll audit`), and
// they never wait: while the caches have not synced, or where plimsoll
// serve has no access to the cluster, a request is judged without them,
// its decision line says so ("context": "skipped", "context_reason") and
// plimsoll_context_rules_skipped_total counts it.

import (
	"context"
	"slices"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/plimsoll/plimsoll/cluster"
	"github.com/plimsoll/plimsoll/workload"
)

// ClusterView is what the context rules read at admission: a cache of the
// cluster (internal/clusterwatch.Watch).
type ClusterView interface {
	// View returns the caches as a cluster.View, and false while they
	// have not all synced. It never waits.
	View() (cluster.View, bool)
}

// ClusterWatch is a ClusterView that the server starts when the policy in
// force turns the context rules on.
type ClusterWatch interface {
	ClusterView
	// Start begins listing and watching until ctx ends, and returns at
	// once; only the first call does anything.
	Start(ctx context.Context)
}

// Why a request was judged without the context rules: the label values of
// plimsoll_context_rules_skipped_total and of the decision line's
// context_reason.
const (
	// ContextNotSynced: the caches have not synced yet — plimsoll serve
	// has just started, or it cannot list what they hold (the log says
	// which resource, and why).
	ContextNotSynced = "not_synced"
	// ContextNoCluster: plimsoll serve has no access to the API server
	// (no kubeconfig, not in a cluster), so it keeps no caches.
	ContextNoCluster = "no_cluster"
)

// ContextSkipReasons are the reasons a request is judged without the
// context rules. A policy that turns the context rules off
// (contextRules: false) is no skip: nothing is counted then.
var ContextSkipReasons = []string{ContextNotSynced, ContextNoCluster}

// readsCluster reports whether a context rule judges objects of kind:
// every kind with a pod template (service-account-token reads the Pods'
// ServiceAccount; pod-disruption-budget, replicas-with-hpa, and the
// autoscaler's minReplicas in replicas and rollout-strategy read the
// kinds an autoscaler scales) and HorizontalPodAutoscalers (hpa-target).
// Only for them is the cache read, and a skip counted.
func readsCluster(kind string) bool {
	return kind == "HorizontalPodAutoscaler" || slices.ContainsFunc(workload.Kinds, func(k schema.GroupVersionKind) bool { return k.Kind == kind })
}

// judged reports whether /validate judges objects of gvk: every kind that
// carries a pod template, PodDisruptionBudgets, HorizontalPodAutoscalers
// and ConfigMaps.
// Namespaces are workload.Supported (namespace-quota judges them in
// `plimsoll check` and `plimsoll audit`) but not judged at admission,
// where no cache of ResourceQuotas and LimitRanges is kept.
func judged(gvk schema.GroupVersionKind) bool {
	return workload.Supported(gvk) && (gvk.Group != "" || gvk.Kind != "Namespace")
}

// clusterFor returns the view the context rules read for x, or why there
// is none ("": none is needed — the policy turns them off, or no context
// rule judges x's kind).
func (h *Handler) clusterFor(x *exchange, contextRulesOn bool) (cluster.View, string) {
	if !contextRulesOn || !readsCluster(x.Kind.Kind) {
		return nil, ""
	}
	if h.Cluster == nil {
		return nil, ContextNoCluster
	}
	v, ok := h.Cluster.View()
	if !ok {
		return nil, ContextNotSynced
	}
	return v, ""
}

// contextSkipped says, once per reason, that requests are being judged
// without the context rules; each is counted, and its decision line says
// so.
func (h *Handler) contextSkipped(reason string) {
	h.Metrics.ContextSkipped(reason)
	said := &h.saidNotSynced
	what := "the caches of the cluster have not synced yet"
	if reason == ContextNoCluster {
		said, what = &h.saidNoCluster, "plimsoll serve has no access to the API server"
	}
	if said.CompareAndSwap(false, true) {
		h.Log.Info("context rules skipped: "+what+"; requests are judged without them (counted in plimsoll_context_rules_skipped_total)",
			"context_reason", reason)
	}
}
