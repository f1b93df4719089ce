package validate

// apparmor: no Pod or container turns AppArmor off or chooses a profile
// other than the runtime's default or one loaded on the node.
//
// Restricted fields and allowed values, as Pod Security "baseline" says:
//   - spec.securityContext.appArmorProfile.type and
//     securityContext.appArmorProfile.type of every container:
//     RuntimeDefault, Localhost, or unset;
//   - the deprecated annotations
//     container.apparmor.security.beta.kubernetes.io/<container> on the
//     Pod (template) metadata: runtime/default, localhost/<profile>, or
//     empty.

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/workload"
)

var apparmor = &Rule{
	ID:          "apparmor",
	Category:    "security",
	Severity:    policy.Error,
	Description: "No Pod or container runs without AppArmor (appArmorProfile Unconfined, or an unconfined annotation).",
	Remediation: "Remove appArmorProfile (the runtime's default applies) or set type: RuntimeDefault or Localhost; replace the deprecated container.apparmor.security.beta.kubernetes.io annotations with securityContext.appArmorProfile.",
	Defaulted:   "no",
	Check: func(t *workload.Template, _ *policy.Policy) []Finding {
		var out []Finding
		if sc := t.Spec.SecurityContext; sc != nil && sc.AppArmorProfile != nil && !allowedAppArmor(sc.AppArmorProfile.Type) {
			out = append(out, Finding{
				Path:    workload.Under(t.SpecPath, "securityContext", "appArmorProfile", "type"),
				Problem: fmt.Sprintf("runs every container without AppArmor confinement (appArmorProfile.type: %s)", sc.AppArmorProfile.Type),
				Fix:     "set appArmorProfile.type: RuntimeDefault, or remove appArmorProfile",
			})
		}
		containers := t.Containers()
		for _, c := range containers {
			sc := c.SecurityContext
			if sc == nil || sc.AppArmorProfile == nil || allowedAppArmor(sc.AppArmorProfile.Type) {
				continue
			}
			out = append(out, Finding{
				Container:     c.Name,
				ContainerType: c.Type,
				Path:          workload.Under(c.Path, "securityContext", "appArmorProfile", "type"),
				Problem:       fmt.Sprintf("runs without AppArmor confinement (appArmorProfile.type: %s)", sc.AppArmorProfile.Type),
				Fix:           "set appArmorProfile.type: RuntimeDefault, or remove appArmorProfile to inherit the Pod's",
			})
		}
		var keys []string
		for k := range t.PodMeta.Annotations {
			if strings.HasPrefix(k, corev1.DeprecatedAppArmorBetaContainerAnnotationKeyPrefix) {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			v := t.PodMeta.Annotations[k]
			if v == "" || v == corev1.DeprecatedAppArmorBetaProfileRuntimeDefault || strings.HasPrefix(v, corev1.DeprecatedAppArmorBetaProfileNamePrefix) {
				continue
			}
			f := Finding{
				Path:    podMetaPath(t).Child("annotations").Key(k).String(),
				Problem: fmt.Sprintf("has the annotation %s: %q, which runs a container without AppArmor confinement", k, v),
				Fix:     "remove the annotation (or set it to runtime/default or localhost/<profile>) and use securityContext.appArmorProfile instead",
				Scope:   "pod template",
			}
			name := strings.TrimPrefix(k, corev1.DeprecatedAppArmorBetaContainerAnnotationKeyPrefix)
			if i := slices.IndexFunc(containers, func(c workload.Container) bool { return c.Name == name }); i >= 0 {
				f.Container, f.ContainerType = name, containers[i].Type
				f.Problem = fmt.Sprintf("runs without AppArmor confinement (annotation %s: %q)", k, v)
			}
			out = append(out, f)
		}
		return out
	},
}

func allowedAppArmor(t corev1.AppArmorProfileType) bool {
	return t == corev1.AppArmorProfileTypeRuntimeDefault || t == corev1.AppArmorProfileTypeLocalhost
}
