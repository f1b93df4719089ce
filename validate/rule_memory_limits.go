package validate

// memory-limits: every container, sidecar and init container sets
// resources.limits.memory, so a leak is stopped by the OOM killer in its own
// container instead of taking the node down.

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/workload"
)

var memoryLimits = &Rule{
	ID:          "memory-limits",
	Category:    "efficiency",
	Severity:    policy.Error,
	Description: "Every container limits its memory, so a leak kills its own container, not the node.",
	Remediation: "Set resources.limits.memory on each container, e.g. 512Mi.",
	Defaulted:   "yes",
	Check: func(t *workload.Template, _ *policy.Policy) []Finding {
		return checkResource(t, corev1.ResourceMemory, true, "512Mi")
	},
}
