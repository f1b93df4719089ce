package webhook_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/validate"
	"github.com/plimsoll/plimsoll/webhook"
	"github.com/plimsoll/plimsoll/workload"
)

// internalErrors gathers plimsoll_internal_errors_total from reg, by path.
// (prometheus/testutil would need a module go.mod does not list.)
func internalErrors(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "plimsoll_internal_errors_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) != 1 || m.GetLabel()[0].GetName() != "path" || m.GetCounter() == nil {
				t.Fatalf("plimsoll_internal_errors_total has labels %v, want path only, as a counter", m.GetLabel())
			}
			out[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
		}
	}
	return out
}

// TestInternalErrorMetric: plimsoll_internal_errors_total{path} starts at 0
// for both paths (so an alert on its rate sees a series at once) and
// counts each recovered failure under its own path only.
func TestInternalErrorMetric(t *testing.T) {
	reg := prometheus.NewRegistry()
	r := webhook.NewPrometheusRecorder(reg)
	want := func(mutate, validate float64) {
		t.Helper()
		if diff := cmp.Diff(map[string]float64{"mutate": mutate, "validate": validate}, internalErrors(t, reg)); diff != "" {
			t.Errorf("plimsoll_internal_errors_total by path (-want +got):\n%s", diff)
		}
	}
	want(0, 0)
	r.InternalError(webhook.EndpointValidate)
	want(0, 1)
	r.InternalError(webhook.EndpointMutate)
	r.InternalError(webhook.EndpointValidate)
	want(1, 2)
}

// TestAPanickingRuleCountsAnInternalError: through the handler, a rule that
// panics is recovered and counted once, under validate.
func TestAPanickingRuleCountsAnInternalError(t *testing.T) {
	broken := &validate.Rule{
		ID: "broken", Category: "test", Severity: policy.Error,
		Check: func(*workload.Template, *policy.Policy) []validate.Finding { panic("a rule fell over") },
	}
	reg := prometheus.NewRegistry()
	f := newFixture(t)
	f.h.Metrics = webhook.NewPrometheusRecorder(reg)
	f.h.Rules = []*validate.Rule{broken}
	if a := f.send(t, "/validate/enforce", create(load(t, "deployment-compliant.yaml")).body(t)); a.resp.Allowed {
		t.Fatal("a request whose rule panicked was admitted in enforce")
	}
	if diff := cmp.Diff(map[string]float64{"mutate": 0, "validate": 1}, internalErrors(t, reg)); diff != "" {
		t.Errorf("plimsoll_internal_errors_total by path (-want +got):\n%s", diff)
	}
}
