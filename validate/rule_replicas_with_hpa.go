package validate

// replicas-with-hpa: a workload that a HorizontalPodAutoscaler scales does
// not set spec.replicas. The autoscaler owns the count; a replica count in
// the manifest puts it back at every apply (kubectl apply, a GitOps sync,
// a Helm upgrade), dropping capacity the autoscaler had added. Read from
// the cluster: the autoscaler whose scaleTargetRef names the workload.

import (
	"fmt"

	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/workload"
)

var replicasWithHPA = &Rule{
	ID:          "replicas-with-hpa",
	Category:    "reliability",
	Severity:    policy.Warning,
	Description: "Workloads scaled by a HorizontalPodAutoscaler leave spec.replicas unset, so that an apply never resets the autoscaler's count.",
	Remediation: "Remove spec.replicas from the manifest; the HorizontalPodAutoscaler's minReplicas and maxReplicas bound the count.",
	Defaulted:   "no",
	InContext: func(t *workload.Template, a Around, _ *policy.Policy) []Finding {
		r := specReplicas(t)
		if r == nil {
			return nil
		}
		hpa := autoscaler(t, a)
		if hpa == nil {
			return nil
		}
		return []Finding{{
			Path:  "spec.replicas",
			Scope: "workload",
			Problem: fmt.Sprintf("sets replicas: %d although HorizontalPodAutoscaler %q scales it, so every apply resets the count the autoscaler chose",
				*r, hpa.Name),
			Fix: fmt.Sprintf("remove spec.replicas from the manifest (HorizontalPodAutoscaler %q keeps %d to %d)", hpa.Name, minReplicas(hpa), hpa.Spec.MaxReplicas),
		}}
	},
}
