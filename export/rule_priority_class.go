package export

// priority-class: Pods name a priorityClassName. Off by default; exported
// where a policy turns it on. (The API server's Priority admission plugin
// writes the cluster's global default class before any validation runs,
// so the webhook and the policy see the same name.)

func init() {
	register("priority-class", form{checks: []check{podSpec(check{
		bad:   func(string) string { return "variables.spec.?priorityClassName.orValue('') == ''" },
		field: "priorityClassName",
		problem: func(string) string {
			return "'names no priorityClassName, so it is preempted and evicted like the least important Pod'"
		},
		fix: "set priorityClassName to one of the cluster's PriorityClasses (kubectl get priorityclasses)",
	})}})
}
