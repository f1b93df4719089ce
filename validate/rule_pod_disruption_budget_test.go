package validate

import (
	"testing"

	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// TestEvictionsRoundAsTheDisruptionControllerDoes: how many Pods a
// budget lets go at a replica count, percentages rounded up for both
// fields, as the disruption controller computes them.
func TestEvictionsRoundAsTheDisruptionControllerDoes(t *testing.T) {
	tests := []struct {
		name            string
		min, maxUnavail *intstr.IntOrString
		replicas, want  int32
	}{
		{"maxUnavailable 1 of 3", nil, ptrTo(intstr.FromInt32(1)), 3, 1},
		{"maxUnavailable 10% of 3 rounds up to 1", nil, ptrTo(intstr.FromString("10%")), 3, 1},
		{"maxUnavailable 0% of 10", nil, ptrTo(intstr.FromString("0%")), 10, 0},
		{"minAvailable 2 of 3", ptrTo(intstr.FromInt32(2)), nil, 3, 1},
		{"minAvailable 3 of 3", ptrTo(intstr.FromInt32(3)), nil, 3, 0},
		{"minAvailable 5 of 3 is none, not negative", ptrTo(intstr.FromInt32(5)), nil, 3, 0},
		{"minAvailable 50% of 3 rounds up to 2, leaving 1", ptrTo(intstr.FromString("50%")), nil, 3, 1},
		{"minAvailable 90% of 2 rounds up to 2, leaving none", ptrTo(intstr.FromString("90%")), nil, 2, 0},
		{"neither holds nothing back", nil, nil, 4, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pdb := &policyv1.PodDisruptionBudget{Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: tt.min, MaxUnavailable: tt.maxUnavail}}
			if got, _ := evictions(pdb, tt.replicas); got != tt.want {
				t.Errorf("evictions = %d, want %d", got, tt.want)
			}
		})
	}
}

// TestABudgetWithAnEmptySelectorSelectsEveryPod: policy/v1 semantics, an
// empty selector selects the whole namespace; a missing one nothing.
func TestABudgetWithAnEmptySelectorSelectsEveryPod(t *testing.T) {
	run := loadRun(t, "testdata/pod-disruption-budget/fail/deployment-no-budget.yaml")
	dep := run.judged(podDisruptionBudget)[0]
	all := &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: "all", Namespace: fixtureNamespace},
		Spec: policyv1.PodDisruptionBudgetSpec{Selector: &metav1.LabelSelector{}, MaxUnavailable: ptrTo(intstr.FromInt32(1))}}
	none := all.DeepCopy()
	none.Name, none.Spec.Selector = "none", nil
	if got := run.findings(podDisruptionBudget, dep, fixturePolicy("pod-disruption-budget")); len(got) != 1 {
		t.Fatalf("before: %d findings, want 1", len(got))
	}
	run.view.Add(none, "")
	if got := run.findings(podDisruptionBudget, dep, fixturePolicy("pod-disruption-budget")); len(got) != 1 {
		t.Errorf("a budget without a selector counted: %d findings, want 1", len(got))
	}
	run.view.Add(all, "")
	if got := run.findings(podDisruptionBudget, dep, fixturePolicy("pod-disruption-budget")); len(got) != 0 {
		t.Errorf("a budget with an empty selector did not count: %+v", got)
	}
}

// TestABudgetInAnotherNamespaceDoesNotCount: a tenant's budget never
// stands in for another namespace's.
func TestABudgetInAnotherNamespaceDoesNotCount(t *testing.T) {
	run := loadRun(t, "testdata/pod-disruption-budget/pass/deployment-with-budget.yaml")
	dep := run.judged(podDisruptionBudget)[0]
	dep.Meta.Namespace = "elsewhere"
	got := podDisruptionBudget.findings(dep, run.view, "elsewhere", fixturePolicy("pod-disruption-budget"))
	if len(got) != 1 {
		t.Errorf("the budget of namespace %s counted for namespace elsewhere: %+v", fixtureNamespace, got)
	}
}

func TestPodDisruptionBudgetMessages(t *testing.T) {
	expectMessages(t, "pod-disruption-budget", []messageCase{
		{name: "autoscaled-no-budget.yaml", file: "fail/autoscaled-no-budget.yaml", want: []string{
			"[pod-disruption-budget] Deployment \"web\": workload is kept at 3 or more replicas by HorizontalPodAutoscaler \"web\", but no PodDisruptionBudget in the documents checked selects its Pods, so a node drain may evict them all at once (spec.template.metadata.labels): create a PodDisruptionBudget: {apiVersion: policy/v1, kind: PodDisruptionBudget, metadata: {name: web, namespace: default}, spec: {maxUnavailable: 1, selector: {matchLabels: {app: web}}}}",
		}},
		{name: "deployment-no-budget.yaml", file: "fail/deployment-no-budget.yaml", want: []string{
			"[pod-disruption-budget] Deployment \"web\": workload runs 3 replicas, but no PodDisruptionBudget in the documents checked selects its Pods, so a node drain may evict them all at once (spec.template.metadata.labels): create a PodDisruptionBudget: {apiVersion: policy/v1, kind: PodDisruptionBudget, metadata: {name: web, namespace: default}, spec: {maxUnavailable: 1, selector: {matchLabels: {app: web}}}}",
		}},
		{name: "statefulset-budget-allows-none.yaml", file: "fail/statefulset-budget-allows-none.yaml", want: []string{
			"[pod-disruption-budget] StatefulSet \"web\": workload runs 3 replicas, and PodDisruptionBudget \"web\" (minAvailable: 3) allows no eviction at that count, so a node drain never finishes (spec.template.metadata.labels): set spec.maxUnavailable: 1 on PodDisruptionBudget \"web\" (and remove minAvailable)",
		}},
		{name: "two-budgets.yaml", file: "fail/two-budgets.yaml", want: []string{
			"[pod-disruption-budget] Deployment \"web\": workload has its Pods selected by 2 PodDisruptionBudgets (\"web\", \"web-too\"): the eviction API refuses to evict a Pod that several budgets select, so a node drain stalls (spec.template.metadata.labels): keep one PodDisruptionBudget for these Pods and delete or narrow the others' selectors",
		}},
	})
}
