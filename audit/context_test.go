package audit_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/plimsoll/plimsoll/audit"
	"github.com/plimsoll/plimsoll/internal/kube/kubetest"
	"github.com/plimsoll/plimsoll/policy"
)

// The context rules in the audit: what they read (budgets, autoscalers,
// quotas, limit ranges) is listed from the cluster, and budgets and
// autoscalers are judged as objects of their own.

func budget(ns, name string, matchLabels map[string]string) *policyv1.PodDisruptionBudget {
	one := intstr.FromInt32(1)
	return &policyv1.PodDisruptionBudget{ObjectMeta: meta_(ns, name), Spec: policyv1.PodDisruptionBudgetSpec{
		MaxUnavailable: &one, Selector: &metav1.LabelSelector{MatchLabels: matchLabels}}}
}

func autoscalerOf(ns, name, kind, target string) *autoscalingv2.HorizontalPodAutoscaler {
	two := int32(2)
	return &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: meta_(ns, name), Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
		ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: kind, Name: target},
		MinReplicas:    &two, MaxReplicas: 6}}
}

func quota(ns string) *corev1.ResourceQuota {
	return &corev1.ResourceQuota{ObjectMeta: meta_(ns, "quota"), Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePods: mustQ("50")}}}
}

func limitRange(ns string) *corev1.LimitRange {
	return &corev1.LimitRange{ObjectMeta: meta_(ns, "defaults"), Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{Type: corev1.LimitTypeContainer}}}}
}

// findings lists the findings of rule as "Kind/name".
func findings(r *audit.Report, rule string) []string {
	var out []string
	for _, ob := range r.Objects {
		for _, f := range ob.Findings {
			if f.Rule == rule {
				out = append(out, ob.Kind+"/"+ob.Name)
			}
		}
	}
	return out
}

func TestAuditReportsADeploymentWithoutABudget(t *testing.T) {
	ns := "team-a"
	three := int32(3)
	web := deployment(ns, "web", goodSpec())
	web.Spec.Replicas = &three
	tests := []struct {
		name string
		objs []runtime.Object
		want []string
	}{
		{"three replicas and no budget: reported", []runtime.Object{web}, []string{"Deployment/web"}},
		{"three replicas and a budget that selects its Pods: not reported",
			[]runtime.Object{web, budget(ns, "web", map[string]string{"app": "web"})}, nil},
		{"a budget that selects other Pods does not count",
			[]runtime.Object{web, budget(ns, "api", map[string]string{"app": "api"})}, []string{"Deployment/web"}},
		{"a budget in another namespace does not count",
			[]runtime.Object{web, namespace("team-b", mode("enforce")), budget("team-b", "web", map[string]string{"app": "web"})}, []string{"Deployment/web"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, calls := paginated(t, append([]runtime.Object{namespace(ns, mode("enforce"))}, tt.objs...))
			r := runAudit(t, c, audit.Options{})
			if diff := cmp.Diff(tt.want, findings(r, "pod-disruption-budget")); diff != "" {
				t.Errorf("pod-disruption-budget findings (-want +got):\n%s", diff)
			}
			if len(calls.of("poddisruptionbudgets")) == 0 {
				t.Error("the budgets were not listed")
			}
		})
	}
}

