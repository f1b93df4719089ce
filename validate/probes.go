package validate

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/plimsoll/plimsoll/workload"
)

// checkProbe is shared by liveness-probe and readiness-probe: every regular
// container of a long-running workload has the probe. Pods that run to
// completion (Job, CronJob) are exempt, as are init, sidecar and ephemeral
// containers.
func checkProbe(t *workload.Template, field string, get func(*corev1.Container) *corev1.Probe) []Finding {
	if t.Batch() {
		return nil
	}
	var out []Finding
	for _, c := range t.Containers() {
		if c.Type != workload.Regular || get(c.Container) != nil {
			continue
		}
		out = append(out, Finding{
			Container:     c.Name,
			ContainerType: c.Type,
			Path:          workload.Under(c.Path, field),
			Problem:       "has no " + field,
			Fix:           "add a " + field + ", e.g. an httpGet on the container's health endpoint",
		})
	}
	return out
}
