package validate

// memory-requests: every container, sidecar and init container sets
// resources.requests.memory (or a memory limit, which the API server copies
// into the request), so the scheduler does not overcommit the node.

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/workload"
)

var memoryRequests = &Rule{
	ID:          "memory-requests",
	Category:    "efficiency",
	Severity:    policy.Error,
	Description: "Every container requests memory, so the scheduler does not overcommit the node.",
	Remediation: "Set resources.requests.memory on each container, e.g. 128Mi.",
	Defaulted:   "yes",
	Check: func(t *workload.Template, _ *policy.Policy) []Finding {
		return checkResource(t, corev1.ResourceMemory, false, "128Mi")
	},
}
