package mutate

// Probes: writes readinessProbe and livenessProbe as TCP checks on the
// container's first TCP port, with the timing of the policy.
//
//   - Only regular containers and restartable sidecars (init containers with
//     restartPolicy Always) get probes; plain init containers and ephemeral
//     containers never do (the API forbids it).
//   - A container without a TCP port gets none: there is nothing safe to
//     probe.
//   - A probe the user wrote is kept as it is; each of the two is defaulted
//     on its own.
//   - Pods that run to completion (Job, CronJob, Pods owned by a Job) get
//     none.

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/workload"
)

func defaultProbes(t *workload.Template, d policy.ProbeDefaults) Changes {
	if t.Batch() {
		return nil
	}
	var cs Changes
	for _, c := range workload.Containers(t.Spec, t.SpecPath) {
		if !c.LongRunning() {
			continue
		}
		port, ok := FirstTCPPort(c.Container)
		if !ok {
			continue
		}
		if c.ReadinessProbe == nil {
			c.ReadinessProbe = tcpProbe(port, d.Readiness)
			cs = append(cs, Change{Family: Probes, Container: c.Name, Field: "readinessProbe"})
		}
		if c.LivenessProbe == nil {
			c.LivenessProbe = tcpProbe(port, d.Liveness)
			cs = append(cs, Change{Family: Probes, Container: c.Name, Field: "livenessProbe"})
		}
	}
	return cs
}

// FirstTCPPort returns the first container port whose protocol is TCP (the
// default protocol).
func FirstTCPPort(c *corev1.Container) (int32, bool) {
	for _, p := range c.Ports {
		if (p.Protocol == "" || p.Protocol == corev1.ProtocolTCP) && p.ContainerPort > 0 {
			return p.ContainerPort, true
		}
	}
	return 0, false
}

func tcpProbe(port int32, timing policy.ProbeTiming) *corev1.Probe {
	return &corev1.Probe{
		ProbeHandler: corev1.ProbeHandler{
			TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(port)},
		},
		InitialDelaySeconds: timing.InitialDelaySeconds,
		PeriodSeconds:       timing.PeriodSeconds,
		// The API server's own defaults, written out so that a second
		// defaulting pass, or the API server's, changes nothing.
		TimeoutSeconds:   1,
		SuccessThreshold: 1,
		FailureThreshold: 3,
	}
}
