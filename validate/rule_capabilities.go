package validate

// capabilities: every container drops every Linux capability and adds back
// at most NET_BIND_SERVICE, as Pod Security "restricted" requires.
//
// Restricted fields (init, sidecar, regular and ephemeral containers):
//   - securityContext.capabilities.drop: must include "ALL";
//   - securityContext.capabilities.add: empty, or only "NET_BIND_SERVICE".
//
// Windows Pods are exempt: the API forbids capabilities there. Privileged
// containers are left to the privileged rule: they hold every capability
// whatever this field says. Defaulting writes drop: [ALL] on a container
// that sets neither add nor drop; an added capability is never defaulted
// away, and a container that adds NET_BIND_SERVICE without dropping ALL
// must add the drop itself.

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/workload"
)

var capabilities = &Rule{
	ID:          "capabilities",
	Category:    "security",
	Severity:    policy.Error,
	Description: "Containers drop all Linux capabilities and add back at most NET_BIND_SERVICE.",
	Remediation: "Set securityContext.capabilities.drop: [ALL] on each container; add only NET_BIND_SERVICE, and only if the program binds a port below 1024.",
	Defaulted:   "drop: [ALL] yes, on containers that set no capabilities; an added capability never",
	Check: func(t *workload.Template, _ *policy.Policy) []Finding {
		if t.Windows() {
			return nil
		}
		var out []Finding
		for _, c := range t.Containers() {
			sc := c.SecurityContext
			if sc != nil && sc.Privileged != nil && *sc.Privileged {
				continue
			}
			caps := &corev1.Capabilities{}
			if sc != nil && sc.Capabilities != nil {
				caps = sc.Capabilities
			}
			if !slices.Contains(caps.Drop, "ALL") {
				problem := "keeps the runtime's default capabilities (capabilities.drop is not set)"
				if len(caps.Drop) > 0 {
					problem = fmt.Sprintf("keeps every capability but %s (capabilities.drop lacks ALL)", quoteCaps(caps.Drop))
				}
				fix := "set securityContext.capabilities.drop: [ALL]"
				if len(caps.Add) > 0 || len(caps.Drop) > 0 {
					// Defaulting leaves capabilities the container sets alone.
					fix = "add drop: [ALL] to securityContext.capabilities (defaulting does not touch capabilities a container sets), keeping add for what it needs"
				}
				out = append(out, Finding{
					Container:     c.Name,
					ContainerType: c.Type,
					Path:          workload.Under(c.Path, "securityContext", "capabilities", "drop"),
					Problem:       problem,
					Fix:           fix,
				})
			}
			var forbidden []corev1.Capability
			for _, added := range caps.Add {
				if added != "NET_BIND_SERVICE" {
					forbidden = append(forbidden, added)
				}
			}
			if len(forbidden) > 0 {
				out = append(out, Finding{
					Container:     c.Name,
					ContainerType: c.Type,
					Path:          workload.Under(c.Path, "securityContext", "capabilities", "add"),
					Problem:       "adds the capabilities " + quoteCaps(forbidden),
					Fix:           fmt.Sprintf("remove %s from securityContext.capabilities.add: only NET_BIND_SERVICE may be added", quoteCaps(forbidden)),
				})
			}
		}
		return out
	},
}

// quoteCaps renders capabilities as "NET_RAW", "SYS_ADMIN".
func quoteCaps(caps []corev1.Capability) string {
	q := make([]string, len(caps))
	for i, c := range caps {
		q[i] = fmt.Sprintf("%q", c)
	}
	return strings.Join(q, ", ")
}
