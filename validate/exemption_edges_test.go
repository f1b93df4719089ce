package validate_test

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/validate"
	"github.com/plimsoll/plimsoll/workload"
)

// TestAKindAndNameExemptionNeedsABelievedController: an exemption of
// DaemonSet "agent" lifts findings on a Pod that names that DaemonSet as
// its controller only when that claim is believed (Template.OwnerTrusted,
// as policy.TrustsController decides it from who sent the Pod), and only
// for the controller: an owner that is not the controller, believed or
// not, lends the Pod no identity.
func TestAKindAndNameExemptionNeedsABelievedController(t *testing.T) {
	p := policy.Default()
	p.Exemptions = []policy.Exemption{
		{Reason: "node agent", Namespaces: []string{"ops"}, Kinds: []string{"DaemonSet"}, Names: []string{"agent"}, Rules: []string{"privileged"}},
		{Reason: "web", Namespaces: []string{"ops"}, Kinds: []string{"Deployment"}, Names: []string{"web"}, Rules: []string{"privileged"}},
	}
	yes, no := true, false
	ds := func(controller *bool) metav1.OwnerReference {
		return metav1.OwnerReference{APIVersion: "apps/v1", Kind: "DaemonSet", Name: "agent", UID: "u1", Controller: controller}
	}
	rs := func(name string) metav1.OwnerReference {
		return metav1.OwnerReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: name, UID: "u2", Controller: &yes}
	}
	const (
		dsController = "system:serviceaccount:kube-system:daemon-set-controller"
		rsController = "system:serviceaccount:kube-system:replicaset-controller"
		tenant       = "system:serviceaccount:ops:deployer"
	)
	for _, tt := range []struct {
		name       string
		refs       []metav1.OwnerReference
		requester  string // who sent the Pod: decides OwnerTrusted
		wantWaiver string // "" for none
	}{
		{"the DaemonSet controller sent a Pod it controls", []metav1.OwnerReference{ds(&yes)}, dsController, "node agent"},
		{"a tenant sent a Pod claiming the DaemonSet as controller", []metav1.OwnerReference{ds(&yes)}, tenant, ""},
		{"the ReplicaSet controller sent a Pod claiming the DaemonSet", []metav1.OwnerReference{ds(&yes)}, rsController, ""},
		{"nobody is named: a manifest", []metav1.OwnerReference{ds(&yes)}, "", ""},
		{"the DaemonSet named as an owner but not the controller", []metav1.OwnerReference{ds(&no)}, dsController, ""},
		{"the DaemonSet named beside another controller", []metav1.OwnerReference{ds(nil), rs("other-abc12")}, rsController, ""},
		{"a believed ReplicaSet of the exempted Deployment", []metav1.OwnerReference{rs("web-abc12")}, rsController, "web"},
		{"a ReplicaSet of the exempted Deployment, claimed by a tenant", []metav1.OwnerReference{rs("web-abc12")}, tenant, ""},
		{"a believed ReplicaSet whose name does not end in the Pod's hash", []metav1.OwnerReference{rs("web-zzz99")}, rsController, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pod := &corev1.Pod{
				TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
				ObjectMeta: metav1.ObjectMeta{
					Name: "agent", Namespace: "ops", OwnerReferences: tt.refs,
					Labels: map[string]string{"pod-template-hash": "abc12"},
				},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "agent", Image: "ghcr.io/acme/agent:1.0",
					SecurityContext: &corev1.SecurityContext{Privileged: &yes},
				}}},
			}
			tmpl, err := workload.Find(pod)
			if err != nil {
				t.Fatal(err)
			}
			if ref := workload.Controller(tmpl.Meta); ref != nil {
				tmpl.OwnerTrusted = p.TrustsController(tt.requester, *ref)
			}
			vs, err := validate.Evaluate(validate.Registry(), p, validate.Input{Template: tmpl, Namespace: "ops", Now: time.Now()})
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, v := range vs {
				if v.Rule.ID != "privileged" {
					continue
				}
				found = true
				got := ""
				if v.Waiver != nil {
					got = v.Waiver.Reason
				}
				if got != tt.wantWaiver {
					t.Errorf("privileged waived by %q, want %q", got, tt.wantWaiver)
				}
				if (got == "") != v.Denies() {
					t.Errorf("waived %q, yet denies = %v", got, v.Denies())
				}
			}
			if !found {
				t.Fatal("no privileged violation")
			}
		})
	}
}
