package validate

// read-only-root-filesystem: every container, sidecar and init container
// sets securityContext.readOnlyRootFilesystem: true, so an intruder cannot
// replace the program's own files. Allowed value: true.
//
// Ephemeral containers are exempt (a debugging shell may need to write),
// and so are Windows Pods (the API forbids the field there). Defaulted only
// when the policy opts in (defaults.securityContext.readOnlyRootFilesystem).

import (
	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/workload"
)

var readOnlyRootFilesystem = &Rule{
	ID:          "read-only-root-filesystem",
	Category:    "security",
	Severity:    policy.Warning,
	Description: "Containers mount their root filesystem read-only, so nobody can change the program's files.",
	Remediation: "Set securityContext.readOnlyRootFilesystem: true and mount an emptyDir where the program writes (e.g. /tmp).",
	Defaulted:   "only if the policy opts in (defaults.securityContext.readOnlyRootFilesystem: true)",
	Check: func(t *workload.Template, _ *policy.Policy) []Finding {
		if t.Windows() {
			return nil
		}
		var out []Finding
		for _, c := range t.Containers() {
			if c.Type == workload.Ephemeral {
				continue
			}
			sc := c.SecurityContext
			if sc != nil && sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem {
				continue
			}
			problem := "can write to its root filesystem (readOnlyRootFilesystem is not set)"
			if sc != nil && sc.ReadOnlyRootFilesystem != nil {
				problem = "can write to its root filesystem (readOnlyRootFilesystem: false)"
			}
			out = append(out, Finding{
				Container:     c.Name,
				ContainerType: c.Type,
				Path:          workload.Under(c.Path, "securityContext", "readOnlyRootFilesystem"),
				Problem:       problem,
				Fix:           "set securityContext.readOnlyRootFilesystem: true and mount an emptyDir volume where the program writes (e.g. /tmp)",
			})
		}
		return out
	},
}
