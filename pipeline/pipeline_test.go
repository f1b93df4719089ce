package pipeline_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/plimsoll/plimsoll/pipeline"
	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/validate"
)

// barePod breaks the rules defaulting fixes (no resources, no probes, no
// securityContext) and, when privileged, one it cannot.
func barePod(privileged bool) *corev1.Pod {
	pod := &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "team"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "web", Image: "ghcr.io/acme/web:1.0",
			Ports: []corev1.ContainerPort{{ContainerPort: 8080}},
		}}},
	}
	if privileged {
		pod.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: &privileged}
	}
	return pod
}

func count(vs []validate.Violation, f func(*validate.Violation) bool) int {
	n := 0
	for i := range vs {
		if f(&vs[i]) {
			n++
		}
	}
	return n
}

func fixable(v *validate.Violation) bool { return v.Fixable }
func denies(v *validate.Violation) bool  { return v.Denies() }

func evaluate(t *testing.T, p *policy.Policy, req pipeline.Request) []validate.Violation {
	t.Helper()
	res, err := pipeline.Evaluate(validate.Registry(), p, req)
	if err != nil {
		t.Fatal(err)
	}
	return res.Violations
}

// TestWhatIsJudgedAsDefaulted: only a Pod CREATE that says it will be
// defaulted, and every workload, are judged as defaulting leaves them
// (what defaulting fixes is Fixable and denies nothing); a Pod CREATE as
// it arrives, a Pod UPDATE and a new ephemeral container are judged as
// they are.
func TestWhatIsJudgedAsDefaulted(t *testing.T) {
	p := policy.Default()
	deployment := &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "team"},
		Spec:       appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: barePod(false).Spec}},
	}
	for _, tt := range []struct {
		name          string
		req           pipeline.Request
		wantDefaulted bool
	}{
		{"a Pod CREATE that will be defaulted", pipeline.Request{Object: barePod(false), Operation: pipeline.Create, PodDefaulted: true}, true},
		{"a Pod CREATE as it arrives", pipeline.Request{Object: barePod(false), Operation: pipeline.Create}, false},
		{"a Pod UPDATE, whatever PodDefaulted says", pipeline.Request{Object: barePod(false), Operation: pipeline.Update, PodDefaulted: true}, false},
		{"an ephemeral container, whatever PodDefaulted says", pipeline.Request{Object: barePod(false), Operation: pipeline.Create, Subresource: "ephemeralcontainers", PodDefaulted: true}, false},
		{"a workload, whatever PodDefaulted says", pipeline.Request{Object: deployment, Operation: pipeline.Create}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ran := 0
			tt.req.AroundDefault = func(run func()) { ran++; run() }
			vs := evaluate(t, p, tt.req)
			if len(vs) == 0 {
				t.Fatal("no violations: the fixture no longer breaks the rules defaulting fixes")
			}
			fx := count(vs, fixable)
			if tt.wantDefaulted {
				if fx == 0 || count(vs, denies) != 0 || ran != 1 {
					t.Errorf("%d fixable, %d denied, defaulted %d times; want fixes found, nothing denied, defaulted once", fx, count(vs, denies), ran)
				}
			} else if fx != 0 || count(vs, denies) == 0 || ran != 0 {
				t.Errorf("%d fixable, %d denied, defaulted %d times; want none fixable, some denied, never defaulted", fx, count(vs, denies), ran)
			}
		})
	}
}

// TestAnUpdateIsForgivenWhatTheOldObjectBroke: with Old, what it already
// broke is Preexisting and denies nothing; what the update adds does.
func TestAnUpdateIsForgivenWhatTheOldObjectBroke(t *testing.T) {
	p := policy.Default()
	vs := evaluate(t, p, pipeline.Request{Object: barePod(true), Old: barePod(true), Operation: pipeline.Update})
	if n := count(vs, func(v *validate.Violation) bool { return !v.Preexisting }); n != 0 || len(vs) == 0 {
		t.Errorf("UPDATE of a Pod as bad as before: %d of %d violations not preexisting", n, len(vs))
	}
	vs = evaluate(t, p, pipeline.Request{Object: barePod(true), Old: barePod(false), Operation: pipeline.Update})
	newly := count(vs, func(v *validate.Violation) bool { return !v.Preexisting })
	if newly != 1 || vs[0].Rule == nil {
		t.Fatalf("UPDATE that makes a Pod privileged: %d new violations, want 1", newly)
	}
	for _, v := range vs {
		if !v.Preexisting && (v.Rule.ID != "privileged" || !v.Denies()) {
			t.Errorf("new violation %s, want privileged, denied", v.Rule.ID)
		}
	}
	// Without Old, nothing is forgiven.
	vs = evaluate(t, p, pipeline.Request{Object: barePod(true), Operation: pipeline.Update})
	if n := count(vs, func(v *validate.Violation) bool { return v.Preexisting }); n != 0 {
		t.Errorf("UPDATE without Old: %d violations preexisting", n)
	}
}

