package validate

// host-port: no container binds a port of the node. Restricted field:
// ports[*].hostPort of every container; allowed values: unset or 0. A host
// port ties the Pod to the nodes where that port is free and bypasses
// network policies; Pod Security "baseline" forbids it, so the rule is an
// error like the rest of baseline.

import (
	"fmt"

	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/workload"
)

var hostPort = &Rule{
	ID:          "host-port",
	Category:    "security",
	Severity:    policy.Error,
	Description: "No container binds a port of the node (hostPort).",
	Remediation: "Remove hostPort and expose the port through a Service (type NodePort or LoadBalancer if it must be reachable from outside).",
	Defaulted:   "no",
	Check: func(t *workload.Template, _ *policy.Policy) []Finding {
		var out []Finding
		for _, c := range t.Containers() {
			for i, p := range c.Ports {
				if p.HostPort == 0 {
					continue
				}
				out = append(out, Finding{
					Container:     c.Name,
					ContainerType: c.Type,
					Path:          c.Path.Child("ports").Index(i).Child("hostPort").String(),
					Problem:       fmt.Sprintf("binds port %d of the node (hostPort: %d)", p.HostPort, p.HostPort),
					Fix:           fmt.Sprintf("remove hostPort: %d and expose containerPort %d through a Service", p.HostPort, p.ContainerPort),
				})
			}
		}
		return out
	},
}
