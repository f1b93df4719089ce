package validate

// hpa-range: a HorizontalPodAutoscaler can scale: its maxReplicas is above
// its minReplicas. With equal bounds it holds the count fixed and only
// costs the reader the belief that it scales. Checked fields:
// spec.maxReplicas against spec.minReplicas (unset means 1).

import (
	"fmt"

	autoscalingv2 "k8s.io/api/autoscaling/v2"

	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/workload"
)

var hpaRange = &Rule{
	ID:          "hpa-range",
	Category:    "efficiency",
	Severity:    policy.Warning,
	Description: "HorizontalPodAutoscalers can scale: maxReplicas is above minReplicas.",
	Remediation: "Raise spec.maxReplicas above spec.minReplicas (or drop the autoscaler and set spec.replicas).",
	Defaulted:   "no",
	Kinds:       []string{"HorizontalPodAutoscaler"},
	Check: func(t *workload.Template, _ *policy.Policy) []Finding {
		hpa, ok := t.Object.(*autoscalingv2.HorizontalPodAutoscaler)
		if !ok {
			return nil
		}
		lo, hi := minReplicas(hpa), hpa.Spec.MaxReplicas
		if hi > lo {
			return nil
		}
		return []Finding{{
			Path:    "spec.maxReplicas",
			Scope:   "autoscaler",
			Problem: fmt.Sprintf("cannot scale %s: maxReplicas %d is not above minReplicas %d", targetOf(hpa), hi, lo),
			Fix:     fmt.Sprintf("set spec.maxReplicas above %d (for example %d)", lo, max(2*lo, lo+1)),
		}}
	},
}
