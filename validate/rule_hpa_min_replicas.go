package validate

// hpa-min-replicas: a HorizontalPodAutoscaler keeps at least two
// replicas, so that scaling down at night never leaves a single Pod for a
// node drain or a crash to take. Checked field: spec.minReplicas (unset
// means 1).

import (
	"fmt"

	autoscalingv2 "k8s.io/api/autoscaling/v2"

	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/workload"
)

var hpaMinReplicas = &Rule{
	ID:          "hpa-min-replicas",
	Category:    "reliability",
	Severity:    policy.Warning,
	Description: "HorizontalPodAutoscalers keep at least two replicas (minReplicas unset means 1).",
	Remediation: "Set spec.minReplicas: 2 or more.",
	Defaulted:   "no",
	Kinds:       []string{"HorizontalPodAutoscaler"},
	Check: func(t *workload.Template, _ *policy.Policy) []Finding {
		hpa, ok := t.Object.(*autoscalingv2.HorizontalPodAutoscaler)
		if !ok {
			return nil
		}
		n := minReplicas(hpa)
		if n >= 2 {
			return nil
		}
		problem := fmt.Sprintf("may scale %s down to %d replica", targetOf(hpa), n)
		if hpa.Spec.MinReplicas == nil {
			problem += " (minReplicas unset means 1)"
		}
		return []Finding{{
			Path:    "spec.minReplicas",
			Scope:   "autoscaler",
			Problem: problem + ", so one node drain or crash takes it down",
			Fix:     "set spec.minReplicas: 2",
		}}
	},
}

// targetOf names an autoscaler's target: `Deployment "web"`.
func targetOf(hpa *autoscalingv2.HorizontalPodAutoscaler) string {
	return fmt.Sprintf("%s %q", hpa.Spec.ScaleTargetRef.Kind, hpa.Spec.ScaleTargetRef.Name)
}
