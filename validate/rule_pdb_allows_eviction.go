package validate

// pdb-allows-eviction: a PodDisruptionBudget can ever allow an eviction.
// maxUnavailable: 0 (or 0%) and minAvailable: 100% forbid every eviction
// of the Pods they select, whatever their count: a node drain then waits
// forever, and cluster upgrades stall on that node. Checked fields:
// spec.maxUnavailable and spec.minAvailable of the budget.

import (
	"fmt"

	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/workload"
)

var pdbAllowsEviction = &Rule{
	ID:          "pdb-allows-eviction",
	Category:    "reliability",
	Severity:    policy.Warning,
	Description: "PodDisruptionBudgets can allow an eviction: not maxUnavailable: 0 or 0%, not minAvailable: 100%.",
	Remediation: "Set spec.maxUnavailable: 1 (or a minAvailable below the replica count).",
	Defaulted:   "no",
	Kinds:       []string{"PodDisruptionBudget"},
	Check: func(t *workload.Template, _ *policy.Policy) []Finding {
		pdb, ok := t.Object.(*policyv1.PodDisruptionBudget)
		if !ok {
			return nil
		}
		const fix = "set spec.maxUnavailable: 1, so that one Pod at a time may be evicted"
		if mu := pdb.Spec.MaxUnavailable; mu != nil && isZero(*mu) {
			return []Finding{{
				Path:    "spec.maxUnavailable",
				Scope:   "budget",
				Problem: fmt.Sprintf("allows no eviction (maxUnavailable: %s), so a node drain never finishes while its Pods run there", mu.String()),
				Fix:     fix,
			}}
		}
		if ma := pdb.Spec.MinAvailable; ma != nil && ma.Type == intstr.String && ma.StrVal == "100%" {
			return []Finding{{
				Path:    "spec.minAvailable",
				Scope:   "budget",
				Problem: "allows no eviction (minAvailable: 100%), so a node drain never finishes while its Pods run there",
				Fix:     fix + " (and remove minAvailable)",
			}}
		}
		return nil
	},
}

// isZero reports whether v is 0 or "0%".
func isZero(v intstr.IntOrString) bool {
	if v.Type == intstr.Int {
		return v.IntVal == 0
	}
	return v.StrVal == "0%" || v.StrVal == "0"
}
