package e2e

// The context rules at admission, through the real API server: a plimsoll
// serve of its own whose informers list the API server (with the admin's
// kubeconfig, or as a user RBAC grants nothing), judging a namespace in
// enforce.

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plimsoll/plimsoll/admission"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/plimsoll/plimsoll/test/chart"
	"github.com/plimsoll/plimsoll/test/harness"
)

// contextServer starts a plimsoll serve named name whose informers read
// the API server as the admin (impersonate "") or as the user
// impersonate, and returns it with a namespace it judges in enforce.
func contextServer(t *testing.T, name, impersonate string) (*harness.Extra, string) {
	t.Helper()
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := env.WriteKubeconfig(kubeconfig, impersonate); err != nil {
		t.Fatal(err)
	}
	return extraServer(t, name, chart.WebhookValues{}, "--kubeconfig", kubeconfig)
}

// extraServer starts a plimsoll serve named name with args, registered
// with the webhook configurations the chart renders with values v, and
// returns it with a namespace it judges in enforce (name-enforce). Its
// log is shown if the test fails; it is removed when the test ends.
func extraServer(t *testing.T, name string, v chart.WebhookValues, args ...string) (*harness.Extra, string) {
	t.Helper()
	ctx := context.Background()
	x, err := env.StartExtraValues(ctx, name, v, args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s's log:\n%s", name, x.Process.Log())
		}
		x.Remove(context.Background())
	})
	ns := name + "-enforce"
	if err := x.Namespace(ctx, ns, admission.Enforce); err != nil {
		t.Fatal(err)
	}
	waitJudged(t, ns)
	return x, ns
}

// withRule returns the warnings that name rule.
func withRule(ws []string, rule string) []string {
	var out []string
	for _, w := range ws {
		if strings.Contains(w, "["+rule+"]") {
			out = append(out, w)
		}
	}
	return out
}

// A Deployment of 3 replicas with no PodDisruptionBudget is admitted with
// the pod-disruption-budget warning, even in enforce; once a budget
// selecting its Pods reaches plimsoll's cache the warning is gone. An
// autoscaler is judged too.
func TestContextRulesWarnAtAdmission(t *testing.T) {
	ctx := context.Background()
	x, ns := contextServer(t, "context", "")
	waitFor(t, 2*time.Minute, "the context rules' caches to sync", func() bool {
		return strings.Contains(x.Process.Log(), "the caches of the cluster are synced")
	})
	client, warnings, err := env.ClientWithWarnings()
	if err != nil {
		t.Fatal(err)
	}

	dep := in(load[*appsv1.Deployment](t, "compliant-deployment.yaml"), ns)
	warnings.Take()
	if _, err := client.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatalf("a compliant Deployment without a budget is refused in enforce: %v", err)
	}
	ws := withRule(warnings.Take(), "pod-disruption-budget")
	if len(ws) != 1 || !strings.Contains(ws[0], "no PodDisruptionBudget in the cluster selects its Pods") {
		t.Fatalf("pod-disruption-budget warnings %q, want one saying no budget in the cluster selects its Pods", ws)
	}

	one := intstr.FromInt32(1)
	pdb := &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: ns},
		Spec:       policyv1.PodDisruptionBudgetSpec{MaxUnavailable: &one, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "api"}}},
	}
	if _, err := client.PolicyV1().PodDisruptionBudgets(ns).Create(ctx, pdb, metav1.CreateOptions{}); err != nil {
		t.Fatalf("a budget allowing one eviction is refused: %v", err)
	}
	if ws := warnings.Take(); len(ws) > 0 {
		t.Errorf("a budget allowing one eviction is warned about: %q", ws)
	}
	// The cache learns of the budget through its watch: until it has,
	// the warning may still come.
	waitFor(t, 2*time.Minute, "the warning to go once the budget is in plimsoll's cache", func() bool {
		cur, err := client.AppsV1().Deployments(ns).Get(ctx, "api", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cur.Annotations = map[string]string{"touched": time.Now().Format(time.RFC3339Nano)}
		warnings.Take()
		if _, err := client.AppsV1().Deployments(ns).Update(ctx, cur, metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
			t.Fatalf("the Deployment's update is refused: %v", err)
		}
		return len(withRule(warnings.Take(), "pod-disruption-budget")) == 0
	})

	// An autoscaler is judged on its own (minReplicas unset means 1) and
	// against its target in the cache (which exists and requests CPU).
	hpa := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: ns},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "api"},
			MaxReplicas:    5,
		},
	}
	warnings.Take()
	if _, err := client.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, hpa, metav1.CreateOptions{}); err != nil {
		t.Fatalf("an autoscaler is refused in enforce: %v", err)
	}
	ws = warnings.Take()
	if len(withRule(ws, "hpa-min-replicas")) != 1 || len(withRule(ws, "hpa-target")) != 0 {
		t.Errorf("autoscaler warnings %q, want hpa-min-replicas and no hpa-target", ws)
	}
	if n := strings.Count(x.Process.Log(), `"context":"skipped"`); n > 0 {
		t.Errorf("%d requests were judged without the context rules after the caches synced", n)
	}
}

