package validate

// rollout-strategy: a Deployment, StatefulSet or DaemonSet of two or more
// replicas keeps capacity while it updates. Recreate (Deployment) takes
// every Pod down before starting the new ones; OnDelete (StatefulSet,
// DaemonSet) never rolls out until someone deletes Pods by hand; a
// maxUnavailable that resolves to the whole replica count (percentages
// against spec.replicas, rounded down as the controllers do) may take
// them all down at once. Checked fields: spec.strategy of a Deployment,
// spec.updateStrategy of a StatefulSet or DaemonSet, against
// spec.replicas — or, where the cluster is known, the minReplicas of the
// autoscaler that scales it.

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/workload"
)

var rolloutStrategy = &Rule{
	ID:          "rollout-strategy",
	Category:    "reliability",
	Severity:    policy.Warning,
	Description: "Deployments, StatefulSets and DaemonSets of two or more replicas keep capacity while they update: a rolling update whose maxUnavailable is below the replica count.",
	Remediation: "Use the RollingUpdate strategy with maxUnavailable: 1 (or 25%) and, for Deployments, maxSurge: 1.",
	Defaulted:   "no",
	Check: func(t *workload.Template, _ *policy.Policy) []Finding {
		return rollout(t, nil)
	},
	InContext: func(t *workload.Template, a Around, _ *policy.Policy) []Finding {
		return rollout(t, autoscaler(t, a))
	},
}

func rollout(t *workload.Template, hpa *autoscalingv2.HorizontalPodAutoscaler) []Finding {
	count, _ := runs(t, hpa)
	if count < 2 && t.Kind != "DaemonSet" {
		return nil
	}
	switch o := t.Object.(type) {
	case *appsv1.Deployment:
		if count < 2 {
			return nil
		}
		s := o.Spec.Strategy
		if s.Type == appsv1.RecreateDeploymentStrategyType {
			return []Finding{{
				Path: "spec.strategy.type", Scope: "workload",
				Problem: fmt.Sprintf("updates with Recreate, so every one of its %d replicas is down before the new ones start", count),
				Fix:     "set spec.strategy: {type: RollingUpdate, rollingUpdate: {maxUnavailable: 1, maxSurge: 1}} (keep Recreate only for Pods that must never run side by side)",
			}}
		}
		mu := intstr.FromString("25%")
		if s.RollingUpdate != nil && s.RollingUpdate.MaxUnavailable != nil {
			mu = *s.RollingUpdate.MaxUnavailable
		}
		return unavailable(mu, count, "spec.strategy.rollingUpdate.maxUnavailable")
	case *appsv1.StatefulSet:
		if count < 2 {
			return nil
		}
		s := o.Spec.UpdateStrategy
		if s.Type == appsv1.OnDeleteStatefulSetStrategyType {
			return onDelete(count)
		}
		if s.RollingUpdate != nil && s.RollingUpdate.MaxUnavailable != nil {
			return unavailable(*s.RollingUpdate.MaxUnavailable, count, "spec.updateStrategy.rollingUpdate.maxUnavailable")
		}
	case *appsv1.DaemonSet:
		// One Pod per node: the count is the cluster's, not the object's.
		s := o.Spec.UpdateStrategy
		if s.Type == appsv1.OnDeleteDaemonSetStrategyType {
			return []Finding{{
				Path: "spec.updateStrategy.type", Scope: "workload",
				Problem: "updates OnDelete, so a new version reaches a node only when someone deletes its Pod by hand",
				Fix:     "set spec.updateStrategy: {type: RollingUpdate, rollingUpdate: {maxUnavailable: 1}}",
			}}
		}
		if s.RollingUpdate != nil && s.RollingUpdate.MaxUnavailable != nil {
			if mu := *s.RollingUpdate.MaxUnavailable; mu.Type == intstr.String && mu.StrVal == "100%" {
				return []Finding{{
					Path: "spec.updateStrategy.rollingUpdate.maxUnavailable", Scope: "workload",
					Problem: "may take its Pod down on every node at once while it updates (maxUnavailable: 100%)",
					Fix:     "set spec.updateStrategy.rollingUpdate.maxUnavailable: 1 (or a percentage below 100%)",
				}}
			}
		}
	}
	return nil
}

func onDelete(count int32) []Finding {
	return []Finding{{
		Path: "spec.updateStrategy.type", Scope: "workload",
		Problem: fmt.Sprintf("updates OnDelete, so a new version reaches its %d replicas only when someone deletes them by hand", count),
		Fix:     "set spec.updateStrategy: {type: RollingUpdate}",
	}}
}

// unavailable judges a maxUnavailable against count, rounding a
// percentage down as the Deployment and StatefulSet controllers do.
func unavailable(mu intstr.IntOrString, count int32, path string) []Finding {
	n, err := intstr.GetScaledValueFromIntOrPercent(&mu, int(count), false)
	if err != nil || int32(n) < count {
		return nil
	}
	return []Finding{{
		Path: path, Scope: "workload",
		Problem: fmt.Sprintf("may take all %d replicas down at once while it updates (maxUnavailable: %s)", count, mu.String()),
		Fix:     fmt.Sprintf("set %s: 1 (or a percentage that leaves Pods running: 25%%)", path),
	}}
}
