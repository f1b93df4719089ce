// Package cluster is what plimsoll knows of the objects around the one it
// judges: the PodDisruptionBudgets that select a workload's Pods, the
// HorizontalPodAutoscaler that scales it, the workload an autoscaler
// targets, the namespace's ResourceQuotas and LimitRanges. The context
// rules (validate.Rule.InContext) read them through View, one read-only
// interface with three sources:
//
//   - `plimsoll check`: every document of the run (Objects), so a chart
//     rendered by `helm template` is judged as a whole;
//   - `plimsoll audit`: the cluster, through its listers;
//   - `plimsoll serve`: informer caches stripped to what the rules read.
//
// The package is pure: no client, no I/O. The sources that list and watch
// live with the commands that own a client.
package cluster

import (
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/plimsoll/plimsoll/workload"
)

// View answers the questions context rules ask about a namespace. Its
// answers are what its source knows: a check run knows only the
// documents it was given, a cache only what it has seen. Implementations
// are safe for concurrent reads; callers never change what they return.
type View interface {
	// DisruptionBudgets returns the PodDisruptionBudgets of namespace ns.
	DisruptionBudgets(ns string) []*policyv1.PodDisruptionBudget
	// Autoscalers returns the HorizontalPodAutoscalers of namespace ns.
	Autoscalers(ns string) []*autoscalingv2.HorizontalPodAutoscaler
	// Workload returns the pod template of the workload of that kind
	// (Deployment, StatefulSet, ReplicaSet, ReplicationController) and
	// name in ns, or nil when the source knows of none.
	Workload(ns, kind, name string) *workload.Template
	// ServiceAccount returns the ServiceAccount name of ns, or nil when
	// the source knows of none.
	ServiceAccount(ns, name string) *corev1.ServiceAccount
	// Keeps reports whether the source knows the objects of kind (a
	// workload kind, ServiceAccount, NetworkPolicy or
	// VulnerabilityReport) at all: the webhook's caches keep
	// Deployments and StatefulSets, not the ReplicaSets every rollout
	// leaves behind, so a nil Workload of a kind it does not keep says
	// nothing.
	Keeps(kind string) bool
	// NetworkPolicies returns the NetworkPolicies of namespace ns.
	NetworkPolicies(ns string) []*networkingv1.NetworkPolicy
	// ImageScans returns what scanners reported about image, from every
	// namespace: the VulnerabilityReports whose artifact is the image
	// (matched as ScanKeys says).
	ImageScans(image string) []ImageScan
	// ResourceQuotas and LimitRanges count those objects in ns.
	ResourceQuotas(ns string) int
	LimitRanges(ns string) int
	// Source names where the answers come from, for messages about what
	// is missing: "the documents checked", "the cluster".
	Source() string
}

// BudgetsSelecting returns the PodDisruptionBudgets of ns whose selector
// matches Pods labelled podLabels, by policy/v1's semantics: an empty
// selector selects every Pod of the namespace, a missing one none.
func BudgetsSelecting(v View, ns string, podLabels map[string]string) []*policyv1.PodDisruptionBudget {
	var out []*policyv1.PodDisruptionBudget
	set := labels.Set(podLabels)
	for _, pdb := range v.DisruptionBudgets(ns) {
		if pdb.Spec.Selector == nil {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		if err != nil { // the API server refuses such a selector
			continue
		}
		if sel.Matches(set) {
			out = append(out, pdb)
		}
	}
	return out
}

// Isolation says which directions of a Pod's traffic NetworkPolicies
// restrict.
type Isolation struct {
	// Ingress and Egress are the policies (by name) that isolate the Pod
	// in that direction; none means all traffic that way is allowed.
	Ingress, Egress []string
}

// PolicyTypes returns the directions np isolates the Pods it selects in,
// by networking/v1's semantics: its policyTypes, or when they are unset
// (a manifest the API server has not defaulted) Ingress, and Egress too
// when it has egress rules. A policy with no ingress rules still
// isolates for ingress: it denies all of it.
func PolicyTypes(np *networkingv1.NetworkPolicy) (ingress, egress bool) {
	if len(np.Spec.PolicyTypes) == 0 {
		return true, len(np.Spec.Egress) > 0
	}
	for _, t := range np.Spec.PolicyTypes {
		switch t {
		case networkingv1.PolicyTypeIngress:
			ingress = true
		case networkingv1.PolicyTypeEgress:
			egress = true
		}
	}
	return ingress, egress
}

// IsolationOf returns which NetworkPolicies of ns select Pods labelled
// podLabels, by direction. An empty podSelector selects every Pod of the
// namespace; a selector the API server would refuse selects none.
func IsolationOf(v View, ns string, podLabels map[string]string) Isolation {
	var iso Isolation
	set := labels.Set(podLabels)
	for _, np := range v.NetworkPolicies(ns) {
		sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
		if err != nil || !sel.Matches(set) {
			continue
		}
		in, out := PolicyTypes(np)
		if in {
			iso.Ingress = append(iso.Ingress, np.Name)
		}
		if out {
			iso.Egress = append(iso.Egress, np.Name)
		}
	}
	return iso
}

// AutoscalerOf returns the HorizontalPodAutoscaler of ns whose
// scaleTargetRef names the workload kind/name of API group group, or nil.
// When several do (the autoscalers then fight), the first by name.
func AutoscalerOf(v View, ns, group, kind, name string) *autoscalingv2.HorizontalPodAutoscaler {
	var found *autoscalingv2.HorizontalPodAutoscaler
	for _, hpa := range v.Autoscalers(ns) {
		ref := hpa.Spec.ScaleTargetRef
		if ref.Kind != kind || ref.Name != name || groupOf(ref.APIVersion) != group {
			continue
		}
		if found == nil || hpa.Name < found.Name {
			found = hpa
		}
	}
	return found
}

// groupOf returns the API group of an apiVersion ("apps/v1" → "apps",
// "v1" → "").
func groupOf(apiVersion string) string {
	for i := 0; i < len(apiVersion); i++ {
		if apiVersion[i] == '/' {
			return apiVersion[:i]
		}
	}
	return ""
}

// GroupOf returns the API group of a workload kind that can be scaled:
// "apps" for Deployment, StatefulSet and ReplicaSet, "" for
// ReplicationController.
func GroupOf(kind string) string {
	if kind == "ReplicationController" {
		return ""
	}
	return "apps"
}
