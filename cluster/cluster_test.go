package cluster_test

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/plimsoll/plimsoll/cluster"
)

func budget(ns, name string, sel *metav1.LabelSelector) *policyv1.PodDisruptionBudget {
	return &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: policyv1.PodDisruptionBudgetSpec{Selector: sel}}
}

func autoscaler(ns, name, apiVersion, kind, target string) *autoscalingv2.HorizontalPodAutoscaler {
	return &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: apiVersion, Kind: kind, Name: target}}}
}

func TestBudgetsSelectingFollowsPolicyV1(t *testing.T) {
	v := cluster.NewObjects("the test")
	v.Add(budget("a", "web", &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}), "")
	v.Add(budget("a", "everything", &metav1.LabelSelector{}), "")
	v.Add(budget("a", "nothing", nil), "")
	v.Add(budget("a", "tier", &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{"front"}}}}), "")
	v.Add(budget("b", "web-in-b", &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}), "")

	names := func(pdbs []*policyv1.PodDisruptionBudget) map[string]bool {
		m := map[string]bool{}
		for _, p := range pdbs {
			m[p.Name] = true
		}
		return m
	}
	got := names(cluster.BudgetsSelecting(v, "a", map[string]string{"app": "web", "tier": "front"}))
	for _, want := range []string{"web", "everything", "tier"} {
		if !got[want] {
			t.Errorf("budget %q does not select app=web,tier=front", want)
		}
	}
	if got["nothing"] {
		t.Error("a budget without a selector selected Pods")
	}
	if got["web-in-b"] {
		t.Error("a budget of namespace b selected Pods of namespace a")
	}
	if got := names(cluster.BudgetsSelecting(v, "a", map[string]string{"app": "db"})); len(got) != 1 || !got["everything"] {
		t.Errorf("app=db is selected by %v, want only the empty selector", got)
	}
}

func TestAutoscalerOfMatchesKindNameAndGroup(t *testing.T) {
	v := cluster.NewObjects("the test")
	v.Add(autoscaler("a", "web", "apps/v1", "Deployment", "web"), "")
	v.Add(autoscaler("a", "rollout", "argoproj.io/v1alpha1", "Deployment", "api"), "")
	v.Add(autoscaler("a", "z-second", "apps/v1", "Deployment", "db"), "")
	v.Add(autoscaler("a", "a-first", "apps/v1", "Deployment", "db"), "")
	if h := cluster.AutoscalerOf(v, "a", "apps", "Deployment", "web"); h == nil || h.Name != "web" {
		t.Errorf("Deployment web: got %v", h)
	}
	if h := cluster.AutoscalerOf(v, "a", "apps", "Deployment", "api"); h != nil {
		t.Errorf("an autoscaler of another API group's Deployment counted: %s", h.Name)
	}
	if h := cluster.AutoscalerOf(v, "b", "apps", "Deployment", "web"); h != nil {
		t.Errorf("an autoscaler of namespace a counted in b: %s", h.Name)
	}
	if h := cluster.AutoscalerOf(v, "a", "apps", "Deployment", "db"); h == nil || h.Name != "a-first" {
		t.Errorf("two autoscalers of one Deployment: got %v, want the first by name", h)
	}
	if h := cluster.AutoscalerOf(v, "a", "apps", "StatefulSet", "web"); h != nil {
		t.Errorf("the Deployment's autoscaler counted for a StatefulSet: %s", h.Name)
	}
}

func TestObjectsKeepsWhatTheRulesRead(t *testing.T) {
	v := cluster.NewObjects("the documents checked")
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web"}}
	for _, obj := range []struct {
		o    runtime.Object
		kept bool
	}{
		{dep, true},
		{&corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "q", Namespace: "a"}}, true},
		{&corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Name: "l", Namespace: "a"}}, true},
		{&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}}, false},
		{&appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "d"}}, false},
	} {
		if got := v.Add(obj.o, "a"); got != obj.kept {
			t.Errorf("Add(%T) = %v, want %v", obj.o, got, obj.kept)
		}
	}
	if v.Workload("a", "Deployment", "web") == nil {
		t.Error("a Deployment without a namespace was not kept in the run's namespace")
	}
	if v.Workload("b", "Deployment", "web") != nil {
		t.Error("namespace b knows namespace a's Deployment")
	}
	if v.ResourceQuotas("a") != 1 || v.LimitRanges("a") != 1 || v.ResourceQuotas("b") != 0 {
		t.Errorf("quotas a=%d limit ranges a=%d quotas b=%d, want 1 1 0", v.ResourceQuotas("a"), v.LimitRanges("a"), v.ResourceQuotas("b"))
	}
	if v.Source() != "the documents checked" {
		t.Errorf("Source() = %q", v.Source())
	}
}
