package validate

import "testing"

func TestHPAMinReplicasMessages(t *testing.T) {
	expectMessages(t, "hpa-min-replicas", []messageCase{
		{name: "one.yaml", file: "fail/one.yaml", want: []string{
			"[hpa-min-replicas] HorizontalPodAutoscaler \"web\": autoscaler may scale Deployment \"web\" down to 1 replica, so one node drain or crash takes it down (spec.minReplicas): set spec.minReplicas: 2",
		}},
		{name: "unset.yaml", file: "fail/unset.yaml", want: []string{
			"[hpa-min-replicas] HorizontalPodAutoscaler \"web\": autoscaler may scale Deployment \"web\" down to 1 replica (minReplicas unset means 1), so one node drain or crash takes it down (spec.minReplicas): set spec.minReplicas: 2",
		}},
	})
}
