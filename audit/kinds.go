package audit

import (
	"context"
	"errors"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/cache"

	"github.com/plimsoll/plimsoll/internal/kube"
	"github.com/plimsoll/plimsoll/internal/trivy"
	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/validate"
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
	// pods says the kind's objects are Pods or make them: a namespace
	// that has one runs workloads (and namespace-quota judges it).
	pods bool
	// companion marks a kind only the rules that name it in
	// validate.Rule.Kinds judge, and no context rule reads (ConfigMap):
	// it is listed (watched) only when the policy leaves one of those
	// rules on, so an audit whose policy turns configmap-secrets off
	// neither reads ConfigMaps nor needs the right to.
	companion bool
	// optional marks a custom resource that may not be served
	// (VulnerabilityReports, where trivy-operator is not installed): the
	// audit lists it where it is, and goes on without it where it is not.
	optional bool
}

// kinds is every kind the audit lists: the kinds the context rules read
// first, then every kind plimsoll judges (workload.Kinds) in the order
// the audit lists them, each owner before what it owns, so that when an
// object comes up, whether its controller exists is already known; then
// the ConfigMaps (configmap-secrets).
//
// ConfigMaps cost memory in the background audit: configmap-secrets
// reads their values, so the informer keeps them whole (strip drops only
// kubectl's copy of the last manifest applied and binary values that are
// not text) — about the size of the namespaces' ConfigMaps as stored.
var kinds = []kind{
	around(newKind(policyv1.SchemeGroupVersion.WithKind("PodDisruptionBudget"), "poddisruptionbudgets", nil, kube.Interface.PodDisruptionBudgets), true),
	around(newKind(autoscalingv2.SchemeGroupVersion.WithKind("HorizontalPodAutoscaler"), "horizontalpodautoscalers", nil, kube.Interface.HorizontalPodAutoscalers), true),
	around(newKind(corev1.SchemeGroupVersion.WithKind("ResourceQuota"), "resourcequotas", nil, kube.Interface.ResourceQuotas), false),
	around(newKind(corev1.SchemeGroupVersion.WithKind("LimitRange"), "limitranges", nil, kube.Interface.LimitRanges), false),
	around(newKind(corev1.SchemeGroupVersion.WithKind("ServiceAccount"), "serviceaccounts", nil, kube.Interface.ServiceAccounts), false),
	around(newKind(networkingv1.SchemeGroupVersion.WithKind("NetworkPolicy"), "networkpolicies", nil, kube.Interface.NetworkPolicies), false),
	scans(),
	newKind(batchv1.SchemeGroupVersion.WithKind("CronJob"), "cronjobs", nil, kube.Interface.CronJobs),
	newKind(batchv1.SchemeGroupVersion.WithKind("Job"), "jobs", []string{"CronJob"}, kube.Interface.Jobs),
	newKind(appsv1.SchemeGroupVersion.WithKind("Deployment"), "deployments", nil, kube.Interface.Deployments),
	newKind(appsv1.SchemeGroupVersion.WithKind("ReplicaSet"), "replicasets", []string{"Deployment"}, kube.Interface.ReplicaSets),
	newKind(appsv1.SchemeGroupVersion.WithKind("StatefulSet"), "statefulsets", nil, kube.Interface.StatefulSets),
	newKind(appsv1.SchemeGroupVersion.WithKind("DaemonSet"), "daemonsets", nil, kube.Interface.DaemonSets),
	newKind(corev1.SchemeGroupVersion.WithKind("ReplicationController"), "replicationcontrollers", nil, kube.Interface.ReplicationControllers),
	newKind(corev1.SchemeGroupVersion.WithKind("Pod"), "pods", []string{"ReplicaSet", "DaemonSet", "StatefulSet", "Job", "ReplicationController"},
		kube.Interface.Pods),
	companion(newKind(corev1.SchemeGroupVersion.WithKind("ConfigMap"), "configmaps", nil, kube.Interface.ConfigMaps)),
}

// newKind returns the kind whose objects of type T, in lists of type L,
// res reaches.
func newKind[E any, T interface {
	*E
	runtime.Object
}, L runtime.Object](gvk schema.GroupVersionKind, resource string, ownedBy []string,
	res func(c kube.Interface, ns string) kube.Resource[T, L]) kind {
	return kind{gvk: gvk, resource: resource, ownedBy: ownedBy, judged: true, pods: true,
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
	k.context, k.judged, k.pods = true, judged, false
	return k
}

// errNotServed: the client cannot read the optional kind at all.
var errNotServed = errors.New("this client does not read VulnerabilityReports")

// scans is the kind of trivy-operator's VulnerabilityReports, read by
// image-vulnerabilities where the client can read them (kube.Scans) and
// the cluster serves them. Their informer is indexed by image.
func scans() kind {
	reports := func(c kube.Interface, ns string) (kube.Resource[*trivy.VulnerabilityReport, *trivy.VulnerabilityReportList], error) {
		s, ok := c.(kube.Scans)
		if !ok {
			return nil, errNotServed
		}
		return s.VulnerabilityReports(ns), nil
	}
	return kind{gvk: trivy.SchemeGroupVersion.WithKind(trivy.Kind), resource: trivy.Resource, context: true, optional: true,
		list: func(ctx context.Context, c kube.Interface, ns string, o metav1.ListOptions) (runtime.Object, error) {
			r, err := reports(c, ns)
			if err != nil {
				return nil, err
			}
			return r.List(ctx, o)
		},
		informer: func(c kube.Interface, ns string, o kube.InformerOptions) cache.SharedIndexInformer {
			r, err := reports(c, ns)
			if err != nil {
				return nil
			}
			inf := kube.NewInformer(c, r, o)
			_ = inf.AddIndexers(cache.Indexers{trivy.KeyIndex: trivy.IndexByImage}) // fails only once it runs
			return inf
		},
	}
}

// served reports whether the optional kind k can be listed in namespace
// ns: a custom resource that is not installed (404), or a client that
// cannot read it, is not; any other error is the listing's to report.
func served(ctx context.Context, c kube.Interface, k *kind, ns string) (bool, error) {
	_, err := k.list(ctx, c, ns, metav1.ListOptions{Limit: 1})
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, errNotServed) || apierrors.IsNotFound(err) || apierrors.IsForbidden(err):
		return false, nil
	}
	return false, err
}

// companion marks k as a kind judged only by the rules that name it.
func companion(k kind) kind {
	k.companion, k.pods = true, false
	return k
}

// listed returns the kinds an audit under policy p, with rules, lists.
func listed(p *policy.Policy, rules []*validate.Rule) []*kind {
	var out []*kind
	for i := range kinds {
		if kinds[i].wanted(p, rules) {
			out = append(out, &kinds[i])
		}
	}
	return out
}

// wanted reports whether an audit under policy p, with rules, lists k:
// a kind the context rules read only when p runs them, a companion only
// when p leaves on a rule that judges it.
func (k *kind) wanted(p *policy.Policy, rules []*validate.Rule) bool {
	if k.context && !p.ContextRulesOn() {
		return false
	}
	if !k.companion {
		return true
	}
	return slices.ContainsFunc(rules, func(r *validate.Rule) bool {
		return slices.Contains(r.Kinds, k.gvk.Kind) && p.Severity(r.ID, r.Severity) != policy.Off
	})
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
