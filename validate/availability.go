package validate

// What the availability rules (pod-disruption-budget, replicas-with-hpa,
// rollout-strategy, hpa-*) share: how many replicas a workload runs, as
// it says and as its autoscaler keeps it, and how many evictions a
// budget allows at that count, by the disruption controller's arithmetic.

import (
	"fmt"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/plimsoll/plimsoll/cluster"
	"github.com/plimsoll/plimsoll/workload"
)

// specReplicas returns spec.replicas as the object writes it (nil when
// unset), for the kinds that have one.
func specReplicas(t *workload.Template) *int32 {
	switch o := t.Object.(type) {
	case *appsv1.Deployment:
		return o.Spec.Replicas
	case *appsv1.StatefulSet:
		return o.Spec.Replicas
	case *appsv1.ReplicaSet:
		return o.Spec.Replicas
	case *corev1.ReplicationController:
		return o.Spec.Replicas
	}
	return nil
}

// autoscaler returns the HorizontalPodAutoscaler that scales t, or nil.
func autoscaler(t *workload.Template, a Around) *autoscalingv2.HorizontalPodAutoscaler {
	if !slices.Contains(cluster.Scaled, t.Kind) {
		return nil
	}
	return cluster.AutoscalerOf(a.View, a.Namespace, cluster.GroupOf(t.Kind), t.Kind, t.Meta.Name)
}

// minReplicas is an autoscaler's floor (unset means 1).
func minReplicas(hpa *autoscalingv2.HorizontalPodAutoscaler) int32 {
	if hpa.Spec.MinReplicas == nil {
		return 1
	}
	return *hpa.Spec.MinReplicas
}

// runs returns how many replicas t keeps at least: where an autoscaler
// scales it, its minReplicas, or spec.replicas if that is higher (the
// count the next apply sets); else spec.replicas (unset means 1). A low
// floor on an autoscaler never hides a high count. byAutoscaler says the
// floor is the autoscaler's (for the message: see why).
func runs(t *workload.Template, hpa *autoscalingv2.HorizontalPodAutoscaler) (n int32, byAutoscaler bool) {
	n = 1
	if t.Replicas != nil {
		n = *t.Replicas
	}
	if hpa != nil {
		floor := minReplicas(hpa)
		if r := specReplicas(t); r == nil || *r <= floor {
			return floor, true
		}
	}
	return n, false
}

// why says where a count of runs comes from, for a message. It is
// written only for a finding: the rules run on every request.
func why(n int32, byAutoscaler bool, hpa *autoscalingv2.HorizontalPodAutoscaler) string {
	if byAutoscaler {
		return fmt.Sprintf("is kept at %d or more replicas by HorizontalPodAutoscaler %q", n, hpa.Name)
	}
	return fmt.Sprintf("runs %d replicas", n)
}

// evictions returns how many of replicas healthy Pods a budget lets the
// eviction API evict at once, rounding as the disruption controller does
// (minAvailable percentages up, maxUnavailable percentages up), and the
// budget's setting as written.
func evictions(pdb *policyv1.PodDisruptionBudget, replicas int32) (int32, string) {
	switch {
	case pdb.Spec.MaxUnavailable != nil:
		n, err := intstr.GetScaledValueFromIntOrPercent(pdb.Spec.MaxUnavailable, int(replicas), true)
		if err != nil {
			return 0, "maxUnavailable: " + pdb.Spec.MaxUnavailable.String()
		}
		return int32(max(0, min(n, int(replicas)))), "maxUnavailable: " + pdb.Spec.MaxUnavailable.String()
	case pdb.Spec.MinAvailable != nil:
		n, err := intstr.GetScaledValueFromIntOrPercent(pdb.Spec.MinAvailable, int(replicas), true)
		if err != nil {
			return 0, "minAvailable: " + pdb.Spec.MinAvailable.String()
		}
		return int32(max(0, int(replicas)-n)), "minAvailable: " + pdb.Spec.MinAvailable.String()
	}
	// Neither set: nothing is held back.
	return replicas, "neither minAvailable nor maxUnavailable"
}

// names joins object names for a message: "a", "b".
func names[T interface{ GetName() string }](objs []T) string {
	parts := make([]string, len(objs))
	for i, o := range objs {
		parts[i] = fmt.Sprintf("%q", o.GetName())
	}
	return strings.Join(parts, ", ")
}

// selectorLabels returns the labels a budget should select a workload's
// Pods by: its own selector's matchLabels where it has them, else the
// Pods' labels.
func selectorLabels(t *workload.Template) map[string]string {
	var sel map[string]string
	switch o := t.Object.(type) {
	case *appsv1.Deployment:
		if o.Spec.Selector != nil {
			sel = o.Spec.Selector.MatchLabels
		}
	case *appsv1.StatefulSet:
		if o.Spec.Selector != nil {
			sel = o.Spec.Selector.MatchLabels
		}
	}
	if len(sel) > 0 {
		return sel
	}
	return t.PodMeta.Labels
}

// budgetsSelecting returns the budgets of the namespace that select t's
// Pods.
func budgetsSelecting(a Around, t *workload.Template) []*policyv1.PodDisruptionBudget {
	return cluster.BudgetsSelecting(a.View, a.Namespace, t.PodMeta.Labels)
}

// budgetFor writes, as a YAML flow mapping, the PodDisruptionBudget that
// pod-disruption-budget asks for: the workload's selector, one Pod at a
// time.
func budgetFor(t *workload.Template, ns string) string {
	meta := "{name: " + t.Meta.Name
	if ns != "" {
		meta += ", namespace: " + ns
	}
	return "{apiVersion: policy/v1, kind: PodDisruptionBudget, metadata: " + meta + "}, spec: {maxUnavailable: 1, selector: {matchLabels: " + flowMap(selectorLabels(t)) + "}}}"
}
