package validate

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/workload"
)

func TestNetworkPolicyMessages(t *testing.T) {
	expectMessages(t, "network-policy", []messageCase{
		{name: "no policy", file: "fail/no-policy.yaml", want: []string{
			`[network-policy] Deployment "web": workload is selected by no NetworkPolicy in the documents checked that isolates it for ingress, so any Pod in the cluster can connect to its Pods (spec.template.metadata.labels): create a default-deny NetworkPolicy, then allow what should pass: {apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: {name: web-default-deny, namespace: default}, spec: {podSelector: {matchLabels: {app: web}}, policyTypes: [Ingress]}}`,
		}},
		{name: "a policy of egress only", file: "fail/egress-only.yaml", want: []string{
			`[network-policy] Pod "web": Pod is selected by no NetworkPolicy in the documents checked that isolates it for ingress, so any Pod in the cluster can connect to its Pods (metadata.labels): create a default-deny NetworkPolicy, then allow what should pass: {apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: {name: web-default-deny, namespace: default}, spec: {podSelector: {matchLabels: {app: web}}, policyTypes: [Ingress]}}`,
		}},
	})
}

// pod is a Pod labelled labels in the fixture namespace.
func netpolPod(labels map[string]string, mutate ...func(*corev1.Pod)) *workload.Template {
	p := &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: "tenant", Namespace: fixtureNamespace, Labels: labels},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx:1.27"}}},
	}
	for _, m := range mutate {
		m(p)
	}
	t, err := workload.Find(p)
	if err != nil {
		panic(err)
	}
	return t
}

func netpol(name, ns string, sel metav1.LabelSelector, types []networkingv1.PolicyType, egress bool) *networkingv1.NetworkPolicy {
	np := &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       networkingv1.NetworkPolicySpec{PodSelector: sel, PolicyTypes: types},
	}
	if egress {
		np.Spec.Egress = []networkingv1.NetworkPolicyEgressRule{{}}
	}
	return np
}

// TestNetworkPolicySemantics: which policies isolate which Pods, by
// Kubernetes' rules, including the ways a tenant's Pod might slip past a
// policy written for someone else's.
func TestNetworkPolicySemantics(t *testing.T) {
	web := map[string]string{"app": "web"}
	all := metav1.LabelSelector{}
	selWeb := metav1.LabelSelector{MatchLabels: web}
	in := []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
	out := []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}
	both := []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}
	egress := policy.Default()
	egress.NetworkPolicy.RequireEgress = true
	cases := []struct {
		name   string
		pod    *workload.Template
		np     *networkingv1.NetworkPolicy
		p      *policy.Policy
		wantIn string // "" no finding; else a word the problem must hold
	}{
		{"namespace-wide default deny", netpolPod(web), netpol("deny", fixtureNamespace, all, in, false), policy.Default(), ""},
		{"policyTypes unset means Ingress", netpolPod(web), netpol("deny", fixtureNamespace, selWeb, nil, false), policy.Default(), ""},
		{"policyTypes unset with egress rules: Ingress and Egress", netpolPod(web), netpol("deny", fixtureNamespace, selWeb, nil, true), egress, ""},
		{"a Pod without the policy's labels", netpolPod(map[string]string{"app": "webx"}), netpol("web", fixtureNamespace, selWeb, in, false), policy.Default(), "ingress"},
		{"a Pod with no labels at all", netpolPod(nil), netpol("web", fixtureNamespace, selWeb, in, false), policy.Default(), "ingress"},
		{"NotIn leaves the excluded Pods open", netpolPod(web), netpol("not-web", fixtureNamespace, metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"web"}}}}, in, false), policy.Default(), "ingress"},
		{"a policy of another namespace", netpolPod(web), netpol("deny", "other", all, in, false), policy.Default(), "ingress"},
		{"egress only isolates no ingress", netpolPod(web), netpol("deny", fixtureNamespace, all, out, false), policy.Default(), "ingress"},
		{"requireEgress: ingress only is not enough", netpolPod(web), netpol("deny", fixtureNamespace, all, in, false), egress, "egress"},
		{"requireEgress: both", netpolPod(web), netpol("deny", fixtureNamespace, all, both, false), egress, ""},
		{"requireEgress with nothing: both ways open", netpolPod(web), netpol("deny", "other", all, both, false), egress, "ingress or egress"},
		{"host network: left to host-namespaces", netpolPod(web, func(p *corev1.Pod) { p.Spec.HostNetwork = true }), netpol("deny", "other", all, in, false), policy.Default(), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := networkPolicy.findings(tc.pod, viewOf(t, tc.np), fixtureNamespace, tc.p)
			if tc.wantIn == "" {
				if len(got) != 0 {
					t.Fatalf("findings: %+v", got)
				}
				return
			}
			if len(got) != 1 || !strings.Contains(got[0].Problem, "isolates it for "+tc.wantIn+",") {
				t.Fatalf("want one finding about %s, got %+v", tc.wantIn, got)
			}
		})
	}
}

// TestNetworkPolicySaysNothingWithoutPolicies: a source that keeps no
// NetworkPolicies cannot tell.
func TestNetworkPolicySaysNothingWithoutPolicies(t *testing.T) {
	run := loadRun(t, "testdata/network-policy/fail/no-policy.yaml")
	if got := networkPolicy.findings(run.templates[0], keepsNoReplicaSets{run.view}, fixtureNamespace, policy.Default()); len(got) != 0 {
		t.Errorf("a source without NetworkPolicies judged: %+v", got)
	}
}
