package validate

// hpa-target: a HorizontalPodAutoscaler scales something real. The
// workload its scaleTargetRef names exists, and its containers request
// the resources it scales on by utilization (a percentage of the
// request: without one the autoscaler cannot compute it and never
// scales). Requests that defaulting writes into the Pods count. Read
// from the cluster: the target workload. Targets of kinds plimsoll does
// not judge (custom resources with a scale subresource), or that the
// source does not keep (the webhook's caches hold no ReplicaSets), are
// not judged.

import (
	"fmt"
	"slices"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"

	"github.com/plimsoll/plimsoll/cluster"
	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/workload"
)

var hpaTarget = &Rule{
	ID:          "hpa-target",
	Category:    "reliability",
	Severity:    policy.Warning,
	Description: "HorizontalPodAutoscalers target a workload that exists and whose containers request the resources they scale on.",
	Remediation: "Point spec.scaleTargetRef at the workload, and give its containers requests for each resource the autoscaler scales on by utilization.",
	Defaulted:   "no (requests that defaulting writes count)",
	Kinds:       []string{"HorizontalPodAutoscaler"},
	InContext: func(t *workload.Template, a Around, _ *policy.Policy) []Finding {
		hpa, ok := t.Object.(*autoscalingv2.HorizontalPodAutoscaler)
		if !ok {
			return nil
		}
		ref := hpa.Spec.ScaleTargetRef
		if !slices.Contains(cluster.Scaled, ref.Kind) || !a.Keeps(ref.Kind) {
			return nil // a custom resource, or a kind the source does not keep
		}
		target := a.Workload(a.Namespace, ref.Kind, ref.Name)
		if target == nil {
			return []Finding{{
				Path:    "spec.scaleTargetRef.name",
				Scope:   "autoscaler",
				Problem: fmt.Sprintf("scales %s %q, which is not in %s", ref.Kind, ref.Name, a.Source()),
				Fix:     fmt.Sprintf("create %s %q in this namespace, or point spec.scaleTargetRef at the workload to scale", ref.Kind, ref.Name),
			}}
		}
		var out []Finding
		for _, m := range utilizationMetrics(hpa) {
			for _, c := range target.Containers() {
				if !c.LongRunning() {
					continue
				}
				if m.container != "" && c.Name != m.container {
					continue
				}
				if _, ok := c.Resources.Requests[m.resource]; ok {
					continue
				}
				out = append(out, Finding{
					Path:  m.path,
					Scope: "autoscaler",
					Problem: fmt.Sprintf("scales %s %q on %s utilization, but its container %q requests no %s, so the autoscaler cannot compute the utilization and does not scale",
						ref.Kind, ref.Name, m.resource, c.Name, m.resource),
					Fix: fmt.Sprintf("set %s.resources.requests.%s on %s %q (or scale on an averageValue)", c.Path, m.resource, ref.Kind, ref.Name),
				})
			}
		}
		return out
	},
}

type utilizationMetric struct {
	resource  corev1.ResourceName
	container string // for a ContainerResource metric
	path      string
}

// utilizationMetrics returns the metrics hpa scales on as a percentage of
// a request. No metric at all means 80% of the CPU request.
func utilizationMetrics(hpa *autoscalingv2.HorizontalPodAutoscaler) []utilizationMetric {
	if len(hpa.Spec.Metrics) == 0 {
		return []utilizationMetric{{resource: corev1.ResourceCPU, path: "spec.metrics"}}
	}
	var out []utilizationMetric
	for i, m := range hpa.Spec.Metrics {
		switch {
		case m.Type == autoscalingv2.ResourceMetricSourceType && m.Resource != nil &&
			m.Resource.Target.Type == autoscalingv2.UtilizationMetricType:
			out = append(out, utilizationMetric{resource: m.Resource.Name, path: fmt.Sprintf("spec.metrics[%d].resource.name", i)})
		case m.Type == autoscalingv2.ContainerResourceMetricSourceType && m.ContainerResource != nil &&
			m.ContainerResource.Target.Type == autoscalingv2.UtilizationMetricType:
			out = append(out, utilizationMetric{resource: m.ContainerResource.Name, container: m.ContainerResource.Container,
				path: fmt.Sprintf("spec.metrics[%d].containerResource.name", i)})
		}
	}
	return out
}
