package audit

import (
	"context"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// kind is one kind of object the audit lists.
type kind struct {
	gvk schema.GroupVersionKind
	// resource is the plural name, as RBAC and kubectl spell it.
	resource string
	// ownedBy are the controller kinds through which an object of this
	// kind is reported when its controller exists: the owner is judged on
	// the template the object was made from.
	ownedBy []string
	list    func(ctx context.Context, c kubernetes.Interface, ns string, opts metav1.ListOptions) (page, error)
}

// page is one List answer.
type page struct {
	items []runtime.Object
	next  string
}

// kinds is every kind plimsoll judges (workload.Kinds), in the order the
// audit lists them: each owner before what it owns, so that when an
// object comes up, whether its controller exists is already known.
var kinds = []kind{
	{gvk: batchv1.SchemeGroupVersion.WithKind("CronJob"), resource: "cronjobs",
		list: func(ctx context.Context, c kubernetes.Interface, ns string, o metav1.ListOptions) (page, error) {
			l, err := c.BatchV1().CronJobs(ns).List(ctx, o)
			return pageOf(l, err, func(l *batchv1.CronJobList) ([]batchv1.CronJob, string) { return l.Items, l.Continue })
		}},
	{gvk: batchv1.SchemeGroupVersion.WithKind("Job"), resource: "jobs", ownedBy: []string{"CronJob"},
		list: func(ctx context.Context, c kubernetes.Interface, ns string, o metav1.ListOptions) (page, error) {
			l, err := c.BatchV1().Jobs(ns).List(ctx, o)
			return pageOf(l, err, func(l *batchv1.JobList) ([]batchv1.Job, string) { return l.Items, l.Continue })
		}},
	{gvk: appsv1.SchemeGroupVersion.WithKind("Deployment"), resource: "deployments",
		list: func(ctx context.Context, c kubernetes.Interface, ns string, o metav1.ListOptions) (page, error) {
			l, err := c.AppsV1().Deployments(ns).List(ctx, o)
			return pageOf(l, err, func(l *appsv1.DeploymentList) ([]appsv1.Deployment, string) { return l.Items, l.Continue })
		}},
	{gvk: appsv1.SchemeGroupVersion.WithKind("ReplicaSet"), resource: "replicasets", ownedBy: []string{"Deployment"},
		list: func(ctx context.Context, c kubernetes.Interface, ns string, o metav1.ListOptions) (page, error) {
			l, err := c.AppsV1().ReplicaSets(ns).List(ctx, o)
			return pageOf(l, err, func(l *appsv1.ReplicaSetList) ([]appsv1.ReplicaSet, string) { return l.Items, l.Continue })
		}},
	{gvk: appsv1.SchemeGroupVersion.WithKind("StatefulSet"), resource: "statefulsets",
		list: func(ctx context.Context, c kubernetes.Interface, ns string, o metav1.ListOptions) (page, error) {
			l, err := c.AppsV1().StatefulSets(ns).List(ctx, o)
			return pageOf(l, err, func(l *appsv1.StatefulSetList) ([]appsv1.StatefulSet, string) { return l.Items, l.Continue })
		}},
	{gvk: appsv1.SchemeGroupVersion.WithKind("DaemonSet"), resource: "daemonsets",
		list: func(ctx context.Context, c kubernetes.Interface, ns string, o metav1.ListOptions) (page, error) {
			l, err := c.AppsV1().DaemonSets(ns).List(ctx, o)
			return pageOf(l, err, func(l *appsv1.DaemonSetList) ([]appsv1.DaemonSet, string) { return l.Items, l.Continue })
		}},
	{gvk: corev1.SchemeGroupVersion.WithKind("ReplicationController"), resource: "replicationcontrollers",
		list: func(ctx context.Context, c kubernetes.Interface, ns string, o metav1.ListOptions) (page, error) {
			l, err := c.CoreV1().ReplicationControllers(ns).List(ctx, o)
			return pageOf(l, err, func(l *corev1.ReplicationControllerList) ([]corev1.ReplicationController, string) {
				return l.Items, l.Continue
			})
		}},
	{gvk: corev1.SchemeGroupVersion.WithKind("Pod"), resource: "pods",
		ownedBy: []string{"ReplicaSet", "DaemonSet", "StatefulSet", "Job", "ReplicationController"},
		list: func(ctx context.Context, c kubernetes.Interface, ns string, o metav1.ListOptions) (page, error) {
			l, err := c.CoreV1().Pods(ns).List(ctx, o)
			return pageOf(l, err, func(l *corev1.PodList) ([]corev1.Pod, string) { return l.Items, l.Continue })
		}},
}

// pageOf turns a typed list into a page of pointers into its items.
func pageOf[L any, T any, P interface {
	*T
	runtime.Object
}](l *L, err error, items func(*L) ([]T, string)) (page, error) {
	if err != nil {
		return page{}, err
	}
	list, cont := items(l)
	p := page{items: make([]runtime.Object, len(list)), next: cont}
	for i := range list {
		p.items[i] = P(&list[i])
	}
	return p, nil
}

// kindOf returns the kind named k.
func kindOf(k string) *kind {
	i := slices.IndexFunc(kinds, func(x kind) bool { return x.gvk.Kind == k })
	if i < 0 {
		return nil
	}
	return &kinds[i]
}

// throughOwner reports whether the object with meta is reported through
// its controller: the controller is of a kind in ownedBy and exists (exists
// is told the controller's reference). A Pod whose ReplicaSet is gone, or
// whose controller is not a kind plimsoll judges (an operator's custom
// resource), is reported as itself.
func throughOwner(meta metav1.Object, ownedBy []string, exists func(ref *metav1.OwnerReference) bool) bool {
	if len(ownedBy) == 0 {
		return false
	}
	ref := metav1.GetControllerOfNoCopy(meta)
	if ref == nil || !slices.Contains(ownedBy, ref.Kind) {
		return false
	}
	return exists(ref)
}

// informerFor returns the shared informer of the kind named k.
func informerFor(f informers.SharedInformerFactory, k string) cache.SharedIndexInformer {
	switch k {
	case "CronJob":
		return f.Batch().V1().CronJobs().Informer()
	case "Job":
		return f.Batch().V1().Jobs().Informer()
	case "Deployment":
		return f.Apps().V1().Deployments().Informer()
	case "ReplicaSet":
		return f.Apps().V1().ReplicaSets().Informer()
	case "StatefulSet":
		return f.Apps().V1().StatefulSets().Informer()
	case "DaemonSet":
		return f.Apps().V1().DaemonSets().Informer()
	case "ReplicationController":
		return f.Core().V1().ReplicationControllers().Informer()
	case "Pod":
		return f.Core().V1().Pods().Informer()
	}
	panic("audit: no informer for kind " + k)
}
