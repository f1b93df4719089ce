package validate

// cpu-limits: every container, sidecar and init container sets
// resources.limits.cpu, so one busy Pod cannot starve its neighbours.

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/workload"
)

var cpuLimits = &Rule{
	ID:          "cpu-limits",
	Category:    "efficiency",
	Severity:    policy.Error,
	Description: "Every container limits its CPU, so one busy Pod cannot starve its neighbours.",
	Remediation: "Set resources.limits.cpu on each container, e.g. 500m.",
	Defaulted:   "yes",
	Check: func(t *workload.Template, _ *policy.Policy) []Finding {
		return checkResource(t, corev1.ResourceCPU, true, "500m")
	},
}
