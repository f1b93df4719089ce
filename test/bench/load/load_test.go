package load

import (
	"testing"
	"time"
)

func TestPool(t *testing.T) {
	ms := time.Millisecond
	a := Result{Requests: 3, Elapsed: time.Second, ServerCPU: 30 * ms, MaxRSSKB: 100, Answer: "allowed",
		Latencies: []time.Duration{1 * ms, 2 * ms, 9 * ms}}
	b := Result{Requests: 2, Elapsed: time.Second, ServerCPU: 20 * ms, MaxRSSKB: 300, MaxAnonKB: 7, Answer: "allowed+patch",
		Latencies: []time.Duration{3 * ms, 4 * ms}}
	p := Pool(a, b)
	if p.Requests != 5 || p.Elapsed != 2*time.Second || p.ServerCPU != 50*ms {
		t.Fatalf("totals: %+v", p)
	}
	if p.PerSecond != 2.5 {
		t.Errorf("PerSecond = %v, want 2.5", p.PerSecond)
	}
	if p.CPUPerRequest != 10*ms {
		t.Errorf("CPUPerRequest = %v, want 10ms", p.CPUPerRequest)
	}
	if p.P50 != 3*ms || p.Max != 9*ms || p.P99 != 9*ms {
		t.Errorf("percentiles over both: p50 %v p99 %v max %v, want 3ms 9ms 9ms", p.P50, p.P99, p.Max)
	}
	if p.MaxRSSKB != 300 || p.MaxAnonKB != 7 || p.Answer != "allowed" {
		t.Errorf("maxima and answer: %+v", p)
	}
	if len(a.Latencies) != 3 || a.Latencies[2] != 9*ms {
		t.Errorf("Pool changed its input: %v", a.Latencies)
	}
}
