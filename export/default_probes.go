package export

import (
	"fmt"

	"github.com/plimsoll/plimsoll/mutate"
	"github.com/plimsoll/plimsoll/policy"
)

// probes: a readinessProbe and a livenessProbe on the first TCP port of
// every container and restartable sidecar that has one, each where unset,
// with a startupProbe beside a defaulted livenessProbe (unless there is
// one); none on a Pod that runs to completion (mutate/probes.go).

// tcpPort is CEL: the container port p is a TCP port (the default
// protocol).
const tcpPort = "p.?protocol.orValue('TCP') == 'TCP' && p.containerPort > 0"

func probesDefaulter(d policy.ProbeDefaults) defaulter {
	port := "ps[0]"
	handler := fmt.Sprintf("'tcpSocket': dyn({'port': %s})", port)
	if d.Type == policy.ProbeHTTP {
		handler = fmt.Sprintf("'httpGet': dyn({'path': dyn(%s), 'port': dyn(%s), 'scheme': dyn('HTTP')})", celString(d.Path), port)
	}
	// The API server's own timeoutSeconds and successThreshold are
	// written out, as /mutate writes them. (The values of a literal must
	// have one type: dyn.)
	probe := func(initialDelay, period, failureThreshold int32) string {
		return fmt.Sprintf("{%s, 'initialDelaySeconds': dyn(%d), 'periodSeconds': dyn(%d), 'failureThreshold': dyn(%d), 'timeoutSeconds': dyn(1), 'successThreshold': dyn(1)}",
			handler, initialDelay, period, failureThreshold)
	}
	return defaulter{
		family: mutate.Probes,
		walks: func(l mutationList) string {
			cond := "!variables.batch && ps.size() > 0"
			if l.sidecars {
				cond = "c.?restartPolicy.orValue('') == 'Always' && " + cond
			}
			return cond
		},
		// ps: the container's TCP ports, in order.
		binds: []bind{{"ps", fmt.Sprintf("c.?ports.orValue([]).filter(p, %s).map(p, p.containerPort)", tcpPort)}},
		// One stage each; the startupProbe first, while the livenessProbe
		// it goes beside is still missing.
		leaves: []leaf{
			{stage: 2, when: "!c.?readinessProbe.hasValue()", path: "readinessProbe", value: probe(d.Readiness.InitialDelaySeconds, d.Readiness.PeriodSeconds, 3)},
			{stage: 1, when: "!c.?livenessProbe.hasValue()", path: "livenessProbe", value: probe(d.Liveness.InitialDelaySeconds, d.Liveness.PeriodSeconds, 3)},
			{stage: 0, when: "!c.?livenessProbe.hasValue() && !c.?startupProbe.hasValue()", path: "startupProbe", value: probe(0, d.Startup.PeriodSeconds, d.Startup.FailureThreshold)},
		},
	}
}
