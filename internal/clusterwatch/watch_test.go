package clusterwatch_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/plimsoll/plimsoll/cluster"
	"github.com/plimsoll/plimsoll/internal/clusterwatch"
	"github.com/plimsoll/plimsoll/internal/kube/kubetest"
	"github.com/plimsoll/plimsoll/internal/trivy"
)

// logBuffer is a bytes.Buffer safe for the informers' concurrent writes.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newLogger(buf *logBuffer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// waitFor polls cond for up to a minute: a slow machine is no failure.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func ptr[T any](v T) *T { return &v }

var (
	labels = map[string]string{"app": "web"}
	meta   = metav1.ObjectMeta{
		Name: "web", Namespace: "team-a", UID: "u-1", ResourceVersion: "7", Labels: labels, Generation: 3,
		Annotations:     map[string]string{"kubectl.kubernetes.io/last-applied-configuration": `{"secret":"no"}`},
		ManagedFields:   []metav1.ManagedFieldsEntry{{Manager: "kubectl"}},
		OwnerReferences: []metav1.OwnerReference{{Kind: "Thing", Name: "x", UID: "o-1"}},
	}
	keptMeta = metav1.ObjectMeta{Name: "web", Namespace: "team-a", UID: "u-1", ResourceVersion: "7", Labels: labels}
	// keptNoLabels: NetworkPolicies and reports are found by what they
	// select or name, not by their own labels.
	keptNoLabels = metav1.ObjectMeta{Name: "web", Namespace: "team-a", UID: "u-1", ResourceVersion: "7"}
	resources    = corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}}
	always       = corev1.ContainerRestartPolicyAlways
)

// fullTemplate is a pod template with much the context rules never read.
func fullTemplate() corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: map[string]string{"a": "b"}},
		Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{{Name: "proxy", Image: "proxy:1", RestartPolicy: &always, Resources: resources,
				Env: []corev1.EnvVar{{Name: "TOKEN", Value: "s3cret"}}}},
			Containers: []corev1.Container{{Name: "app", Image: "app:1", Resources: resources, Command: []string{"serve"},
				Ports: []corev1.ContainerPort{{ContainerPort: 80}}}},
			Volumes:            []corev1.Volume{{Name: "v"}},
			ServiceAccountName: "web",
		},
	}
}

func keptTemplate() corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{{Name: "proxy", RestartPolicy: &always, Resources: resources}},
			Containers:     []corev1.Container{{Name: "app", Resources: resources}},
		},
	}
}

