package e2e

// Tenant-proof enforce: each test tries, through the real API server and
// as a tenant who may only create and update Pods (and Deployments) in its
// own namespace, one of the ways enforce mode was once got past.

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plimsoll/plimsoll/admission"

	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/plimsoll/plimsoll/test/harness"
)

// tenantPolicy exempts, in the tenant's namespaces only, a node agent
// DaemonSet from every rule and a vendor's untagged images from image-tag.
const tenantPolicy = `apiVersion: plimsoll.dev/v1alpha1
kind: Policy
exemptions:
- reason: the node agent needs the host
  namespaces: ["tenant-*"]
  kinds: [DaemonSet]
  names: [agent]
- reason: the vendor publishes no tags
  namespaces: ["tenant-*"]
  rules: [image-tag]
  images: ["vendor.example/*"]
`

// tenantServer starts a plimsoll of its own with tenantPolicy and returns
// it, with a namespace it judges in enforce.
func tenantServer(t *testing.T, name string) (*harness.Extra, string) {
	t.Helper()
	ctx := context.Background()
	cfg := filepath.Join(t.TempDir(), "policy.yaml")
	writeFile(t, cfg, tenantPolicy)
	x, err := env.StartExtra(ctx, name, nil, "--config", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Remove(context.Background()) })
	ns := "tenant-" + name
	if err := x.Namespace(ctx, ns, admission.Enforce); err != nil {
		t.Fatal(err)
	}
	waitJudged(t, ns)
	return x, ns
}

// asTenant returns a clientset acting as user "tenant-<ns>", who may
// create, update and read Pods and Deployments in ns and nothing else.
func asTenant(t *testing.T, ns string) *kubernetes.Clientset {
	t.Helper()
	ctx := context.Background()
	user := "tenant-" + ns
	rbac := env.Client.RbacV1()
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "tenant", Namespace: ns},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"create", "update", "patch", "get"}},
			{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"create", "update", "patch", "get"}},
		},
	}
	if _, err := rbac.Roles(ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "tenant", Namespace: ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "tenant"},
		Subjects:   []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "User", Name: user}},
	}
	if _, err := rbac.RoleBindings(ns).Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, rule := range role.Rules {
		for _, verb := range rule.Verbs {
			waitAuthorized(t, user, []string{"system:authenticated"}, authorizationv1.ResourceAttributes{
				Namespace: ns, Verb: verb, Group: rule.APIGroups[0], Resource: rule.Resources[0],
			})
		}
	}
	return impersonating(t, user, "system:authenticated")
}

// waitAuthorized waits until the API server's authorizer lets user do
// what attrs say. RBAC learns of a new binding through an informer: until
// it has, the user is refused by RBAC, and a test expecting plimsoll's
// verdict would read RBAC's instead.
func waitAuthorized(t *testing.T, user string, groups []string, attrs authorizationv1.ResourceAttributes) {
	t.Helper()
	review := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User: user, Groups: groups, ResourceAttributes: &attrs,
	}}
	what := "RBAC to let " + user + " " + attrs.Verb + " " + attrs.Resource
	waitFor(t, 30*time.Second, what, func() bool {
		got, err := env.Client.AuthorizationV1().SubjectAccessReviews().Create(context.Background(), review, metav1.CreateOptions{})
		return err == nil && got.Status.Allowed
	})
}

func impersonating(t *testing.T, user string, groups ...string) *kubernetes.Clientset {
	t.Helper()
	cfg := rest.CopyConfig(env.Config)
	cfg.WarningHandler = rest.NoWarnings{}
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: groups}
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// wantDenied fails t unless err is plimsoll's denial naming every one of
// rules.
func wantDenied(t *testing.T, what string, err error, rules ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s was admitted; enforce must deny it", what)
	}
	if !strings.Contains(err.Error(), "plimsoll denied") {
		t.Fatalf("%s was refused, but not by plimsoll: %v", what, err)
	}
	for _, r := range rules {
		if !strings.Contains(err.Error(), "["+r+"]") {
			t.Errorf("%s was denied without naming [%s]: %v", what, r, err)
		}
	}
}

// 1. Borrowed identity: a Pod naming an exempted DaemonSet as its
// controller is judged as itself unless the DaemonSet controller sent it.
func TestATenantCannotBorrowAnExemptedDaemonSetsIdentity(t *testing.T) {
	ctx := context.Background()
	_, ns := tenantServer(t, "identity")
	claiming := func(name string) *corev1.Pod {
		pod := in(load[*corev1.Pod](t, "privileged-pod.yaml"), ns)
		pod.Name = name
		pod.Spec.HostPID = true
		yes := true
		pod.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "DaemonSet", Name: "agent", UID: types.UID("5a1c0de0-0000-4000-8000-00000000a6e7"), Controller: &yes}}
		return pod
	}
	_, err := asTenant(t, ns).CoreV1().Pods(ns).Create(ctx, claiming("agent-x"), metav1.CreateOptions{})
	t.Logf("a tenant's privileged, hostPID Pod claiming DaemonSet agent: %v", err)
	wantDenied(t, "a tenant's privileged, hostPID Pod claiming the exempted DaemonSet", err, "privileged", "host-namespaces")

	// The same Pod from the DaemonSet controller is the agent's, and
	// exempted with it: the exemption still works where it should.
	ctrl := impersonating(t, "system:serviceaccount:kube-system:daemon-set-controller",
		"system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated")
	if _, err := ctrl.CoreV1().Pods(ns).Create(ctx, claiming("agent-y"), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
		t.Errorf("the DaemonSet controller's Pod for the exempted DaemonSet was refused: %v", err)
	}
}

