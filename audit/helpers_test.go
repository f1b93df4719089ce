package audit_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/plimsoll/plimsoll/audit"
	"github.com/plimsoll/plimsoll/internal/kube/kubetest"
)

// A pod spec with every default plimsoll asks for written by hand, and
// ways to break it.
func goodSpec() corev1.PodSpec {
	no, yes := false, true
	return corev1.PodSpec{
		SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: &yes, SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
		Containers: []corev1.Container{{
			Name: "app", Image: "registry.example.com/app:1.2.3",
			Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: mustQ("100m"), corev1.ResourceMemory: mustQ("128Mi")},
				Limits:   corev1.ResourceList{corev1.ResourceCPU: mustQ("500m"), corev1.ResourceMemory: mustQ("256Mi")},
			},
			SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: &no, Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}, ReadOnlyRootFilesystem: &yes},
		}},
	}
}

func latest(s corev1.PodSpec) corev1.PodSpec {
	s.Containers = slices.Clone(s.Containers)
	s.Containers[0].Image = "nginx:latest"
	return s
}

func meta_(ns, name string, owner ...metav1.OwnerReference) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID(ns + "/" + name), OwnerReferences: owner}
}

func controlledBy(apiVersion, kind, ns, name string) metav1.OwnerReference {
	yes := true
	return metav1.OwnerReference{APIVersion: apiVersion, Kind: kind, Name: name, UID: types.UID(ns + "/" + name), Controller: &yes}
}

func namespace(name string, labels map[string]string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
}

func mode(m string) map[string]string { return map[string]string{"plimsoll.dev/mode": m} }

func deployment(ns, name string, spec corev1.PodSpec) *appsv1.Deployment {
	two := int32(2)
	return &appsv1.Deployment{ObjectMeta: meta_(ns, name), Spec: appsv1.DeploymentSpec{Replicas: &two,
		Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}}, Spec: spreadSpec(name, spec)}}}
}

// spreadSpec adds what Deployments with replicas need (topology-spread).
func spreadSpec(app string, s corev1.PodSpec) corev1.PodSpec {
	s.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: "kubernetes.io/hostname",
		WhenUnsatisfiable: corev1.ScheduleAnyway, LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}}}}
	return s
}

func replicaSet(ns, name string, spec corev1.PodSpec, owner ...metav1.OwnerReference) *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{ObjectMeta: meta_(ns, name, owner...), Spec: appsv1.ReplicaSetSpec{
		Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"rs": name}},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"rs": name}}, Spec: spec}}}
}

func daemonSet(ns, name string, spec corev1.PodSpec) *appsv1.DaemonSet {
	return &appsv1.DaemonSet{ObjectMeta: meta_(ns, name), Spec: appsv1.DaemonSetSpec{
		Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"ds": name}},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"ds": name}}, Spec: spec}}}
}

func cronJob(ns, name string, spec corev1.PodSpec) *batchv1.CronJob {
	spec.RestartPolicy = corev1.RestartPolicyNever
	return &batchv1.CronJob{ObjectMeta: meta_(ns, name), Spec: batchv1.CronJobSpec{Schedule: "*/5 * * * *",
		JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: spec}}}}}
}

func job(ns, name string, spec corev1.PodSpec, owner ...metav1.OwnerReference) *batchv1.Job {
	spec.RestartPolicy = corev1.RestartPolicyNever
	return &batchv1.Job{ObjectMeta: meta_(ns, name, owner...), Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: spec}}}
}

func pod(ns, name string, spec corev1.PodSpec, owner ...metav1.OwnerReference) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: meta_(ns, name, owner...), Spec: spec}
}

// listCalls records the List requests a fake clientset answered, by
// resource.
type listCalls struct {
	mu    sync.Mutex
	calls map[string][]metav1.ListOptions
}

func (l *listCalls) of(resource string) []metav1.ListOptions {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.calls[resource]
}

// paginated returns a fake clientset holding objs whose List answers as
// the API server does: at most Limit items, sorted by namespace and name,
// with a continue token while more remain. expireOnce names resources
// whose first continued List fails with 410 Expired.
func paginated(t *testing.T, objs []runtime.Object, expireOnce ...string) (*fake.Clientset, *listCalls) {
	t.Helper()
	c := fake.NewClientset(objs...)
	calls := &listCalls{calls: map[string][]metav1.ListOptions{}}
	expired := map[string]bool{}
	c.PrependReactor("list", "*", func(action k8stesting.Action) (bool, runtime.Object, error) {
		la := action.(k8stesting.ListActionImpl)
		res := action.GetResource()
		opts := la.ListOptions
		calls.mu.Lock()
		calls.calls[res.Resource] = append(calls.calls[res.Resource], opts)
		calls.mu.Unlock()
		if opts.Continue != "" && slices.Contains(expireOnce, res.Resource) && !expired[res.Resource] {
			expired[res.Resource] = true
			return true, nil, apierrors.NewResourceExpired("the continue token has expired")
		}
		list, err := c.Tracker().List(res, la.Kind, action.GetNamespace())
		if err != nil {
			return true, nil, err
		}
		items, err := meta.ExtractList(list)
		if err != nil {
			return true, nil, err
		}
		slices.SortFunc(items, func(a, b runtime.Object) int {
			ma, _ := meta.Accessor(a)
			mb, _ := meta.Accessor(b)
			return compare(ma.GetNamespace()+"/"+ma.GetName(), mb.GetNamespace()+"/"+mb.GetName())
		})
		start := 0
		if opts.Continue != "" {
			start, _ = strconv.Atoi(opts.Continue)
		}
		end := len(items)
		if opts.Limit > 0 && start+int(opts.Limit) < end {
			end = start + int(opts.Limit)
		}
		if err := meta.SetList(list, items[start:end]); err != nil {
			return true, nil, err
		}
		la2, _ := meta.ListAccessor(list)
		if end < len(items) {
			la2.SetContinue(strconv.Itoa(end))
		}
		return true, list, nil
	})
	return c, calls
}

func compare(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// runAudit audits the fake cluster with o (Client set to c).
func runAudit(t *testing.T, c *fake.Clientset, o audit.Options) *audit.Report {
	t.Helper()
	o.Client = kubetest.Wrap(c)
	r, err := audit.Run(context.Background(), o)
	if err != nil {
		t.Fatalf("audit.Run: %v", err)
	}
	return r
}

// reported lists the judged objects as "namespace/Kind/name".
func reported(r *audit.Report) []string {
	var out []string
	for _, ob := range r.Objects {
		out = append(out, fmt.Sprintf("%s/%s/%s", ob.Namespace, ob.Kind, ob.Name))
	}
	return out
}
