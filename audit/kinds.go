package audit

import (
	"context"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/cache"

	"github.com/plimsoll/plimsoll/internal/kube"
	"github.com/plimsoll/plimsoll/workload"
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
	// list returns one page of the kind's List in namespace ns ("" for
	// all): a typed list (a pager.ListPageFunc once ns is bound).
	list func(ctx context.Context, c kube.Interface, ns string, opts metav1.ListOptions) (runtime.Object, error)
	// informer returns an informer of the kind in namespace ns ("" for
	// all).
	informer func(c kube.Interface, ns string, o kube.InformerOptions) cache.SharedIndexInformer
	// context marks the kinds the context rules read (cluster.View):
	// budgets, autoscalers, quotas, limit ranges and service accounts.
	// They are listed
	// (watched) only when the policy turns context rules on, and before
	// any workload, so that each workload is judged with what is around
	// it.
	context bool
	// judged says the kind's objects are judged as objects of their own:
	// every kind but ResourceQuota, LimitRange and ServiceAccount, which
	// are only read.
	// A PodDisruptionBudget or HorizontalPodAutoscaler is judged after
	// every workload: hpa-target reads the workload an autoscaler scales.
	judged bool
}

// kinds is every kind the audit lists: the kinds the context rules read
// first, then every kind plimsoll judges (workload.Kinds) in the order
// the audit lists them, each owner before what it owns, so that when an
// object comes up, whether its controller exists is already known.
var kinds = []kind{
	around(newKind(policyv1.SchemeGroupVersion.WithKind("PodDisruptionBudget"), "poddisruptionbudgets", nil, kube.Interface.PodDisruptionBudgets), true),
	around(newKind(autoscalingv2.SchemeGroupVersion.WithKind("HorizontalPodAutoscaler"), "horizontalpodautoscalers", nil, kube.Interface.HorizontalPodAutoscalers), true),
	around(newKind(corev1.SchemeGroupVersion.WithKind("ResourceQuota"), "resourcequotas", nil, kube.Interface.ResourceQuotas), false),
	around(newKind(corev1.SchemeGroupVersion.WithKind("LimitRange"), "limitranges", nil, kube.Interface.LimitRanges), false),
	around(newKind(corev1.SchemeGroupVersion.WithKind("ServiceAccount"), "serviceaccounts", nil, kube.Interface.ServiceAccounts), false),
	newKind(batchv1.SchemeGroupVersion.WithKind("CronJob"), "cronjobs", nil, kube.Interface.CronJobs),
	newKind(batchv1.SchemeGroupVersion.WithKind("Job"), "jobs", []string{"CronJob"}, kube.Interface.Jobs),
	newKind(appsv1.SchemeGroupVersion.WithKind("Deployment"), "deployments", nil, kube.Interface.Deployments),
	newKind(appsv1.SchemeGroupVersion.WithKind("ReplicaSet"), "replicasets", []string{"Deployment"}, kube.Interface.ReplicaSets),
	newKind(appsv1.SchemeGroupVersion.WithKind("StatefulSet"), "statefulsets", nil, kube.Interface.StatefulSets),
	newKind(appsv1.SchemeGroupVersion.WithKind("DaemonSet"), "daemonsets", nil, kube.Interface.DaemonSets),
	newKind(corev1.SchemeGroupVersion.WithKind("ReplicationController"), "replicationcontrollers", nil, kube.Interface.ReplicationControllers),
	newKind(corev1.SchemeGroupVersion.WithKind("Pod"), "pods", []string{"ReplicaSet", "DaemonSet", "StatefulSet", "Job", "ReplicationController"},
		kube.Interface.Pods),
}

// newKind returns the kind whose objects of type T, in lists of type L,
// res reaches.
func newKind[E any, T interface {
	*E
	runtime.Object
}, L runtime.Object](gvk schema.GroupVersionKind, resource string, ownedBy []string,
	res func(c kube.Interface, ns string) kube.Resource[T, L]) kind {
	return kind{gvk: gvk, resource: resource, ownedBy: ownedBy, judged: true,
		list: func(ctx context.Context, c kube.Interface, ns string, o metav1.ListOptions) (runtime.Object, error) {
			return res(c, ns).List(ctx, o)
		},
		informer: func(c kube.Interface, ns string, o kube.InformerOptions) cache.SharedIndexInformer {
			return kube.NewInformer(c, res(c, ns), o)
		},
	}
}

// around marks k as a kind the context rules read; judged says whether
// its objects are also judged as objects of their own.
func around(k kind, judged bool) kind {
	k.context, k.judged = true, judged
	return k
}

// listed returns the kinds an audit under a policy whose context rules
// are on (or off) lists.
func listed(contextRules bool) []*kind {
	var out []*kind
	for i := range kinds {
		if contextRules || !kinds[i].context {
			out = append(out, &kinds[i])
		}
	}
	return out
}

// apiVersionOf returns the apiVersion of a kind plimsoll judges: one of
// workload.Kinds or workload.Companions.
func apiVersionOf(k string) string {
	for _, gvk := range slices.Concat(workload.Kinds, workload.Companions) {
		if gvk.Kind == k {
			return gvk.GroupVersion().String()
		}
	}
	return ""
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
