package validate

// probe-host: probes and lifecycle hooks check the Pod itself, never
// another host. Restricted fields, on every container: httpGet.host and
// tcpSocket.host of livenessProbe, readinessProbe and startupProbe, and of
// lifecycle.postStart and lifecycle.preStop. Allowed values: unset or "".
// A host there makes the kubelet open connections from the node to any
// address the Pod's author chooses; Pod Security "baseline" forbids it
// since Kubernetes 1.34.

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/workload"
)

var probeHost = &Rule{
	ID:          "probe-host",
	Category:    "security",
	Severity:    policy.Error,
	Description: "Probes and lifecycle hooks check the Pod itself, not a host of their choosing.",
	Remediation: "Remove host from httpGet and tcpSocket in probes and lifecycle hooks; to send a virtual host name, set an httpHeaders entry named Host instead.",
	Defaulted:   "no",
	Check: func(t *workload.Template, _ *policy.Policy) []Finding {
		var out []Finding
		for _, c := range t.Containers() {
			type hook struct {
				// field, under lifecycle if lifecycle is set
				field     string
				lifecycle bool
				what      string
				httpGet   *corev1.HTTPGetAction
				tcp       *corev1.TCPSocketAction
			}
			hooks := make([]hook, 0, 5) // three probes, two lifecycle hooks: on the stack
			for _, pr := range containerProbes(c.Container) {
				if pr.probe != nil {
					hooks = append(hooks, hook{pr.field, false, pr.field, pr.probe.HTTPGet, pr.probe.TCPSocket})
				}
			}
			if lc := c.Lifecycle; lc != nil {
				for _, h := range []struct {
					name    string
					handler *corev1.LifecycleHandler
				}{{"postStart", lc.PostStart}, {"preStop", lc.PreStop}} {
					if h.handler != nil {
						hooks = append(hooks, hook{h.name, true, h.name + " hook", h.handler.HTTPGet, h.handler.TCPSocket})
					}
				}
			}
			for _, h := range hooks {
				path := func(handler, field string) string {
					if h.lifecycle {
						return workload.Under(c.Path, "lifecycle", h.field, handler, field)
					}
					return workload.Under(c.Path, h.field, handler, field)
				}
				if h.httpGet != nil && h.httpGet.Host != "" {
					out = append(out, Finding{
						Container:     c.Name,
						ContainerType: c.Type,
						Path:          path("httpGet", "host"),
						Problem:       fmt.Sprintf("has a %s that calls host %q instead of the Pod", h.what, h.httpGet.Host),
						Fix:           "remove httpGet.host so the kubelet calls the Pod's own IP; to send a virtual host name, add httpHeaders: [{name: Host, value: " + h.httpGet.Host + "}]",
					})
				}
				if h.tcp != nil && h.tcp.Host != "" {
					out = append(out, Finding{
						Container:     c.Name,
						ContainerType: c.Type,
						Path:          path("tcpSocket", "host"),
						Problem:       fmt.Sprintf("has a %s that connects to host %q instead of the Pod", h.what, h.tcp.Host),
						Fix:           "remove tcpSocket.host so the kubelet connects to the Pod's own IP",
					})
				}
			}
		}
		return out
	},
}