// TestStrip: each kind keeps exactly what the context rules read, and a
// second pass changes nothing more.
func TestStrip(t *testing.T) {
	selector := &metav1.LabelSelector{MatchLabels: labels}
	one := intstr.FromInt32(1)
	tests := []struct {
		name      string
		in, want  runtime.Object
		unchanged bool // returned as is
	}{
		{
			name: "a budget keeps its spec",
			in: &policyv1.PodDisruptionBudget{ObjectMeta: meta, Spec: policyv1.PodDisruptionBudgetSpec{Selector: selector, MaxUnavailable: &one},
				Status: policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: 1}},
			want: &policyv1.PodDisruptionBudget{ObjectMeta: keptMeta, Spec: policyv1.PodDisruptionBudgetSpec{Selector: selector, MaxUnavailable: &one}},
		},
		{
			name: "an autoscaler keeps its spec but its behavior",
			in: &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: meta, Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
				ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
				MinReplicas:    ptr(int32(2)), MaxReplicas: 5,
				Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: &autoscalingv2.HPAScalingRules{}},
			}, Status: autoscalingv2.HorizontalPodAutoscalerStatus{CurrentReplicas: 3}},
			want: &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: keptMeta, Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
				ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
				MinReplicas:    ptr(int32(2)), MaxReplicas: 5,
			}},
		},
		{
			name: "a Deployment keeps replicas, selector and the containers' names, restart policies and resources",
			in: &appsv1.Deployment{ObjectMeta: meta, Spec: appsv1.DeploymentSpec{Replicas: ptr(int32(3)), Selector: selector, Template: fullTemplate(),
				Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}}, Status: appsv1.DeploymentStatus{Replicas: 3}},
			want: &appsv1.Deployment{ObjectMeta: keptMeta, Spec: appsv1.DeploymentSpec{Replicas: ptr(int32(3)), Selector: selector, Template: keptTemplate()}},
		},
		{
			name: "a StatefulSet likewise",
			in:   &appsv1.StatefulSet{ObjectMeta: meta, Spec: appsv1.StatefulSetSpec{Replicas: ptr(int32(2)), Selector: selector, Template: fullTemplate(), ServiceName: "web"}},
			want: &appsv1.StatefulSet{ObjectMeta: keptMeta, Spec: appsv1.StatefulSetSpec{Replicas: ptr(int32(2)), Selector: selector, Template: keptTemplate()}},
		},
		{
			name: "a ReplicaSet likewise",
			in:   &appsv1.ReplicaSet{ObjectMeta: meta, Spec: appsv1.ReplicaSetSpec{Replicas: ptr(int32(2)), Selector: selector, Template: fullTemplate(), MinReadySeconds: 5}},
			want: &appsv1.ReplicaSet{ObjectMeta: keptMeta, Spec: appsv1.ReplicaSetSpec{Replicas: ptr(int32(2)), Selector: selector, Template: keptTemplate()}},
		},
		{
			name: "a ReplicationController likewise",
			in: &corev1.ReplicationController{ObjectMeta: meta, Spec: corev1.ReplicationControllerSpec{Replicas: ptr(int32(2)), Selector: labels,
				Template: ptr(fullTemplate())}},
			want: &corev1.ReplicationController{ObjectMeta: keptMeta, Spec: corev1.ReplicationControllerSpec{Replicas: ptr(int32(2)), Selector: labels,
				Template: ptr(keptTemplate())}},
		},
		{
			name: "a NetworkPolicy keeps its podSelector and the directions it isolates, written out, not its rules",
			in: &networkingv1.NetworkPolicy{ObjectMeta: meta, Spec: networkingv1.NetworkPolicySpec{PodSelector: *selector,
				Egress: []networkingv1.NetworkPolicyEgressRule{{Ports: []networkingv1.NetworkPolicyPort{{Port: &one}}}}}},
			want: &networkingv1.NetworkPolicy{ObjectMeta: keptNoLabels, Spec: networkingv1.NetworkPolicySpec{PodSelector: *selector,
				PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}}},
		},
		{
			name: "a VulnerabilityReport keeps its image, its counts and its five worst vulnerabilities",
			in: &trivy.VulnerabilityReport{ObjectMeta: meta, Report: trivy.Report{
				Registry: trivy.Registry{Server: "ghcr.io"}, Artifact: trivy.Artifact{Repository: "acme/web", Tag: "1.0"},
				Summary: trivy.Summary{CriticalCount: 2, HighCount: 5},
				Vulnerabilities: []trivy.Vulnerability{
					{VulnerabilityID: "CVE-7", Severity: "HIGH"}, {VulnerabilityID: "CVE-6", Severity: "HIGH"}, {VulnerabilityID: "CVE-5", Severity: "HIGH"},
					{VulnerabilityID: "CVE-4", Severity: "HIGH"}, {VulnerabilityID: "CVE-3", Severity: "HIGH"}, {VulnerabilityID: "CVE-9", Severity: "CRITICAL"},
					{VulnerabilityID: "CVE-8", Severity: "CRITICAL"},
				},
			}},
			want: &trivy.VulnerabilityReport{ObjectMeta: keptNoLabels, Report: trivy.Report{
				Registry: trivy.Registry{Server: "ghcr.io"}, Artifact: trivy.Artifact{Repository: "acme/web", Tag: "1.0"},
				Summary: trivy.Summary{CriticalCount: 2, HighCount: 5},
				Vulnerabilities: []trivy.Vulnerability{
					{VulnerabilityID: "CVE-8", Severity: "CRITICAL"}, {VulnerabilityID: "CVE-9", Severity: "CRITICAL"},
					{VulnerabilityID: "CVE-3", Severity: "HIGH"}, {VulnerabilityID: "CVE-4", Severity: "HIGH"}, {VulnerabilityID: "CVE-5", Severity: "HIGH"},
				},
			}},
		},
		{
			name:      "what it does not know is returned as is",
			in:        &corev1.ConfigMap{ObjectMeta: meta},
			unchanged: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := clusterwatch.Strip(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if tt.unchanged {
				if got != any(tt.in) {
					t.Errorf("got %v, want the object itself", got)
				}
				return
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("stripped (-want +got):\n%s", d)
			}
			again, _ := clusterwatch.Strip(got)
			if d := cmp.Diff(got, again); d != "" {
				t.Errorf("a second pass changed it (-first +second):\n%s", d)
			}
			if b, _ := json.Marshal(got); strings.Contains(string(b), "s3cret") || strings.Contains(string(b), "last-applied") {
				t.Errorf("a value the rules never read is kept: %s", b)
			}
		})
	}
}

