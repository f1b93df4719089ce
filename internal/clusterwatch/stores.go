// Package clusterwatch feeds cluster.View from informer caches: the
// background audit's listers and the caches `plimsoll serve` keeps of
// exactly the kinds the context rules read.
package clusterwatch

import (
	"slices"
	"strings"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/cache"

	"github.com/plimsoll/plimsoll/cluster"
	"github.com/plimsoll/plimsoll/internal/trivy"
	"github.com/plimsoll/plimsoll/workload"
)

// Stores are the caches a View reads, each indexed by namespace
// (cache.NamespaceIndex) and keyed namespace/name. A nil store knows of
// nothing.
type Stores struct {
	Budgets, Autoscalers, Quotas, LimitRanges, ServiceAccounts, NetworkPolicies cache.Indexer
	// Scans are trivy-operator's VulnerabilityReports, indexed also by
	// image (trivy.KeyIndex). Nil when the cluster has none (the
	// custom resource is not installed).
	Scans cache.Indexer
	// Workloads are the caches of the kinds an autoscaler can target
	// (cluster.Scaled), by kind.
	Workloads map[string]cache.Indexer
	// Source names them in messages ("the cluster").
	Source string
}

// View returns a cluster.View over s. It reads the caches as they are at
// each call and never waits for them.
func (s Stores) View() cluster.View { return view{s} }

type view struct{ s Stores }

func byNamespace[T any](idx cache.Indexer, ns string) []T {
	if idx == nil {
		return nil
	}
	items, err := idx.ByIndex(cache.NamespaceIndex, ns)
	if err != nil {
		return nil
	}
	out := make([]T, 0, len(items))
	for _, item := range items {
		if x, ok := item.(T); ok {
			out = append(out, x)
		}
	}
	return out
}

func (v view) DisruptionBudgets(ns string) []*policyv1.PodDisruptionBudget {
	return sortedByName(byNamespace[*policyv1.PodDisruptionBudget](v.s.Budgets, ns))
}

func (v view) Autoscalers(ns string) []*autoscalingv2.HorizontalPodAutoscaler {
	return sortedByName(byNamespace[*autoscalingv2.HorizontalPodAutoscaler](v.s.Autoscalers, ns))
}

func (v view) ResourceQuotas(ns string) int {
	return len(byNamespace[*corev1.ResourceQuota](v.s.Quotas, ns))
}

func (v view) LimitRanges(ns string) int {
	return len(byNamespace[*corev1.LimitRange](v.s.LimitRanges, ns))
}

func (v view) Workload(ns, kind, name string) *workload.Template {
	idx := v.s.Workloads[kind]
	if idx == nil {
		return nil
	}
	item, ok, err := idx.GetByKey(ns + "/" + name)
	if err != nil || !ok {
		return nil
	}
	obj, ok := item.(runtime.Object)
	if !ok {
		return nil
	}
	if _, rc := obj.(*corev1.ReplicationController); rc {
		// Find fills in a missing template: never write to the cache.
		obj = obj.DeepCopyObject()
	}
	t, err := workload.Find(obj)
	if err != nil {
		return nil
	}
	return t
}

func (v view) Keeps(kind string) bool {
	switch kind {
	case "ServiceAccount":
		return v.s.ServiceAccounts != nil
	case "NetworkPolicy":
		return v.s.NetworkPolicies != nil
	case trivy.Kind:
		return v.s.Scans != nil
	}
	return v.s.Workloads[kind] != nil
}

func (v view) NetworkPolicies(ns string) []*networkingv1.NetworkPolicy {
	return sortedByName(byNamespace[*networkingv1.NetworkPolicy](v.s.NetworkPolicies, ns))
}

// ImageScans returns the reports about image, in every namespace, in a
// fixed order.
func (v view) ImageScans(image string) []cluster.ImageScan {
	if v.s.Scans == nil {
		return nil
	}
	items, err := v.s.Scans.ByIndex(trivy.KeyIndex, cluster.ScanKey(image))
	if err != nil {
		return nil
	}
	out := make([]cluster.ImageScan, 0, len(items))
	for _, item := range items {
		if r, ok := item.(*trivy.VulnerabilityReport); ok {
			out = append(out, r.ImageScan())
		}
	}
	slices.SortFunc(out, func(a, b cluster.ImageScan) int {
		return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
	})
	return out
}

func (v view) ServiceAccount(ns, name string) *corev1.ServiceAccount {
	if v.s.ServiceAccounts == nil {
		return nil
	}
	item, ok, err := v.s.ServiceAccounts.GetByKey(ns + "/" + name)
	if err != nil || !ok {
		return nil
	}
	sa, _ := item.(*corev1.ServiceAccount)
	return sa
}

func (v view) Source() string { return v.s.Source }

// sortedByName orders what a cache returns in no order, so that messages
// and findings do not change from one call to the next.
func sortedByName[T interface{ GetName() string }](xs []T) []T {
	slices.SortFunc(xs, func(a, b T) int {
		switch {
		case a.GetName() < b.GetName():
			return -1
		case a.GetName() > b.GetName():
			return 1
		}
		return 0
	})
	return xs
}
