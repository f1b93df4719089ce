package pipeline_test

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/plimsoll/plimsoll/cluster"
	"github.com/plimsoll/plimsoll/mutate"
	"github.com/plimsoll/plimsoll/pipeline"
	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/validate"
)

// TestTheTokenIsDefaultedOnlyWhereNothingSaidOtherwise: with
// defaults.serviceAccountToken: false, a Pod gets
// automountServiceAccountToken: false only where neither it nor its
// ServiceAccount set it, and only where the ServiceAccount is known.
func TestTheTokenIsDefaultedOnlyWhereNothingSaidOtherwise(t *testing.T) {
	account := func(name string, automount *bool) *corev1.ServiceAccount {
		return &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "team"}, AutomountServiceAccountToken: automount}
	}
	optIn := policy.Default()
	optIn.Defaults.ServiceAccountToken = ptr(false)
	tests := []struct {
		name     string
		p        *policy.Policy
		pod      func(*corev1.Pod)
		accounts []*corev1.ServiceAccount
		noView   bool
		want     *bool // the Pod's field after defaulting
	}{
		{name: "opted in, nothing set: false", p: optIn, accounts: []*corev1.ServiceAccount{account("default", nil)}, want: ptr(false)},
		{name: "the named account is the one read", p: optIn, pod: func(p *corev1.Pod) { p.Spec.ServiceAccountName = "ci" },
			accounts: []*corev1.ServiceAccount{account("default", ptr(false)), account("ci", nil)}, want: ptr(false)},
		{name: "not opted in: left alone", p: policy.Default(), accounts: []*corev1.ServiceAccount{account("default", nil)}},
		{name: "the Pod asks for its token", p: optIn, pod: func(p *corev1.Pod) { p.Spec.AutomountServiceAccountToken = ptr(true) },
			accounts: []*corev1.ServiceAccount{account("default", nil)}, want: ptr(true)},
		{name: "the ServiceAccount says true: its Pods call the API server", p: optIn, accounts: []*corev1.ServiceAccount{account("default", ptr(true))}},
		{name: "the ServiceAccount says false already", p: optIn, accounts: []*corev1.ServiceAccount{account("default", ptr(false))}},
		{name: "the ServiceAccount is not known: nothing is written", p: optIn, accounts: []*corev1.ServiceAccount{account("other", nil)}},
		{name: "no view (the cache has not synced): nothing is written", p: optIn, noView: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := &corev1.Pod{
				TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
				ObjectMeta: metav1.ObjectMeta{Name: "web"},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "ghcr.io/acme/web:1.0"}}},
			}
			if tt.pod != nil {
				tt.pod(pod)
			}
			req := pipeline.Request{Object: pod, Operation: pipeline.Create, Namespace: "team"}
			if !tt.noView {
				v := cluster.NewObjects("the cluster")
				for _, sa := range tt.accounts {
					v.Add(sa, "team")
				}
				req.Cluster = v
			}
			d, err := pipeline.Default(tt.p, req)
			if err != nil {
				t.Fatal(err)
			}
			got := pod.Spec.AutomountServiceAccountToken
			if (got == nil) != (tt.want == nil) || (got != nil && *got != *tt.want) {
				t.Fatalf("automountServiceAccountToken = %v, want %v", deref(got), deref(tt.want))
			}
			wrote := false
			for _, c := range d.Changes {
				wrote = wrote || c.Family == mutate.ServiceAccountToken
			}
			if wrote != (tt.want != nil && !*tt.want) {
				t.Errorf("changes %+v", d.Changes)
			}
			if wrote && pod.Annotations[mutate.AnnotationKey] == "" {
				t.Error("the change is not recorded in the annotation")
			}
		})
	}
}

// TestAWorkloadIsJudgedWithTheTokenDefaultingWillWrite: a Deployment's
// Pods will get automountServiceAccountToken: false, so
// service-account-token does not report them.
func TestAWorkloadIsJudgedWithTheTokenDefaultingWillWrite(t *testing.T) {
	dep := &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "team"},
		Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "app", Image: "ghcr.io/acme/web:1.0"}},
		}}},
	}
	v := cluster.NewObjects("the cluster")
	v.Add(&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: "team"}}, "team")
	for _, tt := range []struct {
		name   string
		optIn  bool
		report bool
	}{{"opted in", true, false}, {"not opted in", false, true}} {
		t.Run(tt.name, func(t *testing.T) {
			p := policy.Default()
			if tt.optIn {
				p.Defaults.ServiceAccountToken = ptr(false)
			}
			res, err := pipeline.Evaluate(validate.Registry(), p, pipeline.Request{Object: dep.DeepCopy(), Operation: pipeline.Create, Namespace: "team", Cluster: v})
			if err != nil {
				t.Fatal(err)
			}
			var reported bool
			for _, viol := range res.Violations {
				if viol.Rule.ID == "service-account-token" && !viol.Fixable {
					reported = true
				}
			}
			if reported != tt.report {
				t.Errorf("service-account-token reported (not fixable): %v, want %v (%+v)", reported, tt.report, rulesFound(res))
			}
		})
	}
}

func deref(b *bool) any {
	if b == nil {
		return "unset"
	}
	return *b
}
