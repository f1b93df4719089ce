// Package promrules checks the chart's alerts and dashboard with
// Prometheus' own parsers: every rule parses, every expression is valid
// PromQL, and every metric they name is one plimsoll exports. It is a
// module of its own so that Prometheus' dependencies stay out of
// plimsoll's.
package promrules

import (
	"encoding/json"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/plimsoll/plimsoll/admission"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/plimsoll/plimsoll/webhook"
)

// exported lists the metric names plimsoll serves, as Prometheus stores
// them (histograms as _bucket, _sum and _count).
func exported(t *testing.T) []string {
	reg := prometheus.NewRegistry()
	rec := webhook.NewPrometheusRecorder(reg)
	rec.Request("validate", admission.Enforce, "Pod", "CREATE", "allowed", time.Millisecond)
	rec.Violation("image-tag", "error", admission.Audit)
	rec.Defaulted("resources", admission.Enforce)
	rec.Exemption("privileged", "policy")
	rec.PolicyInForce("abc")
	webhook.RegisterBuildInfo(reg, "test")
	webhook.RegisterCertificateExpiry(reg, time.Now)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range families {
		if f.GetType().String() == "HISTOGRAM" {
			names = append(names, f.GetName()+"_bucket", f.GetName()+"_sum", f.GetName()+"_count")
			continue
		}
		names = append(names, f.GetName())
	}
	return names
}

func metricsIn(t *testing.T, expr string) []string {
	t.Helper()
	e, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		t.Fatalf("invalid PromQL %q: %v", expr, err)
	}
	var names []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			names = append(names, vs.Name)
		}
		return nil
	})
	return names
}

func TestAlertRulesParseAndUseExportedMetrics(t *testing.T) {
	groups, errs := rulefmt.ParseFile("../../charts/plimsoll/files/prometheus-rules.yaml", false, model.UTF8Validation, parser.NewParser(parser.Options{}), slog.New(slog.DiscardHandler))
	if len(errs) > 0 {
		t.Fatalf("Prometheus' rule parser refuses the rules: %v", errs)
	}
	known := exported(t)
	var alerts []string
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			alerts = append(alerts, r.Alert)
			for _, m := range metricsIn(t, r.Expr) {
				if !slices.Contains(known, m) {
					t.Errorf("alert %s uses %s, which plimsoll does not export", r.Alert, m)
				}
			}
			if r.Annotations["summary"] == "" || r.Annotations["description"] == "" || r.Labels["severity"] == "" {
				t.Errorf("alert %s needs a summary, a description and a severity", r.Alert)
			}
		}
	}
	for _, want := range []string{"PlimsollWebhookErrors", "PlimsollDenialSurge", "PlimsollLatencyNearTimeout", "PlimsollCertificateExpiringSoon", "PlimsollPolicyReloadFailed", "PlimsollContextRulesSkipped"} {
		if !slices.Contains(alerts, want) {
			t.Errorf("no alert %s", want)
		}
	}
}

func TestDashboardDecodesAndUsesExportedMetrics(t *testing.T) {
	data, err := os.ReadFile("../../charts/plimsoll/files/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string `json:"title"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatalf("the dashboard is not valid JSON: %v", err)
	}
	known := exported(t)
	grafana := strings.NewReplacer("$__rate_interval", "5m", "$__range", "1h", "$__interval", "1m")
	exprs := 0
	for _, p := range dash.Panels {
		for _, target := range p.Targets {
			exprs++
			for _, m := range metricsIn(t, grafana.Replace(target.Expr)) {
				if !slices.Contains(known, m) {
					t.Errorf("panel %q uses %s, which plimsoll does not export", p.Title, m)
				}
			}
		}
	}
	if exprs < 8 {
		t.Errorf("the dashboard has only %d queries", exprs)
	}
}