// Where plimsoll may not list what the context rules read, it serves all
// the same: the same verdict from every other rule, at once; the context
// rules are skipped, which the log says (naming what to grant) and
// plimsoll_context_rules_skipped_total counts.
func TestContextRulesSkippedWithoutRBAC(t *testing.T) {
	ctx := context.Background()
	const user = "plimsoll-e2e-no-rbac"
	x, ns := contextServer(t, "context-norbac", user)
	waitFor(t, 2*time.Minute, "the warning that the caches cannot list", func() bool {
		log := x.Process.Log()
		return strings.Contains(log, "grant get, list and watch") && strings.Contains(log, user)
	})
	client, warnings, err := env.ClientWithWarnings()
	if err != nil {
		t.Fatal(err)
	}

	// Another rule's denial stands, unchanged.
	latest := in(load[*appsv1.Deployment](t, "latest-deployment.yaml"), ns)
	_, err = client.AppsV1().Deployments(ns).Create(ctx, latest, metav1.CreateOptions{})
	if err == nil || !strings.Contains(err.Error(), "plimsoll denied") || !strings.Contains(err.Error(), "[image-tag]") {
		t.Fatalf("the latest tag in enforce: %v, want denied by image-tag", err)
	}
	if strings.Contains(err.Error(), "pod-disruption-budget") {
		t.Errorf("a context rule judged without a cache: %v", err)
	}

	// A compliant Deployment is admitted at once (a webhook that waited
	// past its timeout would fail it: enforce's failurePolicy is Fail),
	// without the context rules' warnings.
	dep := in(load[*appsv1.Deployment](t, "compliant-deployment.yaml"), ns)
	warnings.Take()
	if _, err := client.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatalf("a compliant Deployment is refused: %v", err)
	}
	if ws := withRule(warnings.Take(), "pod-disruption-budget"); len(ws) > 0 {
		t.Errorf("pod-disruption-budget warns without a cache: %q", ws)
	}

	log := x.Process.Log()
	for _, want := range []string{`"context":"skipped"`, `"context_reason":"not_synced"`, "context rules skipped: the caches of the cluster have not synced yet"} {
		if !strings.Contains(log, want) {
			t.Errorf("the log does not say %s", want)
		}
	}
	// What "at once" was, for the record (a slow machine never fails it):
	// the latency plimsoll measured for each request judged without them.
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, `"context":"skipped"`) {
			var d struct {
				Name      string  `json:"name"`
				Decision  string  `json:"decision"`
				LatencyMS float64 `json:"latency_ms"`
			}
			if json.Unmarshal([]byte(line), &d) == nil {
				t.Logf("judged without the context rules: %s, %s in %.3f ms", d.Name, d.Decision, d.LatencyMS)
			}
		}
	}
	skipped := scrape(t, x.Process.MetricsPort)["plimsoll_context_rules_skipped_total{reason=not_synced}"]
	if skipped < 2 {
		t.Errorf("plimsoll_context_rules_skipped_total{reason=\"not_synced\"} = %v, want at least the 2 Deployments judged", skipped)
	}
}
