package validate

// host-process: no Windows Pod or container runs as a host process.
// Restricted fields: spec.securityContext.windowsOptions.hostProcess and
// securityContext.windowsOptions.hostProcess of every container. Allowed
// values: unset or false. A host process container runs directly on the
// Windows node, with the node's network and filesystem.

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/workload"
)

var hostProcess = &Rule{
	ID:          "host-process",
	Category:    "security",
	Severity:    policy.Error,
	Description: "No Windows Pod or container runs as a host process.",
	Remediation: "Remove windowsOptions.hostProcess: true (Pod and containers) and run the program as a normal Windows container.",
	Defaulted:   "no",
	Check: func(t *workload.Template, _ *policy.Policy) []Finding {
		var out []Finding
		if sc := t.Spec.SecurityContext; sc != nil && isHostProcess(sc.WindowsOptions) {
			out = append(out, Finding{
				Path:    workload.Under(t.SpecPath, "securityContext", "windowsOptions", "hostProcess"),
				Problem: "runs every container as a process of the Windows node (windowsOptions.hostProcess: true)",
				Fix:     "remove windowsOptions.hostProcess: true",
			})
		}
		for _, c := range t.Containers() {
			if c.SecurityContext == nil || !isHostProcess(c.SecurityContext.WindowsOptions) {
				continue
			}
			out = append(out, Finding{
				Container:     c.Name,
				ContainerType: c.Type,
				Path:          workload.Under(c.Path, "securityContext", "windowsOptions", "hostProcess"),
				Problem:       "runs as a process of the Windows node (windowsOptions.hostProcess: true)",
				Fix:           "remove windowsOptions.hostProcess: true",
			})
		}
		return out
	},
}

func isHostProcess(w *corev1.WindowsSecurityContextOptions) bool {
	return w != nil && w.HostProcess != nil && *w.HostProcess
}
