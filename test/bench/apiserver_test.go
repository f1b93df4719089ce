package main

import (
	"testing"
	"time"
)

func TestParseWebhookMetrics(t *testing.T) {
	text := `# HELP apiserver_admission_webhook_admission_duration_seconds [STABLE] Admission webhook latency
# TYPE apiserver_admission_webhook_admission_duration_seconds histogram
apiserver_admission_webhook_admission_duration_seconds_bucket{name="m.example",operation="CREATE",rejected="false",type="admit",le="0.005"} 10
apiserver_admission_webhook_admission_duration_seconds_sum{name="m.example",operation="CREATE",rejected="false",type="admit"} 0.25
apiserver_admission_webhook_admission_duration_seconds_count{name="m.example",operation="CREATE",rejected="false",type="admit"} 12
apiserver_admission_webhook_admission_duration_seconds_sum{name="v.example",operation="CREATE",rejected="false",type="validating"} 0.5
apiserver_admission_webhook_admission_duration_seconds_count{name="v.example",operation="CREATE",rejected="false",type="validating"} 10
apiserver_admission_webhook_admission_duration_seconds_count{name="v.example",operation="CREATE",rejected="true",type="validating"} 2
apiserver_admission_webhook_rejection_count{name="v.example",type="validating"} 2
`
	got, err := parseWebhookMetrics(text)
	if err != nil {
		t.Fatal(err)
	}
	if got.seconds != 750*time.Millisecond || got.validating != 12 {
		t.Errorf("got %v over %d validating calls, want 750ms over 12", got.seconds, got.validating)
	}
	if _, err := parseWebhookMetrics(`apiserver_admission_webhook_admission_duration_seconds_sum{type="admit"} x` + "\n"); err == nil {
		t.Error("a value that is not a number was accepted")
	}
}
