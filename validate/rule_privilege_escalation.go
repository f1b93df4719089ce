package validate

// privilege-escalation: every container sets
// securityContext.allowPrivilegeEscalation: false, so no process can gain
// more privileges than its parent (setuid binaries, file capabilities).
// Windows Pods are exempt: the field does not exist there. Privileged
// containers are left to the privileged rule: the API rejects
// allowPrivilegeEscalation: false beside privileged: true, so asking for it
// would be advice nobody can follow.

import (
	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/workload"
)

var privilegeEscalation = &Rule{
	ID:          "privilege-escalation",
	Category:    "security",
	Severity:    policy.Error,
	Description: "Containers cannot gain more privileges than they start with.",
	Remediation: "Set securityContext.allowPrivilegeEscalation: false on each container.",
	Defaulted:   "yes, unless the container is privileged or adds CAP_SYS_ADMIN",
	Check: func(t *workload.Template, _ *policy.Policy) []Finding {
		if t.Windows() {
			return nil
		}
		var out []Finding
		for _, c := range t.Containers() {
			sc := c.SecurityContext
			if sc != nil && sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation {
				continue
			}
			if sc != nil && sc.Privileged != nil && *sc.Privileged {
				continue
			}
			problem := "allows privilege escalation (allowPrivilegeEscalation is not set)"
			if sc != nil && sc.AllowPrivilegeEscalation != nil {
				problem = "allows privilege escalation (allowPrivilegeEscalation: true)"
			}
			out = append(out, Finding{
				Container:     c.Name,
				ContainerType: c.Type,
				Path:          workload.Under(c.Path, "securityContext", "allowPrivilegeEscalation"),
				Problem:       problem,
				Fix:           "set securityContext.allowPrivilegeEscalation: false",
			})
		}
		return out
	},
}
