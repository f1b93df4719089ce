package validate

// run-as-non-root: every container runs as a non-root user, as Pod
// Security "restricted" requires. Restricted fields: runAsNonRoot and
// runAsUser under spec.securityContext and the securityContext of every
// container. Allowed values: runAsNonRoot true (on the container, or on
// the Pod and not turned off by the container; the Pod must never set it
// to false, even where every container overrides it), runAsUser unset or
// not 0. Defaulted (runAsNonRoot: true) unless the workload says
// otherwise.

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/workload"
)

var runAsNonRoot = &Rule{
	ID:          "run-as-non-root",
	Category:    "security",
	Severity:    policy.Error,
	Description: "Containers run as a non-root user.",
	Remediation: "Set securityContext.runAsNonRoot: true and a non-zero runAsUser, and build the image with a USER other than root.",
	Defaulted:   "yes, unless the workload sets runAsNonRoot: false or runAsUser: 0",
	Check: func(t *workload.Template, _ *policy.Policy) []Finding {
		var out []Finding
		pod := t.Spec.SecurityContext
		if pod == nil {
			pod = &corev1.PodSecurityContext{}
		}
		podFalse := pod.RunAsNonRoot != nil && !*pod.RunAsNonRoot
		if podFalse {
			out = append(out, Finding{
				Path:    workload.Under(t.SpecPath, "securityContext", "runAsNonRoot"),
				Problem: "allows every container to run as root (runAsNonRoot: false)",
				Fix:     "set securityContext.runAsNonRoot: true and use images that run as a non-root USER",
			})
		}
		if pod.RunAsUser != nil && *pod.RunAsUser == 0 {
			out = append(out, Finding{
				Path:    workload.Under(t.SpecPath, "securityContext", "runAsUser"),
				Problem: "runs as root (runAsUser: 0)",
				Fix:     "set runAsUser to a non-zero UID, e.g. 10001",
			})
		}
		for _, c := range t.Containers() {
			sc := c.SecurityContext
			if sc == nil {
				sc = &corev1.SecurityContext{}
			}
			if sc.RunAsUser != nil && *sc.RunAsUser == 0 {
				out = append(out, Finding{
					Container:     c.Name,
					ContainerType: c.Type,
					Path:          workload.Under(c.Path, "securityContext", "runAsUser"),
					Problem:       "runs as root (runAsUser: 0)",
					Fix:           "set runAsUser to a non-zero UID, e.g. 10001",
				})
			}
			nonRoot := sc.RunAsNonRoot
			if nonRoot == nil && podFalse {
				// Inherited from the Pod, whose finding covers it.
				continue
			}
			if nonRoot == nil {
				nonRoot = pod.RunAsNonRoot
			}
			if nonRoot == nil || !*nonRoot {
				problem := "may run as root (runAsNonRoot is not set)"
				if nonRoot != nil {
					problem = "is allowed to run as root (runAsNonRoot: false)"
				}
				out = append(out, Finding{
					Container:     c.Name,
					ContainerType: c.Type,
					Path:          workload.Under(c.Path, "securityContext", "runAsNonRoot"),
					Problem:       problem,
					Fix:           "set securityContext.runAsNonRoot: true and use an image that runs as a non-root USER",
				})
			}
		}
		return out
	},
}
