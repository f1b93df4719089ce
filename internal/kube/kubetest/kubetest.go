// Package kubetest is a fake of kube.Interface for unit tests: it puts
// client-go's clientset (its fake, k8s.io/client-go/kubernetes/fake)
// behind kube.Interface. Only tests import it: it pulls in the whole
// clientset that package kube exists to keep out of the plimsoll binary.
// It holds no fixtures and no assertions; end-to-end tests talk to a real
// API server instead.
package kubetest

import (
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/watchlist"

	"github.com/plimsoll/plimsoll/internal/kube"
)

// Wrap returns c as a kube.Interface.
func Wrap(c kubernetes.Interface) kube.Interface { return clientset{c} }

type clientset struct{ c kubernetes.Interface }

// IsWatchListSemanticsUnSupported tells informers what c tells them: the
// fake clientset cannot serve a watch list.
func (f clientset) IsWatchListSemanticsUnSupported() bool {
	return watchlist.DoesClientNotSupportWatchListSemantics(f.c)
}

func (f clientset) Namespaces() kube.Resource[*corev1.Namespace, *corev1.NamespaceList] {
	return f.c.CoreV1().Namespaces()
}

func (f clientset) Secrets(ns string) kube.Resource[*corev1.Secret, *corev1.SecretList] {
	return f.c.CoreV1().Secrets(ns)
}

func (f clientset) Pods(ns string) kube.Resource[*corev1.Pod, *corev1.PodList] {
	return f.c.CoreV1().Pods(ns)
}

func (f clientset) ReplicationControllers(ns string) kube.Resource[*corev1.ReplicationController, *corev1.ReplicationControllerList] {
	return f.c.CoreV1().ReplicationControllers(ns)
}

func (f clientset) Deployments(ns string) kube.Resource[*appsv1.Deployment, *appsv1.DeploymentList] {
	return f.c.AppsV1().Deployments(ns)
}

func (f clientset) ReplicaSets(ns string) kube.Resource[*appsv1.ReplicaSet, *appsv1.ReplicaSetList] {
	return f.c.AppsV1().ReplicaSets(ns)
}

func (f clientset) StatefulSets(ns string) kube.Resource[*appsv1.StatefulSet, *appsv1.StatefulSetList] {
	return f.c.AppsV1().StatefulSets(ns)
}

func (f clientset) DaemonSets(ns string) kube.Resource[*appsv1.DaemonSet, *appsv1.DaemonSetList] {
	return f.c.AppsV1().DaemonSets(ns)
}

func (f clientset) Jobs(ns string) kube.Resource[*batchv1.Job, *batchv1.JobList] {
	return f.c.BatchV1().Jobs(ns)
}

func (f clientset) CronJobs(ns string) kube.Resource[*batchv1.CronJob, *batchv1.CronJobList] {
	return f.c.BatchV1().CronJobs(ns)
}

func (f clientset) PodDisruptionBudgets(ns string) kube.Resource[*policyv1.PodDisruptionBudget, *policyv1.PodDisruptionBudgetList] {
	return f.c.PolicyV1().PodDisruptionBudgets(ns)
}

func (f clientset) HorizontalPodAutoscalers(ns string) kube.Resource[*autoscalingv2.HorizontalPodAutoscaler, *autoscalingv2.HorizontalPodAutoscalerList] {
	return f.c.AutoscalingV2().HorizontalPodAutoscalers(ns)
}

func (f clientset) ResourceQuotas(ns string) kube.Resource[*corev1.ResourceQuota, *corev1.ResourceQuotaList] {
	return f.c.CoreV1().ResourceQuotas(ns)
}

func (f clientset) LimitRanges(ns string) kube.Resource[*corev1.LimitRange, *corev1.LimitRangeList] {
	return f.c.CoreV1().LimitRanges(ns)
}

func (f clientset) ServiceAccounts(ns string) kube.Resource[*corev1.ServiceAccount, *corev1.ServiceAccountList] {
	return f.c.CoreV1().ServiceAccounts(ns)
}

func (f clientset) ConfigMaps(ns string) kube.Resource[*corev1.ConfigMap, *corev1.ConfigMapList] {
	return f.c.CoreV1().ConfigMaps(ns)
}

func (f clientset) NetworkPolicies(ns string) kube.Resource[*networkingv1.NetworkPolicy, *networkingv1.NetworkPolicyList] {
	return f.c.NetworkingV1().NetworkPolicies(ns)
}

func (f clientset) MutatingWebhookConfigurations() kube.Resource[*admissionregistrationv1.MutatingWebhookConfiguration, *admissionregistrationv1.MutatingWebhookConfigurationList] {
	return f.c.AdmissionregistrationV1().MutatingWebhookConfigurations()
}

func (f clientset) ValidatingWebhookConfigurations() kube.Resource[*admissionregistrationv1.ValidatingWebhookConfiguration, *admissionregistrationv1.ValidatingWebhookConfigurationList] {
	return f.c.AdmissionregistrationV1().ValidatingWebhookConfigurations()
}
