package export

// topology-spread: Deployments and StatefulSets with several replicas
// spread them across nodes (topologySpreadConstraints or podAntiAffinity).
// The API server has written spec.replicas (1 when unset) before either
// the webhook or a policy sees the object.

func init() {
	spreads := "variables.spec.?topologySpreadConstraints.orValue([]).size() > 0 || " +
		"variables.spec.?affinity.?podAntiAffinity.?requiredDuringSchedulingIgnoredDuringExecution.orValue([]).size() > 0 || " +
		"variables.spec.?affinity.?podAntiAffinity.?preferredDuringSchedulingIgnoredDuringExecution.orValue([]).size() > 0"
	register("topology-spread", form{checks: []check{podSpec(check{
		bad: func(string) string {
			return "object.kind in ['Deployment', 'StatefulSet'] && object.spec.?replicas.orValue(1) >= 2 && !(" + spreads + ")"
		},
		field: "topologySpreadConstraints",
		problem: func(string) string {
			return "'does not spread its ' + string(object.spec.replicas) + ' replicas (neither topologySpreadConstraints nor podAntiAffinity is set), so they may all land on one node'"
		},
		fix: "add topologySpreadConstraints with maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: ScheduleAnyway and a labelSelector that matches the Pods' labels",
	})}})
}
