package mutate

// SecurityContext: writes, on every container, sidecar and init container
// (ephemeral containers are added through a subresource that plimsoll does
// not mutate):
//
//   - securityContext.allowPrivilegeEscalation: false — unless the container
//     is privileged or adds CAP_SYS_ADMIN (the API rejects either
//     combination);
//   - securityContext.capabilities.drop: [ALL] — unless the container sets
//     capabilities.add or capabilities.drop, or is privileged;
//   - securityContext.runAsNonRoot: true — unless runAsNonRoot is already
//     set for the container (on it or on the Pod), or it runs as UID 0;
//
// and on the Pod spec.securityContext.seccompProfile: RuntimeDefault, unless
// the Pod chose a profile (a container's own profile still wins for that
// container).
//
// With the policy's profile baseline, only allowPrivilegeEscalation and
// seccompProfile are written: runAsNonRoot and drop ALL break some images,
// and are left to the rules. With readOnlyRootFilesystem opted in,
// securityContext.readOnlyRootFilesystem: true is written too (not on
// Windows).
//
// A Pod with spec.os.name: windows gets runAsNonRoot only: the other fields
// are Linux-only and the API rejects them there.
//
// What the user wrote that contradicts a default is left alone, for the
// rules to report: plimsoll never silently changes what a workload asked.

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/workload"
)

func defaultSecurityContext(t *workload.Template, d policy.SecurityDefaults) Changes {
	var cs Changes
	restricted := d.Profile != policy.Baseline
	spec := t.Spec
	windows := t.Windows()
	containers := t.Containers()
	for _, c := range containers {
		if c.Type == workload.Ephemeral {
			continue
		}
		sc := c.SecurityContext
		if sc == nil {
			sc = &corev1.SecurityContext{}
		}
		var changed Changes
		privileged := sc.Privileged != nil && *sc.Privileged
		if !windows && sc.AllowPrivilegeEscalation == nil && !privileged && !addsSysAdmin(sc) {
			sc.AllowPrivilegeEscalation = ptr(false)
			changed = append(changed, Change{Family: SecurityContext, Container: c.Name, Field: "securityContext.allowPrivilegeEscalation"})
		}
		if restricted && !windows && !privileged && (sc.Capabilities == nil || (len(sc.Capabilities.Add) == 0 && len(sc.Capabilities.Drop) == 0)) {
			sc.Capabilities = &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}
			changed = append(changed, Change{Family: SecurityContext, Container: c.Name, Field: "securityContext.capabilities.drop"})
		}
		if restricted && sc.RunAsNonRoot == nil && podRunAsNonRoot(spec) == nil && effectiveRunAsUser(spec, sc) != 0 {
			sc.RunAsNonRoot = ptr(true)
			changed = append(changed, Change{Family: SecurityContext, Container: c.Name, Field: "securityContext.runAsNonRoot"})
		}
		if d.ReadOnlyRootFilesystem && !windows && sc.ReadOnlyRootFilesystem == nil {
			sc.ReadOnlyRootFilesystem = ptr(true)
			changed = append(changed, Change{Family: SecurityContext, Container: c.Name, Field: "securityContext.readOnlyRootFilesystem"})
		}
		if len(changed) > 0 {
			c.SecurityContext = sc
			cs = append(cs, changed...)
		}
	}
	if !windows && (spec.SecurityContext == nil || spec.SecurityContext.SeccompProfile == nil) {
		if spec.SecurityContext == nil {
			spec.SecurityContext = &corev1.PodSecurityContext{}
		}
		spec.SecurityContext.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}
		cs = append(cs, Change{Family: SecurityContext, Field: "securityContext.seccompProfile"})
	}
	return cs
}

func podRunAsNonRoot(spec *corev1.PodSpec) *bool {
	if spec.SecurityContext == nil {
		return nil
	}
	return spec.SecurityContext.RunAsNonRoot
}

// effectiveRunAsUser returns the UID the container is told to run as, or -1
// if neither it nor the Pod says.
func effectiveRunAsUser(spec *corev1.PodSpec, sc *corev1.SecurityContext) int64 {
	if sc != nil && sc.RunAsUser != nil {
		return *sc.RunAsUser
	}
	if spec.SecurityContext != nil && spec.SecurityContext.RunAsUser != nil {
		return *spec.SecurityContext.RunAsUser
	}
	return -1
}

func addsSysAdmin(sc *corev1.SecurityContext) bool {
	if sc.Capabilities == nil {
		return false
	}
	for _, c := range sc.Capabilities.Add {
		if c == "SYS_ADMIN" || c == "CAP_SYS_ADMIN" {
			return true
		}
	}
	return false
}

func ptr[T any](v T) *T { return &v }
