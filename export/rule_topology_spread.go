package export

import (
	"fmt"
	"strings"

	"github.com/plimsoll/plimsoll/validate"
)

// topology-spread: Deployments and StatefulSets with several replicas
// spread them across nodes (topologySpreadConstraints or podAntiAffinity).
// The API server has written spec.replicas (1 when unset) before either
// the webhook or a policy sees the object.

// flowMap is CEL: the labels of map m as a YAML flow mapping, sorted by
// key, as the webhook writes them: up to validate.FlowMapLabels of them
// (the key of rank i picked for each i: CEL before Kubernetes 1.34 has no
// sort), a placeholder past that.
func flowMap(m string) string {
	ranks := make([]string, validate.FlowMapLabels)
	for i := range ranks {
		ranks[i] = fmt.Sprint(i)
	}
	return "(" + m + ".size() == 0 || " + m + ".size() > " + fmt.Sprint(validate.FlowMapLabels) + " ? " + celString(validate.FlowMapPlaceholder) +
		" : '{' + [" + strings.Join(ranks, ", ") + "].filter(i, i < " + m + ".size())" +
		".map(i, " + m + ".filter(k, " + m + ".filter(j, j < k).size() == i)[0])" +
		".map(k, k + ': ' + " + m + "[k]).join(', ') + '}')"
}

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
		fixOf: func(string) string {
			return "'add topologySpreadConstraints: [{maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: ScheduleAnyway, labelSelector: {matchLabels: ' + " + flowMap("variables.podLabels") + " + '}' + '}]'" // (not "}}", which Helm would read as an action)
		},
	})}})
}
