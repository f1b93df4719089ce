package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/plimsoll/plimsoll/admission"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// scrape reads every counter of plimsoll's /metrics into "name{k=v,...}"
// keys, parsed with Prometheus' own text parser.
func scrape(t *testing.T, port int) map[string]float64 {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", port))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for name, f := range families {
		for _, m := range f.GetMetric() {
			if m.GetCounter() == nil {
				continue
			}
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			out[name+"{"+strings.Join(labels, ",")+"}"] = m.GetCounter().GetValue()
		}
	}
	return out
}

// The counters plimsoll exports match what was sent through the API
// server: one request per webhook call, each with its decision.
func TestMetricsCountWhatWasSent(t *testing.T) {
	ctx := context.Background()
	const ns = "team-metrics"
	if err := env.CreateNamespace(ctx, ns, admission.Enforce); err != nil {
		t.Fatal(err)
	}
	c, _ := newClient(t)
	// wait until the namespace is judged, then start counting
	waitJudged(t, ns)
	before := scrape(t, env.Plimsoll.MetricsPort)

	for i := range 2 { // 2 bare Pods: defaulted (mutate allowed), then validated allowed
		pod := in(load[*corev1.Pod](t, "bare-nginx-pod.yaml"), ns)
		pod.Name = fmt.Sprintf("counted-%d", i)
		if err := c.Create(ctx, pod); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 { // 3 Deployments with :latest: denied
		dep := in(load[*appsv1.Deployment](t, "latest-deployment.yaml"), ns)
		dep.Name = fmt.Sprintf("denied-%d", i)
		if err := c.Create(ctx, dep); err == nil {
			t.Fatal("a :latest Deployment was admitted")
		}
	}
	compliant := in(load[*appsv1.Deployment](t, "compliant-deployment.yaml"), ns)
	if err := c.Create(ctx, compliant); err != nil { // 1 compliant Deployment: allowed
		t.Fatal(err)
	}
	after := scrape(t, env.Plimsoll.MetricsPort)

	delta := func(key string) float64 { return after[key] - before[key] }
	want := map[string]float64{
		"plimsoll_admission_requests_total{decision=allowed,endpoint=mutate,kind=Pod,mode=enforce,operation=CREATE}":          2,
		"plimsoll_admission_requests_total{decision=denied,endpoint=validate,kind=Deployment,mode=enforce,operation=CREATE}":  3,
		"plimsoll_admission_requests_total{decision=allowed,endpoint=validate,kind=Deployment,mode=enforce,operation=CREATE}": 1,
		"plimsoll_defaults_applied_total{family=probes,mode=enforce}":                                                         2,
		"plimsoll_defaults_applied_total{family=resources,mode=enforce}":                                                      2,
		"plimsoll_defaults_applied_total{family=securityContext,mode=enforce}":                                                2,
		"plimsoll_violations_total{mode=enforce,rule=image-tag,severity=error}":                                               3,
	}
	for key, n := range want {
		if got := delta(key); got != n {
			t.Errorf("%s went up by %v, want %v", key, got, n)
		}
	}
	// The defaulted Pods pass validation with at most warnings: every
	// validate call on them is counted as allowed or warned, none denied.
	pods := delta("plimsoll_admission_requests_total{decision=allowed,endpoint=validate,kind=Pod,mode=enforce,operation=CREATE}") +
		delta("plimsoll_admission_requests_total{decision=warned,endpoint=validate,kind=Pod,mode=enforce,operation=CREATE}")
	if pods != 2 {
		t.Errorf("validate calls for the 2 Pods counted %v times, want 2", pods)
	}
	var total float64
	for key := range after {
		if strings.HasPrefix(key, "plimsoll_admission_requests_total{") {
			total += delta(key)
		}
	}
	if total != 2+2+3+1 {
		t.Errorf("admission requests went up by %v in all, want 8 (2 Pods × mutate+validate, 4 Deployments)", total)
	}
}
