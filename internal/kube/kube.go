// Package kube talks to the API server for the few kinds plimsoll reads
// and writes: namespaces, Secrets, the eight workload kinds the audit
// lists and the ConfigMaps it judges (configmap-secrets), the objects the context rules read beside them
// (PodDisruptionBudgets, HorizontalPodAutoscalers, ResourceQuotas,
// LimitRanges, ServiceAccounts) and the two webhook configurations self-managed TLS
// writes.
//
// It stands in for client-go's clientset (k8s.io/client-go/kubernetes),
// its informer factory and discovery, which register every API group's
// types when the program starts: about 24 MB of binary and 8 MB of
// memory that `plimsoll serve` and `plimsoll version` pay for nothing.
// Here a private runtime.Scheme holds only core/v1, apps/v1, batch/v1,
// policy/v1, autoscaling/v2 and admissionregistration/v1, built the first
// time a client is made, and each group version has one rest.RESTClient
// over a shared HTTP client and rate limiter, as the clientset has.
// Requests prefer protobuf (with JSON as the fallback) unless the
// rest.Config names a content type, as client-go's typed clients of these
// kinds do.
//
// Interface is what plimsoll's packages take; the kubetest package wraps
// client-go's fake clientset in it for tests. The package is internal: it
// serves plimsoll's own kinds and is no client library for others.
package kube

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/flowcontrol"

	"github.com/plimsoll/plimsoll/internal/trivy"
)

// Resource reads and writes one resource, in one namespace (all
// namespaces, or a cluster-scoped resource, when it is ""). client-go's
// typed clients (and so its fake clientset's) have these methods.
type Resource[T, L runtime.Object] interface {
	Get(ctx context.Context, name string, opts metav1.GetOptions) (T, error)
	List(ctx context.Context, opts metav1.ListOptions) (L, error)
	Watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error)
	Create(ctx context.Context, obj T, opts metav1.CreateOptions) (T, error)
	Update(ctx context.Context, obj T, opts metav1.UpdateOptions) (T, error)
}

// Interface is every resource plimsoll talks to the API server about.
type Interface interface {
	Namespaces() Resource[*corev1.Namespace, *corev1.NamespaceList]
	Secrets(namespace string) Resource[*corev1.Secret, *corev1.SecretList]
	Pods(namespace string) Resource[*corev1.Pod, *corev1.PodList]
	ReplicationControllers(namespace string) Resource[*corev1.ReplicationController, *corev1.ReplicationControllerList]
	Deployments(namespace string) Resource[*appsv1.Deployment, *appsv1.DeploymentList]
	ReplicaSets(namespace string) Resource[*appsv1.ReplicaSet, *appsv1.ReplicaSetList]
	StatefulSets(namespace string) Resource[*appsv1.StatefulSet, *appsv1.StatefulSetList]
	DaemonSets(namespace string) Resource[*appsv1.DaemonSet, *appsv1.DaemonSetList]
	Jobs(namespace string) Resource[*batchv1.Job, *batchv1.JobList]
	CronJobs(namespace string) Resource[*batchv1.CronJob, *batchv1.CronJobList]
	PodDisruptionBudgets(namespace string) Resource[*policyv1.PodDisruptionBudget, *policyv1.PodDisruptionBudgetList]
	HorizontalPodAutoscalers(namespace string) Resource[*autoscalingv2.HorizontalPodAutoscaler, *autoscalingv2.HorizontalPodAutoscalerList]
	ResourceQuotas(namespace string) Resource[*corev1.ResourceQuota, *corev1.ResourceQuotaList]
	LimitRanges(namespace string) Resource[*corev1.LimitRange, *corev1.LimitRangeList]
	ServiceAccounts(namespace string) Resource[*corev1.ServiceAccount, *corev1.ServiceAccountList]
	ConfigMaps(namespace string) Resource[*corev1.ConfigMap, *corev1.ConfigMapList]
	NetworkPolicies(namespace string) Resource[*networkingv1.NetworkPolicy, *networkingv1.NetworkPolicyList]
	MutatingWebhookConfigurations() Resource[*admissionregistrationv1.MutatingWebhookConfiguration, *admissionregistrationv1.MutatingWebhookConfigurationList]
	ValidatingWebhookConfigurations() Resource[*admissionregistrationv1.ValidatingWebhookConfiguration, *admissionregistrationv1.ValidatingWebhookConfigurationList]
}

