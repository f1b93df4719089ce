package mutate

// Probes: writes readinessProbe and livenessProbe on the container's first
// TCP port — a TCP check, or an HTTP GET of the policy's path when the policy
// says type: http — with the timing of the policy. Beside a defaulted
// livenessProbe it writes a startupProbe (unless there is one), so a slow
// starter is not killed before it is up.
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
	for _, c := range t.Containers() {
		if !c.LongRunning() {
			continue
		}
		port, ok := FirstTCPPort(c.Container)
		if !ok {
			continue
		}
		if c.ReadinessProbe == nil {
			c.ReadinessProbe = probe(port, d, d.Readiness.InitialDelaySeconds, d.Readiness.PeriodSeconds, 3)
			cs = append(cs, Change{Family: Probes, Container: c.Name, Field: "readinessProbe"})
		}
		if c.LivenessProbe == nil {
			c.LivenessProbe = probe(port, d, d.Liveness.InitialDelaySeconds, d.Liveness.PeriodSeconds, 3)
			cs = append(cs, Change{Family: Probes, Container: c.Name, Field: "livenessProbe"})
			if c.StartupProbe == nil {
				c.StartupProbe = probe(port, d, 0, d.Startup.PeriodSeconds, d.Startup.FailureThreshold)
				cs = append(cs, Change{Family: Probes, Container: c.Name, Field: "startupProbe"})
			}
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

func probe(port int32, d policy.ProbeDefaults, initialDelay, period, failureThreshold int32) *corev1.Probe {
	handler := corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(port)}}
	if d.Type == policy.ProbeHTTP {
		handler = corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
			Path: d.Path, Port: intstr.FromInt32(port), Scheme: corev1.URISchemeHTTP,
		}}
	}
	return &corev1.Probe{
		ProbeHandler:        handler,
		InitialDelaySeconds: initialDelay,
		PeriodSeconds:       period,
		FailureThreshold:    failureThreshold,
		// The API server's own defaults, written out so that a second
		// defaulting pass, or the API server's, changes nothing.
		TimeoutSeconds:   1,
		SuccessThreshold: 1,
	}
}
