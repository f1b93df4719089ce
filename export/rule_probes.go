package export

import "github.com/plimsoll/plimsoll/policy"

// liveness-probe, readiness-probe: every long-running container (not an
// init container, sidecars aside) has the probe, but in a Pod that runs to
// completion: a Job or CronJob, or a Pod of a Job when the Job controller
// sends it.
//
// A workload is judged as its Pods will be once defaulted: where the
// policy defaults probes, only a container without a TCP port (which gets
// none) breaks the rule in a workload; a Pod arrives defaulted.

func init() {
	for _, r := range []struct{ id, field string }{{"liveness-probe", "livenessProbe"}, {"readiness-probe", "readinessProbe"}} {
		registerOf(r.id, func(p *policy.Policy) form {
			batch := "(object.kind in ['Job', 'CronJob'] || (object.kind == 'Pod' && " + batchOf(p) + "))"
			var checks []check
			for _, k := range eachContainer(check{
				bad: func(x string) string {
					b := "!" + batch + " && !" + x + ".?" + r.field + ".hasValue()"
					if p.Defaults.Probes.Enabled {
						b += " && (object.kind == 'Pod' || !" + x + ".?ports.orValue([]).exists(p, " + tcpPort + "))"
					}
					return b
				},
				field:   r.field,
				problem: func(string) string { return celString("has no " + r.field) },
				fix:     "add a " + r.field + ", e.g. an httpGet on the container's health endpoint",
			}) {
				if k.list == "variables.containers" {
					checks = append(checks, k)
				}
			}
			return form{checks: checks}
		})
	}
}
