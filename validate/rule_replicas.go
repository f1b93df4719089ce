package validate

// replicas: a Deployment or StatefulSet runs at least two replicas, so a
// node drain, an eviction or a rollout never leaves it with no Pod.
// Checked field: spec.replicas of Deployments and StatefulSets (unset
// means 1). Allowed values: 2 or more. Where the cluster is known, a
// workload that a HorizontalPodAutoscaler scales is left to the
// autoscaler's minReplicas (unset means 1), and replicas-with-hpa asks
// that spec.replicas be left unset.

import (
	"fmt"

	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/workload"
)

var replicas = &Rule{
	ID:          "replicas",
	Category:    "reliability",
	Severity:    policy.Warning,
	Description: "Deployments and StatefulSets run at least two replicas, so a drain or a rollout never leaves none.",
	Remediation: "Set spec.replicas: 2 or more (or let a HorizontalPodAutoscaler with minReplicas: 2 scale it).",
	Defaulted:   "no",
	Check:       checkReplicas,
	InContext: func(t *workload.Template, a Around, p *policy.Policy) []Finding {
		hpa := autoscaler(t, a)
		if hpa == nil {
			return checkReplicas(t, p)
		}
		if t.Kind != "Deployment" && t.Kind != "StatefulSet" || minReplicas(hpa) >= 2 {
			return nil
		}
		// The autoscaler decides the count: creating one with
		// minReplicas 1 must not be a way around this rule.
		return []Finding{{
			Path:    "spec.replicas",
			Scope:   "workload",
			Problem: fmt.Sprintf("is scaled by HorizontalPodAutoscaler %q down to %d replica, so a node drain or a rollout takes it down", hpa.Name, minReplicas(hpa)),
			Fix:     fmt.Sprintf("set spec.minReplicas: 2 on HorizontalPodAutoscaler %q", hpa.Name),
		}}
	},
}

func checkReplicas(t *workload.Template, _ *policy.Policy) []Finding {
	if (t.Kind != "Deployment" && t.Kind != "StatefulSet") || t.Replicas == nil || *t.Replicas >= 2 {
		return nil
	}
	problem := fmt.Sprintf("runs %d replicas, so it is down whenever its Pod is", *t.Replicas)
	if *t.Replicas == 1 {
		problem = "runs a single replica (replicas: 1, or unset), so a node drain or a rollout takes it down"
	}
	return []Finding{{
		Path:    "spec.replicas",
		Problem: problem,
		Fix:     "set spec.replicas: 2 or more, or scale it with a HorizontalPodAutoscaler whose minReplicas is 2",
		Scope:   "workload",
	}}
}
