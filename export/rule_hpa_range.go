package export

// hpa-range: HorizontalPodAutoscalers can scale: maxReplicas is above
// minReplicas.

func init() {
	register("hpa-range", form{subject: autoscalers, checks: []check{podSpec(check{
		bad:   func(string) string { return "object.spec.maxReplicas <= " + minReplicas },
		scope: "autoscaler",
		path:  func(string) string { return "'spec.maxReplicas'" },
		problem: func(string) string {
			return "'cannot scale ' + " + target + " + ': maxReplicas ' + string(object.spec.maxReplicas) + ' is not above minReplicas ' + string(" + minReplicas + ")"
		},
		// above the floor, for example twice it (the webhook's words)
		fixOf: func(string) string {
			return "'set spec.maxReplicas above ' + string(" + minReplicas + ") + ' (for example ' + string(2 * " + minReplicas + " > " + minReplicas + " + 1 ? 2 * " + minReplicas + " : " + minReplicas + " + 1) + ')'"
		},
	})}})
}
