package validate

// priority-class: Pods name a priorityClassName, so that under pressure
// the scheduler preempts less important Pods for them and the kubelet
// evicts them last. Off by default: turn it on (in the policy's rules)
// for clusters or namespaces of critical workloads. Checked field:
// priorityClassName of the pod spec.

import (
	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/workload"
)

var priorityClass = &Rule{
	ID:          "priority-class",
	Category:    "reliability",
	Severity:    policy.Off,
	Description: "Pods name a priorityClassName (off by default: turn it on for critical workloads).",
	Remediation: "Set priorityClassName to a PriorityClass of the cluster that says how important the workload is.",
	Defaulted:   "no",
	Check: func(t *workload.Template, _ *policy.Policy) []Finding {
		if t.Spec.PriorityClassName != "" {
			return nil
		}
		return []Finding{{
			Path:    workload.Under(t.SpecPath, "priorityClassName"),
			Problem: "names no priorityClassName, so it is preempted and evicted like the least important Pod",
			Fix:     "set priorityClassName to one of the cluster's PriorityClasses (kubectl get priorityclasses)",
		}}
	},
}
