package validate

// pod-disruption-budget: a Deployment or StatefulSet that runs two or more
// replicas has exactly one PodDisruptionBudget selecting its Pods, and
// that budget lets at least one of them be evicted, so that a node drain
// takes replicas down one at a time and still finishes. Read from the
// cluster: the budgets of the namespace and the workload's autoscaler
// (whose minReplicas, when it has one, is the count that matters).

import (
	"fmt"

	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/workload"
)

var podDisruptionBudget = &Rule{
	ID:          "pod-disruption-budget",
	Category:    "reliability",
	Severity:    policy.Warning,
	Description: "Deployments and StatefulSets of two or more replicas have one PodDisruptionBudget that selects their Pods and allows at least one eviction.",
	Remediation: "Create a PodDisruptionBudget (policy/v1) with the workload's selector and maxUnavailable: 1.",
	Defaulted:   "no",
	InContext: func(t *workload.Template, a Around, _ *policy.Policy) []Finding {
		if t.Kind != "Deployment" && t.Kind != "StatefulSet" {
			return nil
		}
		hpa := autoscaler(t, a)
		count, byAutoscaler := runs(t, hpa)
		if count < 2 {
			return nil
		}
		path := podMetaPath(t).Child("labels").String()
		budgets := budgetsSelecting(a, t)
		switch len(budgets) {
		case 0:
			return []Finding{{
				Path:    path,
				Scope:   "workload",
				Problem: fmt.Sprintf("%s, but no PodDisruptionBudget in %s selects its Pods, so a node drain may evict them all at once", why(count, byAutoscaler, hpa), a.Source()),
				Fix:     "create a PodDisruptionBudget: " + budgetFor(t, a.Namespace),
			}}
		case 1:
			allowed, setting := evictions(budgets[0], count)
			if allowed >= 1 {
				return nil
			}
			return []Finding{{
				Path:  path,
				Scope: "workload",
				Problem: fmt.Sprintf("%s, and PodDisruptionBudget %q (%s) allows no eviction at that count, so a node drain never finishes",
					why(count, byAutoscaler, hpa), budgets[0].Name, setting),
				Fix: fmt.Sprintf("set spec.maxUnavailable: 1 on PodDisruptionBudget %q (and remove minAvailable)", budgets[0].Name),
			}}
		default:
			return []Finding{{
				Path:  path,
				Scope: "workload",
				Problem: fmt.Sprintf("has its Pods selected by %d PodDisruptionBudgets (%s): the eviction API refuses to evict a Pod that several budgets select, so a node drain stalls",
					len(budgets), names(budgets)),
				Fix: "keep one PodDisruptionBudget for these Pods and delete or narrow the others' selectors",
			}}
		}
	},
}