// Scans reads what a scanner running in the cluster stored there:
// trivy-operator's VulnerabilityReports, a custom resource that may not
// be installed. Client has it; the fake of kubetest has not.
type Scans interface {
	VulnerabilityReports(namespace string) Resource[*trivy.VulnerabilityReport, *trivy.VulnerabilityReportList]
}

// codecs is the scheme of the group versions and what encodes and
// decodes them, made once, when the first client is.
var codecs = sync.OnceValues(func() (serializer.CodecFactory, runtime.ParameterCodec) {
	s := runtime.NewScheme()
	// The unversioned meta types (Status, WatchEvent, the options), as
	// client-go's scheme registers them.
	metav1.AddToGroupVersion(s, schema.GroupVersion{Version: "v1"})
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, appsv1.AddToScheme, batchv1.AddToScheme, policyv1.AddToScheme, autoscalingv2.AddToScheme, admissionregistrationv1.AddToScheme, networkingv1.AddToScheme, trivy.AddToScheme} {
		if err := add(s); err != nil {
			panic(err) // only a programming error gets here
		}
	}
	return rest.CodecFactoryForGeneratedClient(s, serializer.NewCodecFactory(s)), runtime.NewParameterCodec(s)
})

// Client is Interface over the API server of a rest.Config.
type Client struct {
	core, apps, batch, policy, autoscaling, admission, networking, scans rest.Interface
	params                                                               runtime.ParameterCodec
}

var (
	_ Interface = (*Client)(nil)
	_ Scans     = (*Client)(nil)
)

// NewForConfig returns a Client for c, as kubernetes.NewForConfig does:
// one HTTP client and one rate limiter (QPS and Burst) shared by every
// group version, client-go's user agent unless c names one.
func NewForConfig(c *rest.Config) (*Client, error) {
	cfg := *c
	if cfg.UserAgent == "" {
		cfg.UserAgent = rest.DefaultKubernetesUserAgent()
	}
	httpClient, err := rest.HTTPClientFor(&cfg)
	if err != nil {
		return nil, err
	}
	return NewForConfigAndClient(&cfg, httpClient)
}

// NewForConfigAndClient is NewForConfig over an HTTP client of the
// caller's.
func NewForConfigAndClient(c *rest.Config, httpClient *http.Client) (*Client, error) {
	cfg := *c
	if cfg.RateLimiter == nil && cfg.QPS > 0 {
		if cfg.Burst <= 0 {
			return nil, fmt.Errorf("burst is required to be greater than 0 when RateLimiter is not set and QPS is set to greater than 0")
		}
		cfg.RateLimiter = flowcontrol.NewTokenBucketRateLimiter(cfg.QPS, cfg.Burst)
	}
	cf, params := codecs()
	restFor := func(gv schema.GroupVersion) (rest.Interface, error) {
		gc := cfg
		gc.GroupVersion = &gv
		gc.APIPath = "/apis"
		if gv.Group == "" {
			gc.APIPath = "/api"
		}
		gc.NegotiatedSerializer = cf.WithoutConversion()
		return rest.RESTClientForConfigAndClient(&gc, httpClient)
	}
	cl := &Client{params: params}
	for _, g := range []struct {
		gv   schema.GroupVersion
		into *rest.Interface
	}{
		{corev1.SchemeGroupVersion, &cl.core},
		{appsv1.SchemeGroupVersion, &cl.apps},
		{batchv1.SchemeGroupVersion, &cl.batch},
		{policyv1.SchemeGroupVersion, &cl.policy},
		{autoscalingv2.SchemeGroupVersion, &cl.autoscaling},
		{admissionregistrationv1.SchemeGroupVersion, &cl.admission},
		{networkingv1.SchemeGroupVersion, &cl.networking},
		{trivy.SchemeGroupVersion, &cl.scans},
	} {
		var err error
		if *g.into, err = restFor(g.gv); err != nil {
			return nil, err
		}
	}
	return cl, nil
}

