package validate

// sysctls: a Pod sets only the sysctls that are namespaced and isolated
// from other Pods. Restricted field: spec.securityContext.sysctls[*].name.
// Allowed values: the safe set of Pod Security "baseline" (Kubernetes
// 1.37): see safeSysctls.

import (
	"fmt"
	"slices"
	"strings"

	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/workload"
)

// safeSysctls is Pod Security's list (k8s.io/pod-security-admission,
// policy/check_sysctls.go, sysctlsAllowedV1Dot37).
var safeSysctls = []string{
	"kernel.shm_rmid_forced",
	"net.ipv4.ip_local_port_range",
	"net.ipv4.ip_local_reserved_ports",
	"net.ipv4.ip_unprivileged_port_start",
	"net.ipv4.ping_group_range",
	"net.ipv4.tcp_fin_timeout",
	"net.ipv4.tcp_keepalive_intvl",
	"net.ipv4.tcp_keepalive_probes",
	"net.ipv4.tcp_keepalive_time",
	"net.ipv4.tcp_notsent_lowat",
	"net.ipv4.tcp_rmem",
	"net.ipv4.tcp_slow_start_after_idle",
	"net.ipv4.tcp_syncookies",
	"net.ipv4.tcp_wmem",
}

var sysctls = &Rule{
	ID:          "sysctls",
	Category:    "security",
	Severity:    policy.Error,
	Description: "Pods set only safe sysctls: those namespaced and isolated from other Pods on the node.",
	Remediation: "Remove every sysctl but " + strings.Join(safeSysctls, ", ") + "; tune the node itself for the rest.",
	Defaulted:   "no",
	Check: func(t *workload.Template, _ *policy.Policy) []Finding {
		sc := t.Spec.SecurityContext
		if sc == nil {
			return nil
		}
		var out []Finding
		for i, s := range sc.Sysctls {
			if slices.Contains(safeSysctls, s.Name) {
				continue
			}
			out = append(out, Finding{
				Path:    t.SpecPath.Child("securityContext", "sysctls").Index(i).Child("name").String(),
				Problem: fmt.Sprintf("sets the sysctl %q, which is not in the safe set and may affect the whole node", s.Name),
				Fix:     fmt.Sprintf("remove %s from securityContext.sysctls and tune it on the node if it is needed", s.Name),
			})
		}
		return out
	},
}

// SafeSysctls are the sysctls a Pod may set (for the rule's in-process
// form, package export).
func SafeSysctls() []string { return slices.Clone(safeSysctls) }