// 2a. Swapped values on a Pod: an exempted vendor image cannot be swapped,
// by an UPDATE, for an image the exemption does not cover.
func TestATenantCannotSwapAnExemptedImageForAnother(t *testing.T) {
	ctx := context.Background()
	_, ns := tenantServer(t, "swap-pod")
	pods := asTenant(t, ns).CoreV1().Pods(ns)
	pod := in(load[*corev1.Pod](t, "bare-nginx-pod.yaml"), ns)
	pod.Name = "vendor"
	pod.Spec.Containers[0].Image = "vendor.example/agent"
	created, err := pods.Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("the exempted vendor image must be admitted: %v", err)
	}

	// An unrelated change goes through.
	created.Labels = map[string]string{"team": "payments"}
	if created, err = pods.Update(ctx, created, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("relabelling the Pod must be admitted: %v", err)
	}
	created.Spec.Containers[0].Image = "evil.example/miner"
	_, err = pods.Update(ctx, created, metav1.UpdateOptions{})
	t.Logf("the vendor image swapped for evil.example/miner: %v", err)
	wantDenied(t, "the exempted image swapped for an untagged one it does not cover", err, "image-tag")
}

// 2b. Swapped values on a workload: a Deployment admitted before its
// namespace was enforced keeps working, but its untagged image cannot be
// switched to another untagged image.
func TestAGrandfatheredDeploymentCannotSwapOneUntaggedImageForAnother(t *testing.T) {
	ctx := context.Background()
	x, _ := tenantServer(t, "swap-deployment")
	ns := "tenant-grandfathered"
	if _, err := env.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	deployments := asTenant(t, ns).AppsV1().Deployments(ns)
	dep := in(load[*appsv1.Deployment](t, "compliant-deployment.yaml"), ns)
	dep.Spec.Template.Spec.Containers[0].Image = "nginx"
	if _, err := deployments.Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatalf("before enforce, the untagged Deployment must be admitted: %v", err)
	}
	nsObj, err := env.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	nsObj.Labels = map[string]string{x.Label: string(admission.Enforce)}
	if _, err := env.Client.CoreV1().Namespaces().Update(ctx, nsObj, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitJudged(t, ns)

	current, err := deployments.Get(ctx, dep.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	three := int32(3)
	current.Spec.Replicas = &three
	if current, err = deployments.Update(ctx, current, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("scaling the grandfathered Deployment must be admitted: %v", err)
	}
	current.Spec.Template.Spec.Containers[0].Image = "httpd"
	_, err = deployments.Update(ctx, current, metav1.UpdateOptions{})
	t.Logf("the grandfathered Deployment's nginx swapped for httpd: %v", err)
	wantDenied(t, "one untagged image swapped for another", err, "image-tag")
}

// 4. Silent fail-open: with only the validating entry registered (the
// mutating one missing, mis-scoped or timed out), a bare Pod in enforce is
// judged as it arrives — undefaulted — and denied, saying why.
func TestABarePodIsDeniedWhenDefaultingDidNotRun(t *testing.T) {
	ctx := context.Background()
	x, ns := tenantServer(t, "validate-only")
	if err := env.Client.AdmissionregistrationV1().MutatingWebhookConfigurations().Delete(ctx, x.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	pods := asTenant(t, ns).CoreV1().Pods(ns)
	var err error
	// The API server forgets the mutating entry through an informer: wait
	// until a bare Pod no longer comes back defaulted (or is refused).
	waitFor(t, 30e9, "the mutating entry to be gone", func() bool {
		pod := in(load[*corev1.Pod](t, "bare-nginx-pod.yaml"), ns)
		pod.Name = "bare"
		var got *corev1.Pod
		got, err = pods.Create(ctx, pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return err != nil || got.Annotations["plimsoll.dev/mutations"] == ""
	})
	t.Logf("a bare Pod with no mutating entry: %v", err)
	wantDenied(t, "a bare Pod that was never defaulted", err, "cpu-limits", "memory-limits", "run-as-non-root")
	if !strings.Contains(err.Error(), "did not run for this Pod") {
		t.Errorf("the denial does not say defaulting did not run: %v", err)
	}
}
