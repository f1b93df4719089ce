package cluster

import (
	"slices"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/plimsoll/plimsoll/workload"
)

// Objects is a View over objects given to it one by one: the documents of
// a `plimsoll check` run, the objects an audit listed. Not safe for
// concurrent Adds; safe for concurrent reads once filled.
type Objects struct {
	source     string
	namespaces map[string]*namespace
	scans      map[string][]ImageScan // by key (ImageScan.Keys)
	scanned    bool
}

// Scanned is an object that is an image scan: a VulnerabilityReport.
type Scanned interface {
	ImageScan() ImageScan
}

type namespace struct {
	budgets     []*policyv1.PodDisruptionBudget
	autoscalers []*autoscalingv2.HorizontalPodAutoscaler
	workloads   map[string]*workload.Template // by kind + "/" + name
	accounts    map[string]*corev1.ServiceAccount
	netpols     []*networkingv1.NetworkPolicy
	quotas      int
	limitRanges int
}

// NewObjects returns an empty Objects whose answers come from source
// ("the documents checked", "the cluster").
func NewObjects(source string) *Objects {
	return &Objects{source: source, namespaces: map[string]*namespace{}, scans: map[string][]ImageScan{}}
}

// Scaled lists the kinds a HorizontalPodAutoscaler can target that
// plimsoll judges: Workload answers for them.
var Scaled = []string{"Deployment", "StatefulSet", "ReplicaSet", "ReplicationController"}

// Add records obj in the namespace ns (the object's own when it names
// one) and reports whether it is of a kind a View answers about. The
// object is kept, not copied: the caller does not change it afterwards.
func (o *Objects) Add(obj runtime.Object, ns string) bool {
	switch x := obj.(type) {
	case *policyv1.PodDisruptionBudget:
		o.at(x.Namespace, ns).budgets = append(o.at(x.Namespace, ns).budgets, x)
	case *autoscalingv2.HorizontalPodAutoscaler:
		o.at(x.Namespace, ns).autoscalers = append(o.at(x.Namespace, ns).autoscalers, x)
	case *corev1.ResourceQuota:
		o.at(x.Namespace, ns).quotas++
	case *corev1.LimitRange:
		o.at(x.Namespace, ns).limitRanges++
	case *corev1.ServiceAccount:
		o.at(x.Namespace, ns).accounts[x.Name] = x
	case *networkingv1.NetworkPolicy:
		o.at(x.Namespace, ns).netpols = append(o.at(x.Namespace, ns).netpols, x)
	case Scanned:
		s := x.ImageScan()
		if s.Namespace == "" {
			s.Namespace = ns
		}
		o.AddScan(s)
	default:
		t, err := workload.Find(obj)
		if err != nil || !slices.Contains(Scaled, t.Kind) {
			return false
		}
		n := o.at(t.Meta.Namespace, ns)
		n.workloads[t.Kind+"/"+t.Meta.Name] = t
	}
	return true
}

func (o *Objects) at(own, ns string) *namespace {
	if own != "" {
		ns = own
	}
	n := o.namespaces[ns]
	if n == nil {
		n = &namespace{workloads: map[string]*workload.Template{}, accounts: map[string]*corev1.ServiceAccount{}}
		o.namespaces[ns] = n
	}
	return n
}

func (o *Objects) DisruptionBudgets(ns string) []*policyv1.PodDisruptionBudget {
	if n := o.namespaces[ns]; n != nil {
		return n.budgets
	}
	return nil
}

func (o *Objects) Autoscalers(ns string) []*autoscalingv2.HorizontalPodAutoscaler {
	if n := o.namespaces[ns]; n != nil {
		return n.autoscalers
	}
	return nil
}

func (o *Objects) Workload(ns, kind, name string) *workload.Template {
	if n := o.namespaces[ns]; n != nil {
		return n.workloads[kind+"/"+name]
	}
	return nil
}

// AddScan records an image scan.
func (o *Objects) AddScan(s ImageScan) {
	for _, k := range s.Keys() {
		o.scans[k] = append(o.scans[k], s)
	}
	o.scanned = true
}

// Keeps is true for every kind of Scaled, ServiceAccount and
// NetworkPolicy: Objects keeps each one it is given. It keeps
// VulnerabilityReports once it has been given one: a run without any
// says nothing of what a scanner found.
func (o *Objects) Keeps(kind string) bool {
	switch kind {
	case "ServiceAccount", "NetworkPolicy":
		return true
	case ScanKind:
		return o.scanned
	}
	return slices.Contains(Scaled, kind)
}

func (o *Objects) NetworkPolicies(ns string) []*networkingv1.NetworkPolicy {
	if n := o.namespaces[ns]; n != nil {
		return n.netpols
	}
	return nil
}

func (o *Objects) ImageScans(image string) []ImageScan {
	return o.scans[ScanKey(image)]
}

func (o *Objects) ServiceAccount(ns, name string) *corev1.ServiceAccount {
	if n := o.namespaces[ns]; n != nil {
		return n.accounts[name]
	}
	return nil
}

func (o *Objects) ResourceQuotas(ns string) int {
	if n := o.namespaces[ns]; n != nil {
		return n.quotas
	}
	return 0
}

func (o *Objects) LimitRanges(ns string) int {
	if n := o.namespaces[ns]; n != nil {
		return n.limitRanges
	}
	return 0
}

func (o *Objects) Source() string { return o.source }
