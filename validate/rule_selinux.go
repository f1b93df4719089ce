package validate

// selinux: no Pod or container chooses an SELinux type beyond the
// container types, or any SELinux user or role, as Pod Security
// "baseline" says.
//
// Restricted fields: seLinuxOptions.type, .user and .role under
// spec.securityContext and the securityContext of every container.
// Allowed values: type unset, "", container_t, container_init_t,
// container_kvm_t or container_engine_t; user and role unset or "".

import (
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/workload"
)

// seLinuxTypes are the types Pod Security "baseline" allows (since 1.31).
var seLinuxTypes = []string{"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"}

var selinux = &Rule{
	ID:          "selinux",
	Category:    "security",
	Severity:    policy.Error,
	Description: "No Pod or container sets an SELinux user or role, or a type other than the container types.",
	Remediation: "Remove seLinuxOptions.user and .role, and leave seLinuxOptions.type unset or set it to container_t (container_init_t, container_kvm_t and container_engine_t are allowed too).",
	Defaulted:   "no",
	Check: func(t *workload.Template, _ *policy.Policy) []Finding {
		var out []Finding
		check := func(f Finding, opts *corev1.SELinuxOptions, base *field.Path) {
			if opts == nil {
				return
			}
			path := base.Child("securityContext", "seLinuxOptions")
			if !slices.Contains(seLinuxTypes, opts.Type) {
				f.Path = workload.Under(path, "type")
				f.Problem = fmt.Sprintf("runs with the SELinux type %q, which escapes the container policy", opts.Type)
				f.Fix = "remove seLinuxOptions.type, or set it to container_t"
				out = append(out, f)
			}
			for _, o := range []struct{ field, value string }{{"user", opts.User}, {"role", opts.Role}} {
				if o.value == "" {
					continue
				}
				f.Path = workload.Under(path, o.field)
				f.Problem = fmt.Sprintf("sets the SELinux %s %q", o.field, o.value)
				f.Fix = "remove seLinuxOptions." + o.field
				out = append(out, f)
			}
		}
		if sc := t.Spec.SecurityContext; sc != nil {
			check(Finding{}, sc.SELinuxOptions, t.SpecPath)
		}
		for _, c := range t.Containers() {
			if c.SecurityContext != nil {
				check(Finding{Container: c.Name, ContainerType: c.Type}, c.SecurityContext.SELinuxOptions, c.Path)
			}
		}
		return out
	},
}

// SELinuxTypes are the SELinux types a Pod or container may choose, ""
// among them (for the rule's in-process form, package export).
func SELinuxTypes() []string { return slices.Clone(seLinuxTypes) }
