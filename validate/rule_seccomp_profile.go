package validate

// seccomp-profile: every container runs under a seccomp profile, as Pod
// Security "restricted" requires.
//
// Restricted fields: spec.securityContext.seccompProfile.type and
// securityContext.seccompProfile.type of init, sidecar, regular and
// ephemeral containers. Allowed values: RuntimeDefault, Localhost; a
// container may leave it unset when the Pod sets an allowed one.
//
// A container with no profile at all (neither it nor the Pod sets one) is
// a warning: defaulting writes spec.securityContext.seccompProfile:
// RuntimeDefault. An explicit Unconfined (or any other type) switches the
// filter off on purpose, and is an error. Windows Pods are exempt: the API
// forbids the field there.

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/workload"
)

var seccompProfile = &Rule{
	ID:          "seccomp-profile",
	Category:    "security",
	Severity:    policy.Warning,
	Description: "Containers run under a seccomp profile (RuntimeDefault or Localhost); unset is a warning, Unconfined an error.",
	Remediation: "Set spec.securityContext.seccompProfile.type: RuntimeDefault (or Localhost with localhostProfile), and remove any Unconfined.",
	Defaulted:   "yes: RuntimeDefault on the Pod when the Pod sets none; Unconfined never",
	Check: func(t *workload.Template, _ *policy.Policy) []Finding {
		if t.Windows() {
			return nil
		}
		var out []Finding
		var pod *corev1.SeccompProfile
		if t.Spec.SecurityContext != nil {
			pod = t.Spec.SecurityContext.SeccompProfile
		}
		if pod != nil && !allowedSeccomp(pod.Type) {
			out = append(out, Finding{
				Path:     workload.Under(t.SpecPath, "securityContext", "seccompProfile", "type"),
				Problem:  fmt.Sprintf("turns off the seccomp filter of every container (seccompProfile.type: %s)", pod.Type),
				Fix:      "set securityContext.seccompProfile.type: RuntimeDefault",
				Severity: policy.Error,
			})
		}
		for _, c := range t.Containers() {
			var own *corev1.SeccompProfile
			if c.SecurityContext != nil {
				own = c.SecurityContext.SeccompProfile
			}
			switch {
			case own != nil && !allowedSeccomp(own.Type):
				out = append(out, Finding{
					Container:     c.Name,
					ContainerType: c.Type,
					Path:          workload.Under(c.Path, "securityContext", "seccompProfile", "type"),
					Problem:       fmt.Sprintf("turns off its seccomp filter (seccompProfile.type: %s)", own.Type),
					Fix:           "set securityContext.seccompProfile.type: RuntimeDefault, or remove it to inherit the Pod's",
					Severity:      policy.Error,
				})
			case own == nil && pod == nil:
				out = append(out, Finding{
					Container:     c.Name,
					ContainerType: c.Type,
					Path:          workload.Under(c.Path, "securityContext", "seccompProfile"),
					Problem:       "has no seccomp profile (neither it nor the Pod sets securityContext.seccompProfile)",
					Fix:           "set spec.securityContext.seccompProfile.type: RuntimeDefault on the Pod",
				})
			}
			// A container without a profile under an Unconfined Pod is
			// covered by the Pod's finding.
		}
		return out
	},
}

func allowedSeccomp(t corev1.SeccompProfileType) bool {
	return t == corev1.SeccompProfileTypeRuntimeDefault || t == corev1.SeccompProfileTypeLocalhost
}