// TestWatch runs a Watch over the fake clientset: nothing until it has
// synced, then what the cluster holds, stripped, and what changes after.
func TestWatch(t *testing.T) {
	selector := &metav1.LabelSelector{MatchLabels: labels}
	dep := &appsv1.Deployment{ObjectMeta: meta, Spec: appsv1.DeploymentSpec{Replicas: ptr(int32(3)), Selector: selector, Template: fullTemplate()}}
	hpa := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "team-a"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"}, MaxReplicas: 4}}
	other := &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "team-b"}, Spec: policyv1.PodDisruptionBudgetSpec{Selector: selector}}
	fc := fake.NewClientset(dep, hpa, other)
	var logs logBuffer
	w := clusterwatch.New(kubetest.Wrap(fc), newLogger(&logs))

	if v, ok := w.View(); ok || v != nil {
		t.Fatal("a Watch that was never started answers")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w.Start(ctx)
	w.Start(ctx) // a second call does nothing
	waitFor(t, "the caches to sync", w.Synced)
	v, ok := w.View()
	if !ok {
		t.Fatal("synced, but View says not")
	}
	if v.Source() != "the cluster" {
		t.Errorf("Source %q", v.Source())
	}
	if got := v.Autoscalers("team-a"); len(got) != 1 || got[0].Name != "web" {
		t.Errorf("autoscalers of team-a: %v", got)
	}
	if got := cluster.AutoscalerOf(v, "team-a", "apps", "Deployment", "web"); got == nil {
		t.Error("the Deployment's autoscaler is not found")
	}
	if got := v.DisruptionBudgets("team-a"); len(got) != 0 {
		t.Errorf("budgets of team-a: %v", got)
	}
	tpl := v.Workload("team-a", "Deployment", "web")
	if tpl == nil {
		t.Fatal("the Deployment is not in the view")
	}
	if tpl.Replicas == nil || *tpl.Replicas != 3 || len(tpl.Spec.Containers) != 1 || tpl.Spec.Containers[0].Image != "" || len(tpl.Meta.Annotations) > 0 {
		t.Errorf("the cached Deployment is not as stripped: replicas %v, containers %+v, annotations %v", tpl.Replicas, tpl.Spec.Containers, tpl.Meta.Annotations)
	}
	if v.Workload("team-a", "StatefulSet", "web") != nil || v.Workload("team-b", "Deployment", "web") != nil {
		t.Error("a workload of another kind or namespace is found")
	}

	// A budget created now reaches the view without waiting for anything.
	pdb := &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "team-a"}, Spec: policyv1.PodDisruptionBudgetSpec{Selector: selector}}
	if _, err := fc.PolicyV1().PodDisruptionBudgets("team-a").Create(ctx, pdb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the new budget in the view", func() bool {
		return len(cluster.BudgetsSelecting(v, "team-a", labels)) == 1
	})
	if !strings.Contains(logs.String(), "the caches of the cluster are synced") {
		t.Errorf("the sync is not logged:\n%s", logs.String())
	}
}

