package e2e

// The exemptions of a policy, through plimsoll export's admission
// policies on the real API server: an exemption by namespace and the
// plimsoll.dev/exempt annotation lift the same findings as through the
// webhook, and a tenant's near misses (the annotation on the workload
// instead of its Pods, another rule's ID, another spelling) lift none.

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/plimsoll/plimsoll/admission"
	"github.com/plimsoll/plimsoll/test/chart"
)

// A policy that exempts two rules in the agents-* namespaces, lets Pods
// carry plimsoll.dev/exempt, and exempts a Pod by name (which leaves that
// rule to the webhook), served by a plimsoll of its own and exported:
// each case is judged in an exempted and a plain namespace by both.
func TestExportedPoliciesExemptAsTheWebhook(t *testing.T) {
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "policy.yaml")
	policy := `apiVersion: plimsoll.dev/v1alpha1
kind: Policy
allowAnnotationExemptions: true
exemptions:
- reason: the node agents
  rules: [host-path, host-namespaces]
  namespaces: ["agents-*"]
- reason: the vendor's ingress
  rules: [host-port]
  names: [ingress]
`
	if err := os.WriteFile(file, []byte(policy), 0o600); err != nil {
		t.Fatal(err)
	}
	x, plain := extraServer(t, "exempt", chart.WebhookValues{}, "--config", file)
	if err := x.Namespace(ctx, "agents-webhook", admission.Enforce); err != nil {
		t.Fatal(err)
	}
	waitJudged(t, "agents-webhook")
	const label = "plimsoll-e2e/exempt-policies"
	rules := exported(t, "--config", file, "--name", "exempt", "--mode-label", label)
	// host-port's exemption selects by name, which only the webhook can
	// tell of a Pod: the export leaves host-port to it.
	if slices.Contains(rules, "host-port") || !slices.Contains(rules, "host-path") || !slices.Contains(rules, "privileged") {
		t.Fatalf("in-process rules %v: want host-path and privileged, and host-port left to the webhook", rules)
	}
	for _, ns := range []string{"exempt-policies", "agents-policies"} {
		labelled(t, ns, label, admission.Enforce)
		waitBound(t, "exempt", ns, admission.Enforce)
	}

	base := func(kind string) *unstructured.Unstructured {
		pod := benchPod(t)
		if kind == "Pod" {
			u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(pod)
			if err != nil {
				t.Fatal(err)
			}
			obj := &unstructured.Unstructured{Object: u}
			obj.SetAPIVersion("v1")
			obj.SetKind("Pod")
			obj.SetName("exempted")
			return obj
		}
		spec, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&pod.Spec)
		if err != nil {
			t.Fatal(err)
		}
		return &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "apps/v1", "kind": "Deployment",
			"metadata": map[string]any{"name": "exempted"},
			"spec": map[string]any{
				"replicas": int64(1),
				"selector": map[string]any{"matchLabels": map[string]any{"app": "exempted"}},
				"template": map[string]any{"metadata": map[string]any{"labels": map[string]any{"app": "exempted"}}, "spec": spec},
			},
		}}
	}
	// podMeta is where the Pod's own annotations go: the Pod's, or the
	// template's.
	podMeta := func(obj *unstructured.Unstructured) []string {
		if obj.GetKind() == "Pod" {
			return []string{"metadata"}
		}
		return []string{"spec", "template", "metadata"}
	}
	podSpec := func(obj *unstructured.Unstructured) []string {
		if obj.GetKind() == "Pod" {
			return []string{"spec"}
		}
		return []string{"spec", "template", "spec"}
	}
	privileged := func(obj *unstructured.Unstructured) {
		cs, _, _ := unstructured.NestedSlice(obj.Object, append(podSpec(obj), "containers")...)
		c := cs[0].(map[string]any)
		sc, _ := c["securityContext"].(map[string]any)
		sc["privileged"] = true
		delete(sc, "allowPrivilegeEscalation") // privileged implies it
		if err := unstructured.SetNestedSlice(obj.Object, cs, append(podSpec(obj), "containers")...); err != nil {
			t.Fatal(err)
		}
	}
	hostPath := func(obj *unstructured.Unstructured) {
		vols := []any{map[string]any{"name": "node", "hostPath": map[string]any{"path": "/var/log"}}}
		if err := unstructured.SetNestedSlice(obj.Object, vols, append(podSpec(obj), "volumes")...); err != nil {
			t.Fatal(err)
		}
	}
	hostNetwork := func(obj *unstructured.Unstructured) {
		if err := unstructured.SetNestedField(obj.Object, true, append(podSpec(obj), "hostNetwork")...); err != nil {
			t.Fatal(err)
		}
	}
	annotated := func(value string) func(*unstructured.Unstructured) {
		return func(obj *unstructured.Unstructured) {
			if err := unstructured.SetNestedStringMap(obj.Object, map[string]string{"plimsoll.dev/exempt": value}, append(podMeta(obj), "annotations")...); err != nil {
				t.Fatal(err)
			}
		}
	}
	onWorkload := func(value string) func(*unstructured.Unstructured) {
		return func(obj *unstructured.Unstructured) {
			obj.SetAnnotations(map[string]string{"plimsoll.dev/exempt": value})
		}
	}
	cases := []struct {
		name   string
		kinds  []string
		change []func(*unstructured.Unstructured)
		// lifted: admitted where the namespace exemption applies
		// (agents-*), refused elsewhere; exempt: admitted everywhere
		lifted, exempt bool
	}{
		{name: "a hostPath volume", kinds: []string{"Pod", "Deployment"}, change: []func(*unstructured.Unstructured){hostPath}, lifted: true},
		{name: "the node's network", kinds: []string{"Pod"}, change: []func(*unstructured.Unstructured){hostNetwork}, lifted: true},
		{name: "a hostPath volume and a privileged container", kinds: []string{"Pod"}, change: []func(*unstructured.Unstructured){hostPath, privileged}},
		{name: "privileged, its rule exempted by annotation", kinds: []string{"Pod", "Deployment"}, change: []func(*unstructured.Unstructured){privileged, annotated("privileged")}, exempt: true},
		{name: "privileged, among spaced IDs", kinds: []string{"Pod"}, change: []func(*unstructured.Unstructured){privileged, annotated(" host-path , privileged ")}, exempt: true},
		{name: "privileged, every rule exempted", kinds: []string{"Pod"}, change: []func(*unstructured.Unstructured){privileged, annotated("*")}, exempt: true},
		{name: "privileged, another rule exempted", kinds: []string{"Pod"}, change: []func(*unstructured.Unstructured){privileged, annotated("host-path")}},
		{name: "privileged, its rule in capitals", kinds: []string{"Pod"}, change: []func(*unstructured.Unstructured){privileged, annotated("Privileged")}},
		{name: "privileged, a prefix of its rule", kinds: []string{"Pod"}, change: []func(*unstructured.Unstructured){privileged, annotated("privilege")}},
		{name: "privileged, the annotation on the Deployment, not its Pods", kinds: []string{"Deployment"}, change: []func(*unstructured.Unstructured){privileged, onWorkload("*")}},
	}
	dyn, warnings := dynamicWithWarnings(t)
	compared, differences, admittedByExemption, refused := 0, 0, 0, 0
	for _, c := range cases {
		for _, kind := range c.kinds {
			obj := base(kind)
			for _, f := range c.change {
				f(obj)
			}
			for _, pair := range [][2]string{{plain, "exempt-policies"}, {"agents-webhook", "agents-policies"}} {
				w := judge(t, dyn, warnings, obj, pair[0], rules)
				p := judge(t, dyn, warnings, obj, pair[1], rules)
				compared++
				if !same(w, p) || len(unsaid(w, p)) > 0 {
					differences++
					t.Errorf("%s (%s) in %s: the webhook and the exported policies disagree\nwebhook:%s\npolicies:%s", c.name, kind, pair[1], w.detail, p.detail)
				}
				want := c.exempt || (c.lifted && strings.HasPrefix(pair[1], "agents-"))
				if p.admitted != want {
					t.Errorf("%s (%s) in %s: admitted %v, want %v%s", c.name, kind, pair[1], p.admitted, want, p.detail)
				}
				if p.admitted {
					admittedByExemption++
				} else {
					refused++
				}
			}
		}
	}
	t.Logf("exemptions compared: %d objects and namespaces, %d differences; %d admitted by an exemption, %d refused", compared, differences, admittedByExemption, refused)
}