func (c *Client) Namespaces() Resource[*corev1.Namespace, *corev1.NamespaceList] {
	return newResource[corev1.Namespace, corev1.NamespaceList](c, c.core, "namespaces", "")
}

func (c *Client) Secrets(ns string) Resource[*corev1.Secret, *corev1.SecretList] {
	return newResource[corev1.Secret, corev1.SecretList](c, c.core, "secrets", ns)
}

func (c *Client) Pods(ns string) Resource[*corev1.Pod, *corev1.PodList] {
	return newResource[corev1.Pod, corev1.PodList](c, c.core, "pods", ns)
}

func (c *Client) ReplicationControllers(ns string) Resource[*corev1.ReplicationController, *corev1.ReplicationControllerList] {
	return newResource[corev1.ReplicationController, corev1.ReplicationControllerList](c, c.core, "replicationcontrollers", ns)
}

func (c *Client) Deployments(ns string) Resource[*appsv1.Deployment, *appsv1.DeploymentList] {
	return newResource[appsv1.Deployment, appsv1.DeploymentList](c, c.apps, "deployments", ns)
}

func (c *Client) ReplicaSets(ns string) Resource[*appsv1.ReplicaSet, *appsv1.ReplicaSetList] {
	return newResource[appsv1.ReplicaSet, appsv1.ReplicaSetList](c, c.apps, "replicasets", ns)
}

func (c *Client) StatefulSets(ns string) Resource[*appsv1.StatefulSet, *appsv1.StatefulSetList] {
	return newResource[appsv1.StatefulSet, appsv1.StatefulSetList](c, c.apps, "statefulsets", ns)
}

func (c *Client) DaemonSets(ns string) Resource[*appsv1.DaemonSet, *appsv1.DaemonSetList] {
	return newResource[appsv1.DaemonSet, appsv1.DaemonSetList](c, c.apps, "daemonsets", ns)
}

func (c *Client) Jobs(ns string) Resource[*batchv1.Job, *batchv1.JobList] {
	return newResource[batchv1.Job, batchv1.JobList](c, c.batch, "jobs", ns)
}

func (c *Client) CronJobs(ns string) Resource[*batchv1.CronJob, *batchv1.CronJobList] {
	return newResource[batchv1.CronJob, batchv1.CronJobList](c, c.batch, "cronjobs", ns)
}

func (c *Client) PodDisruptionBudgets(ns string) Resource[*policyv1.PodDisruptionBudget, *policyv1.PodDisruptionBudgetList] {
	return newResource[policyv1.PodDisruptionBudget, policyv1.PodDisruptionBudgetList](c, c.policy, "poddisruptionbudgets", ns)
}

func (c *Client) HorizontalPodAutoscalers(ns string) Resource[*autoscalingv2.HorizontalPodAutoscaler, *autoscalingv2.HorizontalPodAutoscalerList] {
	return newResource[autoscalingv2.HorizontalPodAutoscaler, autoscalingv2.HorizontalPodAutoscalerList](c, c.autoscaling, "horizontalpodautoscalers", ns)
}

func (c *Client) ResourceQuotas(ns string) Resource[*corev1.ResourceQuota, *corev1.ResourceQuotaList] {
	return newResource[corev1.ResourceQuota, corev1.ResourceQuotaList](c, c.core, "resourcequotas", ns)
}

func (c *Client) LimitRanges(ns string) Resource[*corev1.LimitRange, *corev1.LimitRangeList] {
	return newResource[corev1.LimitRange, corev1.LimitRangeList](c, c.core, "limitranges", ns)
}

func (c *Client) ServiceAccounts(ns string) Resource[*corev1.ServiceAccount, *corev1.ServiceAccountList] {
	return newResource[corev1.ServiceAccount, corev1.ServiceAccountList](c, c.core, "serviceaccounts", ns)
}

func (c *Client) ConfigMaps(ns string) Resource[*corev1.ConfigMap, *corev1.ConfigMapList] {
	return newResource[corev1.ConfigMap, corev1.ConfigMapList](c, c.core, "configmaps", ns)
}