func TestAuditJudgesBudgetsAndAutoscalers(t *testing.T) {
	ns := "team-a"
	zero := intstr.FromInt32(0)
	stuck := budget(ns, "stuck", map[string]string{"app": "web"})
	stuck.Spec.MaxUnavailable = &zero
	objs := []runtime.Object{
		namespace(ns, mode("enforce")),
		deployment(ns, "web", goodSpec()),
		stuck,
		// Listed before the Deployment it scales, judged after it.
		autoscalerOf(ns, "web", "Deployment", "web"),
		autoscalerOf(ns, "ghost", "Deployment", "gone"),
	}
	c, _ := paginated(t, objs)
	r := runAudit(t, c, audit.Options{})
	if diff := cmp.Diff([]string{"HorizontalPodAutoscaler/ghost"}, findings(r, "hpa-target")); diff != "" {
		t.Errorf("hpa-target findings (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"PodDisruptionBudget/stuck"}, findings(r, "pdb-allows-eviction")); diff != "" {
		t.Errorf("pdb-allows-eviction findings (-want +got):\n%s", diff)
	}
	// The Deployment is scaled: replicas-with-hpa reads the autoscaler.
	if diff := cmp.Diff([]string{"Deployment/web"}, findings(r, "replicas-with-hpa")); diff != "" {
		t.Errorf("replicas-with-hpa findings (-want +got):\n%s", diff)
	}

	// The reports name the kind and the object.
	var text bytes.Buffer
	r.WriteText(&text, false)
	for _, want := range []string{
		`      HorizontalPodAutoscaler ghost: autoscaler scales Deployment "gone", which is not in the cluster (spec.scaleTargetRef.name)`,
		"      PodDisruptionBudget stuck: budget allows no eviction (maxUnavailable: 0)",
	} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("the text report lacks %q:\n%s", want, text.String())
		}
	}
	var html bytes.Buffer
	if err := r.WriteHTML(&html); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(html.String(), "<td>HorizontalPodAutoscaler <strong>ghost</strong></td>") ||
		!strings.Contains(html.String(), "<td>Namespace <strong>team-a</strong></td>") {
		t.Errorf("the HTML report does not name the autoscaler and the namespace:\n%s", html.String())
	}
	var js bytes.Buffer
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"kind": "HorizontalPodAutoscaler",
      "namespace": "team-a",
      "name": "ghost",`, `"kind": "Namespace",
      "namespace": "",
      "name": "team-a",`} {
		if !strings.Contains(js.String(), want) {
			t.Errorf("the JSON report lacks %s:\n%s", want, js.String())
		}
	}
}

func TestAuditJudgesNamespacesThatRunWorkloads(t *testing.T) {
	objs := []runtime.Object{
		namespace("bare", mode("enforce")), deployment("bare", "web", goodSpec()),
		namespace("quota-only", mode("enforce")), deployment("quota-only", "web", goodSpec()), quota("quota-only"),
		namespace("guarded", mode("enforce")), deployment("guarded", "web", goodSpec()), quota("guarded"), limitRange("guarded"),
		namespace("empty", mode("enforce")),
		// Pods alone run workloads too.
		namespace("pods", mode("enforce")), pod("pods", "debug", goodSpec()),
	}
	c, _ := paginated(t, objs)
	r := runAudit(t, c, audit.Options{})
	var got []string
	for _, ob := range r.Objects {
		if ob.Kind != "Namespace" {
			continue
		}
		var rules []string
		for _, f := range ob.Findings {
			rules = append(rules, f.Rule+": "+strings.SplitN(f.Detail, ",", 2)[0])
		}
		got = append(got, fmt.Sprintf("%s (%s) %v", ob.Name, ob.Namespace, rules))
	}
	want := []string{
		"bare (bare) [namespace-quota: namespace has no ResourceQuota in the cluster namespace-quota: namespace has no LimitRange in the cluster]",
		"guarded (guarded) []",
		"pods (pods) [namespace-quota: namespace has no ResourceQuota in the cluster namespace-quota: namespace has no LimitRange in the cluster]",
		"quota-only (quota-only) [namespace-quota: namespace has no LimitRange in the cluster]",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("namespaces judged (-want +got):\n%s", diff)
	}
	for _, ns := range r.Namespaces {
		if ns.Name == "empty" && ns.Objects != 0 {
			t.Errorf("a namespace without workloads is judged: %d objects", ns.Objects)
		}
	}
}

func TestAuditExemptsANamespaceFromItsOwnRules(t *testing.T) {
	p := policy.Default()
	p.Exemptions = []policy.Exemption{{Reason: "quotas by the platform team", Namespaces: []string{"legacy"}, Rules: []string{"namespace-quota"}}}
	c, _ := paginated(t, []runtime.Object{namespace("legacy", mode("enforce")), deployment("legacy", "web", goodSpec())})
	r := runAudit(t, c, audit.Options{Policy: p})
	exempted := 0
	for _, ob := range r.Objects {
		for _, f := range ob.Findings {
			switch {
			case f.Rule != "namespace-quota":
			case f.Exemption == "":
				t.Errorf("namespace-quota on %s %s is not lifted by the namespace's exemption", ob.Kind, ob.Name)
			default:
				exempted++
			}
		}
	}
	if exempted != 2 {
		t.Errorf("%d namespace-quota findings exempted, want 2 (no quota, no limit range)", exempted)
	}
}

func TestAuditWithContextRulesOffListsNoneOfWhatTheyRead(t *testing.T) {
	ns := "team-a"
	three := int32(3)
	web := deployment(ns, "web", goodSpec())
	web.Spec.Replicas = &three
	c, calls := paginated(t, []runtime.Object{namespace(ns, mode("enforce")), web, autoscalerOf(ns, "ghost", "Deployment", "gone")})
	off := false
	p := policy.Default()
	p.ContextRules = &off
	r := runAudit(t, c, audit.Options{Policy: p})
	for _, res := range []string{"poddisruptionbudgets", "horizontalpodautoscalers", "resourcequotas", "limitranges"} {
		if n := len(calls.of(res)); n != 0 {
			t.Errorf("%s listed %d times with context rules off", res, n)
		}
	}
	if diff := cmp.Diff([]string{"team-a/Deployment/web"}, reported(r)); diff != "" {
		t.Errorf("objects judged with context rules off (-want +got):\n%s", diff)
	}
}

func TestAuditFailsWhenItCannotReadBudgets(t *testing.T) {
	c, _ := paginated(t, []runtime.Object{namespace("team-a", mode("enforce")), deployment("team-a", "web", goodSpec())})
	c.PrependReactor("list", "poddisruptionbudgets", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "policy", Resource: "poddisruptionbudgets"}, "", fmt.Errorf("RBAC"))
	})
	o := audit.Options{Client: kubetest.Wrap(c)}
	_, err := audit.Run(context.Background(), o)
	if err == nil || !strings.Contains(err.Error(), "listing poddisruptionbudgets in namespace team-a") {
		t.Errorf("error = %v, want it to name the budgets and the namespace: a partial audit would read as a clean one", err)
	}
}

// The background audit follows what the context rules read: a budget
// created for a Deployment clears the Deployment's finding, though the
// Deployment did not change (its verdict was cached).
func TestBackgroundAuditFollowsBudgets(t *testing.T) {
	ns := "team-a"
	three := int32(3)
	web := deployment(ns, "web", goodSpec())
	web.Spec.Replicas = &three
	c := fake.NewClientset(namespace(ns, mode("enforce")), web, autoscalerOf(ns, "ghost", "Deployment", "gone"))
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{audit.PolicyReportGVR: "PolicyReportList"})
	o := audit.DefaultBackgroundOptions()
	o.Client, o.Dynamic = kubetest.Wrap(c), dyn
	o.MetricsListen, o.HealthListen = "127.0.0.1:0", "0"
	o.Debounce = 0
	b, err := audit.NewBackground(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("background audit: %v", err)
		}
	}()
	// results reads the namespace's PolicyReport as "Kind name rule"
	// (and the namespace each result's object names).
	results := func() (map[string]bool, error) {
		u, err := dyn.Resource(audit.PolicyReportGVR).Namespace(ns).Get(ctx, audit.ReportName, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		rs, _, _ := unstructured.NestedSlice(u.Object, "results")
		out := map[string]bool{}
		for _, item := range rs {
			r := item.(map[string]any)
			ref := r["resources"].([]any)[0].(map[string]any)
			rule, _ := r["rule"].(string)
			where, _ := ref["namespace"].(string)
			out[fmt.Sprintf("%s %s %s in %q", ref["kind"], ref["name"], rule, where)] = true
		}
		return out, nil
	}
	want := []string{
		`Deployment web pod-disruption-budget in "team-a"`,
		`HorizontalPodAutoscaler ghost hpa-target in "team-a"`,
		`Namespace team-a namespace-quota in ""`,
	}
	waitFor(t, "the first report", func() bool {
		got, err := results()
		return err == nil && !slices.ContainsFunc(want, func(w string) bool { return !got[w] })
	})
	if g := gauge(t, b, ns, "pod-disruption-budget"); g != 1 {
		t.Errorf("plimsoll_audit_violations{pod-disruption-budget} = %v, want 1", g)
	}

	if _, err := c.PolicyV1().PodDisruptionBudgets(ns).Create(ctx, budget(ns, "web", map[string]string{"app": "web"}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the budget to clear the Deployment's finding", func() bool {
		got, err := results()
		return err == nil && !got[want[0]] && got[want[1]]
	})
	if g := gauge(t, b, ns, "pod-disruption-budget"); g != 0 {
		t.Errorf("plimsoll_audit_violations{pod-disruption-budget} = %v after the budget, want gone", g)
	}

	// The autoscaler is judged again when its namespace is: the
	// Deployment it names appears.
	if _, err := c.AppsV1().Deployments(ns).Create(ctx, deployment(ns, "gone", goodSpec()), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the autoscaler's target to be found", func() bool {
		got, err := results()
		return err == nil && !got[want[1]]
	})

	// A quota and a limit range clear the namespace's findings.
	if _, err := c.CoreV1().ResourceQuotas(ns).Create(ctx, quota(ns), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CoreV1().LimitRanges(ns).Create(ctx, limitRange(ns), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the quota and the limit range to clear the namespace's findings", func() bool {
		got, err := results()
		return err == nil && !got[want[2]]
	})
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// gauge reads plimsoll_audit_violations{namespace,rule,severity="warning"}
// from the background audit's /metrics; 0 when the series is absent.
func gauge(t *testing.T, b *audit.Background, ns, rule string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + b.MetricsAddr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	prefix := fmt.Sprintf(`plimsoll_audit_violations{namespace=%q,rule=%q,severity="warning"} `, ns, rule)
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), prefix); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	return 0
}
