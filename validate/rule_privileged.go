package validate

// privileged: no container sets securityContext.privileged: true. A
// privileged container has every capability and every device of the node;
// escaping it is trivial.

import (
	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/workload"
)

var privileged = &Rule{
	ID:          "privileged",
	Category:    "security",
	Severity:    policy.Error,
	Description: "No container runs privileged: a privileged container owns the node.",
	Remediation: "Remove securityContext.privileged (or set it to false) and add only the capabilities the program needs.",
	Defaulted:   "no",
	Check: func(t *workload.Template, _ *policy.Policy) []Finding {
		var out []Finding
		for _, c := range t.Containers() {
			if sc := c.SecurityContext; sc != nil && sc.Privileged != nil && *sc.Privileged {
				out = append(out, Finding{
					Container:     c.Name,
					ContainerType: c.Type,
					Path:          workload.Under(c.Path, "securityContext", "privileged"),
					Problem:       "runs privileged",
					Fix:           "remove privileged: true; if it needs one kernel feature, add just that capability under securityContext.capabilities.add",
				})
			}
		}
		return out
	},
}
