package validate

import "testing"

func TestReplicasWithHPAMessages(t *testing.T) {
	expectMessages(t, "replicas-with-hpa", []messageCase{
		{name: "replicas-and-autoscaler.yaml", file: "fail/replicas-and-autoscaler.yaml", want: []string{
			"[replicas-with-hpa] Deployment \"web\": workload sets replicas: 3 although HorizontalPodAutoscaler \"web\" scales it, so every apply resets the count the autoscaler chose (spec.replicas): remove spec.replicas from the manifest (HorizontalPodAutoscaler \"web\" keeps 2 to 5)",
		}},
	})
}
