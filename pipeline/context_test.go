package pipeline_test

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/plimsoll/plimsoll/cluster"
	"github.com/plimsoll/plimsoll/pipeline"
	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/validate"
)

func rulesFound(res *pipeline.Result) map[string]bool {
	m := map[string]bool{}
	for _, v := range res.Violations {
		m[v.Rule.ID] = true
	}
	return m
}

// TestAnAutoscalerIsSatisfiedByTheRequestsDefaultingWrites: hpa-target
// judges the target as its Pods will run, with the requests plimsoll
// writes in; with defaulting off, the missing request is reported.
func TestAnAutoscalerIsSatisfiedByTheRequestsDefaultingWrites(t *testing.T) {
	dep := &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "team"},
		Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "app", Image: "ghcr.io/acme/web:1.0"}},
		}}},
	}
	hpa := &autoscalingv2.HorizontalPodAutoscaler{
		TypeMeta:   metav1.TypeMeta{APIVersion: "autoscaling/v2", Kind: "HorizontalPodAutoscaler"},
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "team"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			MinReplicas:    ptr(int32(2)), MaxReplicas: 5,
		},
	}
	view := cluster.NewObjects("the documents checked")
	view.Add(dep, "")
	view.Add(hpa, "")
	judge := func(p *policy.Policy) map[string]bool {
		res, err := pipeline.Evaluate(validate.Registry(), p, pipeline.Request{Object: hpa.DeepCopy(), Operation: pipeline.Create, Namespace: "team", Cluster: view})
		if err != nil {
			t.Fatal(err)
		}
		return rulesFound(res)
	}
	if judge(policy.Default())["hpa-target"] {
		t.Error("the CPU request defaulting writes did not count")
	}
	p := policy.Default()
	p.Defaults.Resources.Enabled = false
	if !judge(p)["hpa-target"] {
		t.Error("with resource defaulting off, the missing CPU request was not reported")
	}
	if _, ok := dep.Spec.Template.Spec.Containers[0].Resources.Requests[corev1.ResourceCPU]; ok {
		t.Error("judging the autoscaler wrote a request into the Deployment the View holds")
	}
}

// TestABudgetIsJudgedAsItself: a PodDisruptionBudget goes through the
// pipeline with no pod template and no defaulting.
func TestABudgetIsJudgedAsItself(t *testing.T) {
	zero := intstr.FromInt32(0)
	pdb := &policyv1.PodDisruptionBudget{
		TypeMeta:   metav1.TypeMeta{APIVersion: "policy/v1", Kind: "PodDisruptionBudget"},
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "team"},
		Spec:       policyv1.PodDisruptionBudgetSpec{MaxUnavailable: &zero, Selector: &metav1.LabelSelector{}},
	}
	for _, op := range []pipeline.Operation{pipeline.Create, pipeline.Update} {
		req := pipeline.Request{Object: pdb, Operation: op, Namespace: "team", PodDefaulted: true}
		if op == pipeline.Update {
			req.Old = pdb.DeepCopy()
		}
		res, err := pipeline.Evaluate(validate.Registry(), policy.Default(), req)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Violations) != 1 || res.Violations[0].Rule.ID != "pdb-allows-eviction" {
			t.Fatalf("%s: violations %v, want pdb-allows-eviction alone", op, rulesFound(res))
		}
		if op == pipeline.Update && !res.Violations[0].Preexisting {
			t.Error("an UPDATE that left maxUnavailable: 0 as it was is not marked preexisting")
		}
	}
}
func ptr[T any](v T) *T { return &v }
