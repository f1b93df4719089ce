package validate

// cpu-requests: every container, sidecar and init container sets
// resources.requests.cpu (or a cpu limit, which the API server copies into
// the request), so the scheduler places the Pod where it fits.

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/workload"
)

var cpuRequests = &Rule{
	ID:          "cpu-requests",
	Category:    "efficiency",
	Severity:    policy.Error,
	Description: "Every container requests CPU, so the scheduler can place the Pod where it fits.",
	Remediation: "Set resources.requests.cpu on each container, e.g. 100m.",
	Defaulted:   "yes",
	Check: func(t *workload.Template, _ *policy.Policy) []Finding {
		return checkResource(t, corev1.ResourceCPU, false, "100m")
	},
}
