package validate

// host-namespaces: the Pod does not share the node's network, process or
// IPC namespaces (spec.hostNetwork, spec.hostPID, spec.hostIPC must be unset
// or false).

import (
	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/workload"
)

var hostNamespaces = &Rule{
	ID:          "host-namespaces",
	Category:    "security",
	Severity:    policy.Error,
	Description: "Pods do not share the node's network, process or IPC namespaces.",
	Remediation: "Remove hostNetwork, hostPID and hostIPC (or set them to false); expose ports through a Service.",
	Defaulted:   "no",
	Check: func(t *workload.Template, _ *policy.Policy) []Finding {
		var out []Finding
		for _, ns := range []struct {
			field string
			set   bool
			what  string
		}{
			{"hostNetwork", t.Spec.HostNetwork, "shares the node's network namespace"},
			{"hostPID", t.Spec.HostPID, "shares the node's process namespace"},
			{"hostIPC", t.Spec.HostIPC, "shares the node's IPC namespace"},
		} {
			if ns.set {
				out = append(out, Finding{
					Path:    workload.Under(t.SpecPath, ns.field),
					Problem: ns.what,
					Fix:     "remove " + ns.field + ": true",
				})
			}
		}
		return out
	},
}