// TestWatchForbidden: where plimsoll may not list a resource, View never
// answers, the warning names the resource and says what to grant, and
// nothing blocks.
func TestWatchForbidden(t *testing.T) {
	fc := fake.NewClientset()
	fc.PrependReactor("list", "horizontalpodautoscalers", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "autoscaling", Resource: "horizontalpodautoscalers"}, "",
			errNoRBAC)
	})
	var logs logBuffer
	w := clusterwatch.New(kubetest.Wrap(fc), newLogger(&logs))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	began := time.Now()
	w.Start(ctx)
	if took := time.Since(began); took > 5*time.Second {
		t.Errorf("Start took %v: it must not wait for the caches", took)
	}
	waitFor(t, "the warning", func() bool {
		return strings.Contains(logs.String(), `"resource":"horizontalpodautoscalers"`)
	})
	if _, ok := w.View(); ok {
		t.Error("View answers though autoscalers cannot be listed")
	}
	var warned []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not JSON: %s", line)
		}
		if m["level"] == "WARN" {
			warned = append(warned, m)
		}
	}
	if len(warned) != 1 || warned[0]["resource"] != "horizontalpodautoscalers" || !strings.Contains(warned[0]["msg"].(string), "grant get, list and watch") {
		t.Errorf("want one warning naming horizontalpodautoscalers and the grant; got %v", warned)
	}
}

var errNoRBAC = errorString(`User "system:serviceaccount:plimsoll-system:plimsoll" cannot list resource "horizontalpodautoscalers"`)

type errorString string

func (e errorString) Error() string { return string(e) }

// TestResourcesAreWatched: the RBAC Resources lists is what New watches.
func TestResourcesAreWatched(t *testing.T) {
	fc := fake.NewClientset()
	var mu sync.Mutex
	seen := map[string][]string{}
	fc.PrependReactor("list", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		mu.Lock()
		defer mu.Unlock()
		r := a.GetResource()
		if a.GetNamespace() != "" {
			t.Errorf("%s listed in namespace %q, want every namespace", r.Resource, a.GetNamespace())
		}
		if !strings.Contains(strings.Join(seen[r.Group], " "), r.Resource) {
			seen[r.Group] = append(seen[r.Group], r.Resource)
		}
		return false, nil, nil
	})
	w := clusterwatch.New(kubetest.Wrap(fc), slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w.Start(ctx)
	waitFor(t, "the caches to sync", w.Synced)
	mu.Lock()
	defer mu.Unlock()
	for g := range seen {
		slices.Sort(seen[g])
	}
	want := map[string][]string{}
	for g, rs := range clusterwatch.Resources {
		if g == trivy.SchemeGroupVersion.Group {
			// Read through kube.Scans, which the fake clientset is not:
			// the e2e tests watch them on a real API server.
			continue
		}
		want[g] = append([]string(nil), rs...)
		slices.Sort(want[g])
	}
	if d := cmp.Diff(want, seen); d != "" {
		t.Errorf("listed (-Resources +listed):\n%s", d)
	}
}

// TestTheViewKeepsNoReplicaSets: a Watch caches Deployments and
// StatefulSets, and its View says it keeps no ReplicaSets, so that
// hpa-target does not call a ReplicaSet it never listed missing.
func TestTheViewKeepsNoReplicaSets(t *testing.T) {
	w := clusterwatch.New(kubetest.Wrap(fake.NewClientset()), slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w.Start(ctx)
	waitFor(t, "the caches to sync", w.Synced)
	v, ok := w.View()
	if !ok {
		t.Fatal("synced, yet no View")
	}
	for kind, want := range map[string]bool{"Deployment": true, "StatefulSet": true, "ReplicaSet": false, "ReplicationController": false} {
		if got := v.Keeps(kind); got != want {
			t.Errorf("Keeps(%s) = %v, want %v", kind, got, want)
		}
	}
}
