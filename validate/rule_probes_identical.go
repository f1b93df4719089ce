package validate

// probes-identical: a container's livenessProbe differs from its
// readinessProbe. Compared fields: the whole probe (handler, timing and
// thresholds), as the API server would store them. A liveness check that
// fails exactly when readiness does restarts a Pod that only needed to be
// taken out of rotation, and under load turns a slowdown into a restart
// storm.

import (
	"k8s.io/apimachinery/pkg/api/equality"

	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/workload"
)

var probesIdentical = &Rule{
	ID:          "probes-identical",
	Category:    "reliability",
	Severity:    policy.Warning,
	Description: "A container's liveness probe is not the same as its readiness probe.",
	Remediation: "Make the livenessProbe more tolerant than the readinessProbe (a higher failureThreshold or periodSeconds, or a cheaper endpoint that only says the process is alive).",
	Defaulted:   "no",
	Check: func(t *workload.Template, _ *policy.Policy) []Finding {
		var out []Finding
		for _, c := range t.Containers() {
			if c.LivenessProbe == nil || c.ReadinessProbe == nil {
				continue
			}
			if !equality.Semantic.DeepEqual(c.LivenessProbe, c.ReadinessProbe) {
				continue
			}
			out = append(out, Finding{
				Container:     c.Name,
				ContainerType: c.Type,
				Path:          workload.Under(c.Path, "livenessProbe"),
				Problem:       "has a livenessProbe identical to its readinessProbe, so whatever takes it out of rotation also restarts it",
				Fix:           "make the livenessProbe more tolerant: a higher failureThreshold (e.g. 6) or a cheaper endpoint that only says the process is alive",
			})
		}
		return out
	},
}