// TestWhoseWordAboutTheOwnerIsBelieved: a Pod naming an exempted DaemonSet
// as its controller is exempted only when its owner is believed: by
// TrustOwner when set, else when Requester is the DaemonSet controller.
func TestWhoseWordAboutTheOwnerIsBelieved(t *testing.T) {
	p, err := policy.Load([]byte(`apiVersion: plimsoll.dev/v1alpha1
kind: Policy
exemptions:
- reason: node agent
  namespaces: [ops]
  kinds: [DaemonSet]
  names: [node-agent]
  rules: [privileged]
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	yes := true
	pod := func() *corev1.Pod {
		pod := barePod(true)
		pod.Namespace = "ops"
		pod.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "DaemonSet", Name: "node-agent", UID: "u", Controller: &yes}}
		return pod
	}
	always := func(metav1.OwnerReference) bool { return true }
	never := func(metav1.OwnerReference) bool { return false }
	const dsController = "system:serviceaccount:kube-system:daemon-set-controller"
	for _, tt := range []struct {
		name       string
		trust      func(metav1.OwnerReference) bool
		requester  string
		wantWaived bool
	}{
		{"nobody vouches (a manifest)", nil, "", false},
		{"TrustOwner believes it", always, "", true},
		{"TrustOwner does not", never, "", false},
		{"TrustOwner wins over a trusted requester", never, dsController, false},
		{"the DaemonSet controller sent it", nil, dsController, true},
		{"a tenant sent it", nil, "system:serviceaccount:ops:deployer", false},
		{"another controller sent it", nil, "system:serviceaccount:kube-system:job-controller", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, op := range []pipeline.Operation{pipeline.Create, pipeline.Update} {
				req := pipeline.Request{Object: pod(), Operation: op, Namespace: "ops", TrustOwner: tt.trust, Requester: tt.requester}
				if op == pipeline.Update {
					req.Old = barePod(false)
				}
				vs := evaluate(t, p, req)
				var priv *validate.Violation
				for i := range vs {
					if vs[i].Rule.ID == "privileged" {
						priv = &vs[i]
					}
				}
				if priv == nil {
					t.Fatalf("%s: no privileged violation", op)
				}
				if waived := priv.Waiver != nil; waived != tt.wantWaived {
					t.Errorf("%s: privileged waived = %v, want %v", op, waived, tt.wantWaived)
				}
			}
		})
	}
}

// TestACancelledContextStopsTheEvaluation: once the context is done,
// Evaluate returns its cause rather than a verdict.
func TestACancelledContextStopsTheEvaluation(t *testing.T) {
	cause := errors.New("the API server gave up")
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(cause)
	res, err := pipeline.Evaluate(validate.Registry(), policy.Default(), pipeline.Request{Object: barePod(true), Operation: pipeline.Create, Context: ctx})
	if !errors.Is(err, cause) || res != nil {
		t.Errorf("Evaluate = %v, %v; want no result and %v", res, err, cause)
	}
	// A live context changes nothing.
	ctx, cancelLive := context.WithTimeout(context.Background(), time.Minute)
	defer cancelLive()
	if _, err := pipeline.Evaluate(validate.Registry(), policy.Default(), pipeline.Request{Object: barePod(true), Operation: pipeline.Create, Context: ctx}); err != nil {
		t.Errorf("with a live context: %v", err)
	}
}

// TestObjectsWithoutAPodTemplateAreRefused: the object and the old object
// must both be kinds plimsoll judges (with a Pod template, or one of
// workload.Companions).
func TestObjectsWithoutAPodTemplateAreRefused(t *testing.T) {
	svc := &corev1.Service{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Service"}}
	if _, err := pipeline.Evaluate(validate.Registry(), policy.Default(), pipeline.Request{Object: svc, Operation: pipeline.Create}); err == nil {
		t.Error("a Service was judged")
	}
	_, err := pipeline.Evaluate(validate.Registry(), policy.Default(), pipeline.Request{Object: barePod(false), Old: svc, Operation: pipeline.Update})
	if err == nil || !strings.HasPrefix(err.Error(), "oldObject: ") {
		t.Errorf("an old Service: error %v, want one naming oldObject", err)
	}
}

func TestDecode(t *testing.T) {
	pod := schema.GroupVersionKind{Version: "v1", Kind: "Pod"}
	deploy := schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
	for _, tt := range []struct {
		name    string
		raw     string
		gvk     schema.GroupVersionKind
		wantErr string // "" for success
	}{
		{"a Pod as the API server sends it", `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a"}}`, pod, ""},
		{"an object that does not say what it is", `{"metadata":{"name":"a"}}`, pod, ""},
		{"a kind other than the request's", `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"a"}}`, pod, "the object is apps/v1 Deployment but the request says v1 Pod"},
		{"an apiVersion other than the request's", `{"apiVersion":"apps/v1beta2","kind":"Deployment"}`, deploy, "the object is apps/v1beta2 Deployment but the request says apps/v1 Deployment"},
		{"invalid JSON", `{"apiVersion":`, pod, "the object is not valid JSON"},
		{"a field of the wrong type", `{"apiVersion":"v1","kind":"Pod","spec":{"containers":"web"}}`, pod, "the object is not a valid Pod"},
		{"a kind plimsoll does not judge", `{"apiVersion":"v1","kind":"Service"}`, schema.GroupVersionKind{Version: "v1", Kind: "Service"}, "Service"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			obj, err := pipeline.Decode([]byte(tt.raw), tt.gvk)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if got := obj.GetObjectKind().GroupVersionKind(); got != tt.gvk && got != (schema.GroupVersionKind{}) {
					t.Errorf("decoded as %v, want %v", got, tt.gvk)
				}
				if _, ok := obj.(*corev1.Pod); !ok {
					t.Errorf("decoded a %T, want a *v1.Pod", obj)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %v, want it to contain %q", err, tt.wantErr)
			}
			if obj != nil {
				t.Errorf("returned %T along with the error", obj)
			}
		})
	}
	// Field names are matched case-sensitively, as the API server does.
	obj, err := pipeline.Decode([]byte(`{"apiVersion":"v1","kind":"Pod","spec":{"Containers":[{"name":"x"}]}}`), pod)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(obj.(*corev1.Pod).Spec.Containers); n != 0 {
		t.Errorf("a field spelled Containers was read as containers (%d)", n)
	}
}
