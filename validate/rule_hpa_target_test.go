package validate

import (
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"

	"github.com/plimsoll/plimsoll/cluster"
	"github.com/plimsoll/plimsoll/policy"
)

func TestHPATargetMessages(t *testing.T) {
	expectMessages(t, "hpa-target", []messageCase{
		{name: "memory-utilization.yaml", file: "fail/memory-utilization.yaml", want: []string{
			"[hpa-target] HorizontalPodAutoscaler \"web\": autoscaler scales StatefulSet \"web\" on memory utilization, but its container \"app\" requests no memory, so the autoscaler cannot compute the utilization and does not scale (spec.metrics[0].resource.name): set spec.template.spec.containers[0].resources.requests.memory on StatefulSet \"web\" (or scale on an averageValue)",
		}},
		{name: "missing-target.yaml", file: "fail/missing-target.yaml", want: []string{
			"[hpa-target] HorizontalPodAutoscaler \"web\": autoscaler scales Deployment \"web\", which is not in the documents checked (spec.scaleTargetRef.name): create Deployment \"web\" in this namespace, or point spec.scaleTargetRef at the workload to scale",
		}},
		{name: "no-cpu-request.yaml", file: "fail/no-cpu-request.yaml", want: []string{
			"[hpa-target] HorizontalPodAutoscaler \"web\": autoscaler scales Deployment \"web\" on cpu utilization, but its container \"app\" requests no cpu, so the autoscaler cannot compute the utilization and does not scale (spec.metrics): set spec.template.spec.containers[0].resources.requests.cpu on Deployment \"web\" (or scale on an averageValue)",
		}},
	})
}

// TestHPATargetReadsContainerResourceMetrics: a ContainerResource metric
// needs the request of the container it names, not of the others.
func TestHPATargetReadsContainerResourceMetrics(t *testing.T) {
	run := loadRun(t, "testdata/hpa-target/fail/no-cpu-request.yaml")
	hpa := run.judged(hpaTarget)[0]
	h := hpa.Object.(*autoscalingv2.HorizontalPodAutoscaler)
	h.Spec.Metrics = []autoscalingv2.MetricSpec{{
		Type: autoscalingv2.ContainerResourceMetricSourceType,
		ContainerResource: &autoscalingv2.ContainerResourceMetricSource{
			Name: corev1.ResourceCPU, Container: "sidecar",
			Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType},
		},
	}}
	if got := run.findings(hpaTarget, hpa, policy.Default()); len(got) != 0 {
		t.Errorf("a metric of container sidecar judged container app: %+v", got)
	}
	h.Spec.Metrics[0].ContainerResource.Container = "app"
	got := run.findings(hpaTarget, hpa, policy.Default())
	if len(got) != 1 || got[0].Path != "spec.metrics[0].containerResource.name" {
		t.Errorf("findings %+v, want one at spec.metrics[0].containerResource.name", got)
	}
}

// keepsNoReplicaSets is a View that, like the webhook's caches, keeps no
// ReplicaSets.
type keepsNoReplicaSets struct{ *cluster.Objects }

func (keepsNoReplicaSets) Keeps(kind string) bool {
	return kind == "Deployment" || kind == "StatefulSet"
}

// TestHPATargetSaysNothingOfAKindTheSourceDoesNotKeep: an autoscaler of a
// ReplicaSet is judged where the ReplicaSets are known (check, audit),
// and not called "missing" by a source that never listed them.
func TestHPATargetSaysNothingOfAKindTheSourceDoesNotKeep(t *testing.T) {
	run := loadRun(t, "testdata/hpa-target/fail/missing-target.yaml")
	hpa := run.judged(hpaTarget)[0]
	h := hpa.Object.(*autoscalingv2.HorizontalPodAutoscaler)
	h.Spec.ScaleTargetRef.Kind = "ReplicaSet"
	if got := run.findings(hpaTarget, hpa, policy.Default()); len(got) != 1 {
		t.Errorf("with every ReplicaSet known: %d findings, want the missing target", len(got))
	}
	if got := hpaTarget.findings(hpa, keepsNoReplicaSets{run.view}, fixtureNamespace, policy.Default()); len(got) != 0 {
		t.Errorf("a source without ReplicaSets called one missing: %+v", got)
	}
}
