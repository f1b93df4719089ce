package validate

// probe-port: a probe aims at a port the container declares. Checked
// fields: the port of livenessProbe, readinessProbe and startupProbe when
// they are tcpSocket, httpGet or grpc. Allowed values: a number that is a
// TCP containerPort of the container, or the name of one of its ports.
// A probe aimed elsewhere usually outlived a port change: it fails, and the
// kubelet restarts a healthy container or never sends it traffic.

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/workload"
)

var probePort = &Rule{
	ID:          "probe-port",
	Category:    "reliability",
	Severity:    policy.Warning,
	Description: "Probes aim at a port the container declares.",
	Remediation: "Aim each tcpSocket, httpGet or grpc probe at a declared containerPort (by number or by name), or declare the port under ports.",
	Defaulted:   "no",
	Check: func(t *workload.Template, _ *policy.Policy) []Finding {
		var out []Finding
		for _, c := range t.Containers() {
			for _, pr := range containerProbes(c.Container) {
				if pr.probe == nil {
					continue
				}
				ports, n := probePorts(pr.probe)
				for _, h := range ports[:n] {
					problem, fix := checkProbePort(c.Container, h.port)
					if problem == "" {
						continue
					}
					out = append(out, Finding{
						Container:     c.Name,
						ContainerType: c.Type,
						Path:          workload.Under(c.Path, pr.field, h.handler, "port"),
						Problem:       fmt.Sprintf("has a %s aimed at %s", pr.field, problem),
						Fix:           fix,
					})
				}
			}
		}
		return out
	},
}

type namedProbe struct {
	field string
	probe *corev1.Probe
}

// containerProbes lists the three probes of a container by field name.
func containerProbes(c *corev1.Container) [3]namedProbe {
	return [3]namedProbe{
		{"livenessProbe", c.LivenessProbe},
		{"readinessProbe", c.ReadinessProbe},
		{"startupProbe", c.StartupProbe},
	}
}

type probeHandlerPort struct {
	handler string
	port    intstr.IntOrString
}

func probePorts(p *corev1.Probe) (out [3]probeHandlerPort, n int) {
	if p.TCPSocket != nil {
		out[n] = probeHandlerPort{"tcpSocket", p.TCPSocket.Port}
		n++
	}
	if p.HTTPGet != nil {
		out[n] = probeHandlerPort{"httpGet", p.HTTPGet.Port}
		n++
	}
	if p.GRPC != nil {
		out[n] = probeHandlerPort{"grpc", intstr.FromInt32(p.GRPC.Port)}
		n++
	}
	return out, n
}

// checkProbePort says what is wrong with a probe's port, and how to fix
// it, or returns "" when the container declares it.
func checkProbePort(c *corev1.Container, port intstr.IntOrString) (problem, fix string) {
	if port.Type == intstr.String {
		var names []string
		for _, p := range c.Ports {
			if p.Name == port.StrVal {
				return "", ""
			}
			if p.Name != "" {
				names = append(names, fmt.Sprintf("%q", p.Name))
			}
		}
		fix = fmt.Sprintf("name a declared port (add name: %s to the port it means under ports)", port.StrVal)
		if len(names) > 0 {
			fix = fmt.Sprintf("name a declared port (the container's ports are named %s), or add name: %s to the port it means", strings.Join(names, ", "), port.StrVal)
		}
		return fmt.Sprintf("port %q, which no port of the container is named", port.StrVal), fix
	}
	n := port.IntVal
	declaredOtherwise := false
	for _, p := range c.Ports {
		if p.ContainerPort != n {
			continue
		}
		if p.Protocol == "" || p.Protocol == corev1.ProtocolTCP {
			return "", ""
		}
		declaredOtherwise = true
	}
	if declaredOtherwise {
		return fmt.Sprintf("port %d, which the container declares for UDP or SCTP only", n),
			fmt.Sprintf("declare containerPort: %d with protocol: TCP, or aim the probe at the TCP port the program serves", n)
	}
	return fmt.Sprintf("port %d, which the container does not declare", n),
		fmt.Sprintf("declare it under ports (containerPort: %d), or aim the probe at the port the program serves", n)
}