func (c *Client) NetworkPolicies(ns string) Resource[*networkingv1.NetworkPolicy, *networkingv1.NetworkPolicyList] {
	return newResource[networkingv1.NetworkPolicy, networkingv1.NetworkPolicyList](c, c.networking, "networkpolicies", ns)
}

// VulnerabilityReports are a custom resource's, served as JSON only.
func (c *Client) VulnerabilityReports(ns string) Resource[*trivy.VulnerabilityReport, *trivy.VulnerabilityReportList] {
	r := newResource[trivy.VulnerabilityReport, trivy.VulnerabilityReportList](c, c.scans, trivy.Resource, ns)
	r.jsonOnly = true
	return r
}

func (c *Client) MutatingWebhookConfigurations() Resource[*admissionregistrationv1.MutatingWebhookConfiguration, *admissionregistrationv1.MutatingWebhookConfigurationList] {
	return newResource[admissionregistrationv1.MutatingWebhookConfiguration, admissionregistrationv1.MutatingWebhookConfigurationList](c, c.admission, "mutatingwebhookconfigurations", "")
}

func (c *Client) ValidatingWebhookConfigurations() Resource[*admissionregistrationv1.ValidatingWebhookConfiguration, *admissionregistrationv1.ValidatingWebhookConfigurationList] {
	return newResource[admissionregistrationv1.ValidatingWebhookConfiguration, admissionregistrationv1.ValidatingWebhookConfigurationList](c, c.admission, "validatingwebhookconfigurations", "")
}

// object is a pointer to an API type.
type object[E any] interface {
	*E
	runtime.Object
	GetName() string
}

// resource is one resource of one group version, in namespace ns: the
// requests of client-go's generated clients (gentype), protobuf first.
type resource[E, LE any, T object[E], L interface {
	*LE
	runtime.Object
}] struct {
	rc       rest.Interface
	params   runtime.ParameterCodec
	resource string
	ns       string
	// jsonOnly: a custom resource, which the API server serves as JSON
	// only.
	jsonOnly bool
}

func newResource[E, LE any, T object[E], L interface {
	*LE
	runtime.Object
}](c *Client, rc rest.Interface, name, ns string) *resource[E, LE, T, L] {
	return &resource[E, LE, T, L]{rc: rc, params: c.params, resource: name, ns: ns}
}

func (r *resource[E, LE, T, L]) req(verb func() *rest.Request) *rest.Request {
	req := verb()
	if !r.jsonOnly {
		req = req.UseProtobufAsDefault()
	}
	return req.NamespaceIfScoped(r.ns, r.ns != "").Resource(r.resource)
}

func timeout(s *int64) time.Duration {
	if s == nil {
		return 0
	}
	return time.Duration(*s) * time.Second
}

func (r *resource[E, LE, T, L]) Get(ctx context.Context, name string, opts metav1.GetOptions) (T, error) {
	out := T(new(E))
	err := r.req(r.rc.Get).Name(name).VersionedParams(&opts, r.params).Do(ctx).Into(out)
	return out, err
}

func (r *resource[E, LE, T, L]) List(ctx context.Context, opts metav1.ListOptions) (L, error) {
	out := L(new(LE))
	err := r.req(r.rc.Get).VersionedParams(&opts, r.params).Timeout(timeout(opts.TimeoutSeconds)).Do(ctx).Into(out)
	return out, err
}

func (r *resource[E, LE, T, L]) Watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
	opts.Watch = true
	return r.req(r.rc.Get).VersionedParams(&opts, r.params).Timeout(timeout(opts.TimeoutSeconds)).Watch(ctx)
}

func (r *resource[E, LE, T, L]) Create(ctx context.Context, obj T, opts metav1.CreateOptions) (T, error) {
	out := T(new(E))
	err := r.req(r.rc.Post).VersionedParams(&opts, r.params).Body(obj).Do(ctx).Into(out)
	return out, err
}

func (r *resource[E, LE, T, L]) Update(ctx context.Context, obj T, opts metav1.UpdateOptions) (T, error) {
	out := T(new(E))
	err := r.req(r.rc.Put).Name(obj.GetName()).VersionedParams(&opts, r.params).Body(obj).Do(ctx).Into(out)
	return out, err
}
