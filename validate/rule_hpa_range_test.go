package validate

import "testing"

func TestHPARangeMessages(t *testing.T) {
	expectMessages(t, "hpa-range", []messageCase{
		{name: "fixed.yaml", file: "fail/fixed.yaml", want: []string{
			"[hpa-range] HorizontalPodAutoscaler \"web\": autoscaler cannot scale Deployment \"web\": maxReplicas 3 is not above minReplicas 3 (spec.maxReplicas): set spec.maxReplicas above 3 (for example 6)",
		}},
		{name: "max-one.yaml", file: "fail/max-one.yaml", want: []string{
			"[hpa-range] HorizontalPodAutoscaler \"web\": autoscaler cannot scale Deployment \"web\": maxReplicas 1 is not above minReplicas 1 (spec.maxReplicas): set spec.maxReplicas above 1 (for example 2)",
		}},
	})
}
