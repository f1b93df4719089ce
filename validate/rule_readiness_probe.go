package validate

// readiness-probe: every regular container of a long-running workload has a
// readinessProbe, so traffic reaches it only once it can serve. Defaulted as
// a TCP check where the container declares a TCP port.

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/workload"
)

var readinessProbe = &Rule{
	ID:          "readiness-probe",
	Category:    "reliability",
	Severity:    policy.Warning,
	Description: "Every long-running container has a readiness probe, so traffic reaches it only once it can serve.",
	Remediation: "Add readinessProbe (httpGet on a readiness endpoint, or tcpSocket on the serving port).",
	Defaulted:   "where the container declares a TCP port",
	Check: func(t *workload.Template, _ *policy.Policy) []Finding {
		return checkProbe(t, "readinessProbe", func(c *corev1.Container) *corev1.Probe { return c.ReadinessProbe })
	},
}
