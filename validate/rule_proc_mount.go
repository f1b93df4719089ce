package validate

// proc-mount: every container sees /proc with the runtime's masks.
// Restricted field: securityContext.procMount of every container. Allowed
// values: unset or Default. Unmasked exposes kernel interfaces the masks
// hide; Pod Security "restricted" forbids it even in a user namespace.

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/workload"
)

var procMount = &Rule{
	ID:          "proc-mount",
	Category:    "security",
	Severity:    policy.Error,
	Description: "Containers see /proc with the runtime's default masks (procMount Default).",
	Remediation: "Remove securityContext.procMount, or set it to Default.",
	Defaulted:   "no",
	Check: func(t *workload.Template, _ *policy.Policy) []Finding {
		var out []Finding
		for _, c := range t.Containers() {
			sc := c.SecurityContext
			if sc == nil || sc.ProcMount == nil || *sc.ProcMount == corev1.DefaultProcMount {
				continue
			}
			out = append(out, Finding{
				Container:     c.Name,
				ContainerType: c.Type,
				Path:          workload.Under(c.Path, "securityContext", "procMount"),
				Problem:       fmt.Sprintf("sees the node's /proc without masks (procMount: %s)", *sc.ProcMount),
				Fix:           "remove procMount, or set procMount: Default",
			})
		}
		return out
	},
}
