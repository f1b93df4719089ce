package validate

// liveness-probe: every regular container of a long-running workload has a
// livenessProbe, so the kubelet restarts it when it hangs. Defaulted as a
// TCP check where the container declares a TCP port.

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/workload"
)

var livenessProbe = &Rule{
	ID:          "liveness-probe",
	Category:    "reliability",
	Severity:    policy.Warning,
	Description: "Every long-running container has a liveness probe, so a hung process is restarted.",
	Remediation: "Add livenessProbe (httpGet on a health endpoint, or tcpSocket on the serving port).",
	Defaulted:   "where the container declares a TCP port",
	Check: func(t *workload.Template, _ *policy.Policy) []Finding {
		return checkProbe(t, "livenessProbe", func(c *corev1.Container) *corev1.Probe { return c.LivenessProbe })
	},
}
