package e2e

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/plimsoll/plimsoll/admission"

	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/plimsoll/plimsoll/check"
)

// TestAuditReadsBudgetsFromTheCluster runs `plimsoll audit` against the
// real API server as the audit's ServiceAccount, with the RBAC of
// config/audit only: a Deployment of three replicas that no
// PodDisruptionBudget protects is reported (pod-disruption-budget, from
// the budgets it lists), and no longer once a budget selects its Pods;
// the budget itself is judged, and so is the namespace (namespace-quota,
// from the quotas and limit ranges it lists).
func TestAuditReadsBudgetsFromTheCluster(t *testing.T) {
	ctx := context.Background()
	const ns = "audit-context-e2e" // not auditNSPrefix: the other audit tests count those
	if err := env.CreateNamespace(ctx, ns, admission.Audit); err != nil {
		t.Fatal(err)
	}
	three := int32(3)
	labels := map[string]string{"app": "web"}
	spec := auditSpec("probed")
	spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: "kubernetes.io/hostname",
		WhenUnsatisfiable: corev1.ScheduleAnyway, LabelSelector: &metav1.LabelSelector{MatchLabels: labels}}}
	web := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns}, Spec: appsv1.DeploymentSpec{
		Replicas: &three, Selector: &metav1.LabelSelector{MatchLabels: labels},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: spec}}}
	if _, err := env.Client.AppsV1().Deployments(ns).Create(ctx, web, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	// As the audit's ServiceAccount, through a kubeconfig that
	// impersonates it: what `kubectl apply -k config/audit` grants.
	sa := auditServiceAccountConfig(t)
	for _, res := range []authorizationv1.ResourceAttributes{
		{Verb: "list", Group: "policy", Resource: "poddisruptionbudgets"},
		{Verb: "list", Group: "autoscaling", Resource: "horizontalpodautoscalers"},
		{Verb: "list", Resource: "resourcequotas"},
		{Verb: "list", Resource: "limitranges"},
	} {
		waitAuthorized(t, sa.Impersonate.UserName, sa.Impersonate.Groups, res)
	}
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	auditWriteKubeconfig(t, env.Config, kubeconfig)
	kc, err := clientcmd.LoadFromFile(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	kc.AuthInfos["e2e"].Impersonate = sa.Impersonate.UserName
	if err := clientcmd.WriteToFile(*kc, kubeconfig); err != nil {
		t.Fatal(err)
	}
	audit := func() []check.Result {
		t.Helper()
		results, _ := runAuditJSON(t, kubeconfig, ns)
		return results
	}
	ruleOn := func(rs []check.Result, rule, kind, name string) *check.Result {
		i := slices.IndexFunc(rs, func(r check.Result) bool { return r.Rule == rule && r.Kind == kind && r.Name == name })
		if i < 0 {
			return nil
		}
		return &rs[i]
	}

	before := audit()
	f := ruleOn(before, "pod-disruption-budget", "Deployment", "web")
	if f == nil || !strings.Contains(f.Message, "runs 3 replicas, but no PodDisruptionBudget in the cluster selects its Pods") {
		t.Fatalf("a Deployment of 3 replicas without a budget: no pod-disruption-budget finding that says so; results:\n%+v", before)
	}
	if f.Namespace != ns || f.Severity != "warning" || f.Path != "spec.template.metadata.labels" {
		t.Errorf("pod-disruption-budget finding: %+v", *f)
	}
	if q := ruleOn(before, "namespace-quota", "Namespace", ns); q == nil || q.Namespace != "" ||
		!strings.Contains(q.Message, "has no ResourceQuota in the cluster") {
		t.Errorf("the namespace, which runs a workload and has no quota, has no namespace-quota finding; results:\n%+v", before)
	}

	one := intstr.FromInt32(1)
	pdb := &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: policyv1.PodDisruptionBudgetSpec{MaxUnavailable: &one, Selector: &metav1.LabelSelector{MatchLabels: labels}}}
	if _, err := env.Client.PolicyV1().PodDisruptionBudgets(ns).Create(ctx, pdb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	after := audit()
	if f := ruleOn(after, "pod-disruption-budget", "Deployment", "web"); f != nil {
		t.Errorf("the Deployment is still reported once a budget selects its Pods: %s", f.Message)
	}
	for _, r := range after {
		if r.Kind == "PodDisruptionBudget" {
			t.Errorf("the budget (maxUnavailable: 1) has a finding: %s", r.Message)
		}
	}
	// A budget that allows no eviction is reported, on the budget and on
	// the Deployment it holds.
	zero := intstr.FromInt32(0)
	pdb, err = env.Client.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pdb.Spec.MaxUnavailable = &zero
	if _, err := env.Client.PolicyV1().PodDisruptionBudgets(ns).Update(ctx, pdb, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	stuck := audit()
	if ruleOn(stuck, "pdb-allows-eviction", "PodDisruptionBudget", "web") == nil {
		t.Errorf("a budget of maxUnavailable: 0 is not reported by pdb-allows-eviction; results:\n%+v", stuck)
	}
	if f := ruleOn(stuck, "pod-disruption-budget", "Deployment", "web"); f == nil || !strings.Contains(f.Message, `PodDisruptionBudget "web" (maxUnavailable: 0) allows no eviction`) {
		t.Errorf("the Deployment held by a budget that allows no eviction is not reported as such; results:\n%+v", stuck)
	}
}
