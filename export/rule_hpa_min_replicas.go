package export

// hpa-min-replicas: HorizontalPodAutoscalers keep at least two replicas
// (minReplicas unset means 1).

// minReplicas is CEL: the autoscaler's minReplicas, 1 when unset.
const minReplicas = "object.spec.?minReplicas.orValue(1)"

// target is CEL: what the autoscaler scales, as the webhook names it.
const target = "object.spec.scaleTargetRef.kind + ' \"' + object.spec.scaleTargetRef.name + '\"'"

func init() {
	register("hpa-min-replicas", form{subject: autoscalers, checks: []check{podSpec(check{
		bad:   func(string) string { return minReplicas + " < 2" },
		scope: "autoscaler",
		path:  func(string) string { return "'spec.minReplicas'" },
		problem: func(string) string {
			return "'may scale ' + " + target + " + ' down to ' + string(" + minReplicas + ") + ' replica' + (has(object.spec.minReplicas) ? '' : ' (minReplicas unset means 1)') + ', so one node drain or crash takes it down'"
		},
		fix: "set spec.minReplicas: 2",
	})}})
}
