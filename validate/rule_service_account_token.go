package validate

// service-account-token: a Pod mounts a service-account token only when
// it says it needs one. The token lets any process in the Pod call the
// API server as the ServiceAccount; most Pods never do. Allowed:
// automountServiceAccountToken set on the Pod (false, or true where the
// Pod calls the API server), or left unset on a Pod whose ServiceAccount
// sets it to false. Read from the cluster: the Pod's ServiceAccount
// (spec.serviceAccountName, "default" when unset). A source that keeps no
// ServiceAccounts judges nothing. Defaulting writes false where the
// policy opts in (defaults.serviceAccountToken: false) and the
// ServiceAccount is known and leaves it unset.

import (
	"fmt"

	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/workload"
)

var serviceAccountToken = &Rule{
	ID:          "service-account-token",
	Category:    "security",
	Severity:    policy.Warning,
	Description: "Pods mount a service-account token only when they say they need one (automountServiceAccountToken on the Pod, or false on its ServiceAccount).",
	Remediation: "Set automountServiceAccountToken: false on the Pod (or on its ServiceAccount); set it to true on the Pod only if it calls the API server.",
	Defaulted:   "where the policy opts in (defaults.serviceAccountToken: false) and neither the Pod nor its ServiceAccount set it",
	InContext: func(t *workload.Template, a Around, _ *policy.Policy) []Finding {
		if t.Spec.AutomountServiceAccountToken != nil || !a.Keeps("ServiceAccount") {
			return nil
		}
		name := t.Spec.ServiceAccountName
		if name == "" {
			name = "default"
		}
		sa := a.ServiceAccount(a.Namespace, name)
		if sa != nil && sa.AutomountServiceAccountToken != nil && !*sa.AutomountServiceAccountToken {
			return nil
		}
		whose := "neither the Pod nor the ServiceAccount sets automountServiceAccountToken: false"
		if sa == nil {
			whose = fmt.Sprintf("the Pod does not set automountServiceAccountToken: false, and the ServiceAccount is not in %s", a.Source())
		}
		return []Finding{{
			Path:    workload.Under(t.SpecPath, "automountServiceAccountToken"),
			Problem: fmt.Sprintf("mounts a token of ServiceAccount %q (%s), so any process in it can call the API server as that account", name, whose),
			Fix:     fmt.Sprintf("set automountServiceAccountToken: false on the Pod (or on ServiceAccount %q); true only if the Pod calls the API server", name),
		}}
	},
}
