package validate

// topology-spread: a Deployment or StatefulSet with more than one replica
// tells the scheduler to spread them, so that one node going down does not
// take every replica with it. Checked fields: spec.topologySpreadConstraints
// and spec.affinity.podAntiAffinity of the pod template. Allowed: either
// one set (non-empty).

import (
	"fmt"
	"slices"
	"strings"

	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/workload"
)

var topologySpread = &Rule{
	ID:          "topology-spread",
	Category:    "reliability",
	Severity:    policy.Warning,
	Description: "Deployments and StatefulSets with several replicas spread them across nodes (topologySpreadConstraints or podAntiAffinity).",
	Remediation: "Add topologySpreadConstraints with topologyKey: kubernetes.io/hostname (or topology.kubernetes.io/zone), or a podAntiAffinity on the Pods' own labels.",
	Defaulted:   "no",
	Check: func(t *workload.Template, _ *policy.Policy) []Finding {
		if (t.Kind != "Deployment" && t.Kind != "StatefulSet") || t.Replicas == nil || *t.Replicas < 2 {
			return nil
		}
		if len(t.Spec.TopologySpreadConstraints) > 0 {
			return nil
		}
		if a := t.Spec.Affinity; a != nil && a.PodAntiAffinity != nil &&
			(len(a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution) > 0 || len(a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution) > 0) {
			return nil
		}
		return []Finding{{
			Path:    workload.Under(t.SpecPath, "topologySpreadConstraints"),
			Problem: fmt.Sprintf("does not spread its %d replicas (neither topologySpreadConstraints nor podAntiAffinity is set), so they may all land on one node", *t.Replicas),
			Fix:     "add topologySpreadConstraints: [{maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: ScheduleAnyway, labelSelector: {matchLabels: " + flowMap(t.PodMeta.Labels) + "}}]",
		}}
	},
}

// FlowMapLabels is how many labels flowMap writes at most: a selector of
// more is no useful suggestion, and the exported policy's message, which
// sorts them in CEL, costs the square of their number.
const FlowMapLabels = 8

// FlowMapPlaceholder is what flowMap writes for no labels or too many.
const FlowMapPlaceholder = "{<the Pods' labels>}"

// flowMap renders labels as a YAML flow mapping, sorted: {app: web}.
func flowMap(labels map[string]string) string {
	if len(labels) == 0 || len(labels) > FlowMapLabels {
		return FlowMapPlaceholder
	}
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ": " + labels[k]
	}
	return "{" + strings.Join(parts, ", ") + "}"
}
