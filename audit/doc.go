// Package audit answers the question asked before every switch to enforce:
// what is running today that plimsoll would refuse, where, and who owns
// it?
//
// Run lists every Pod and workload of the namespaces in scope (paginated,
// at a bounded request rate), reports each Pod made by a workload once,
// through that workload, and judges each object with the same pipeline and
// policy as the webhook, as a CREATE: so its findings on a cluster are
// exactly those `plimsoll check` gives on the same manifests, in check's
// result schema. Unless the policy turns context rules off, it first
// lists what those rules read (PodDisruptionBudgets,
// HorizontalPodAutoscalers, ResourceQuotas, LimitRanges) into a
// cluster.View, which also keeps the workloads an autoscaler can target
// as they are listed; it judges budgets and autoscalers as objects of
// their own (autoscalers after every workload: hpa-target reads theirs)
// and each namespace that runs workloads as a Namespace
// (namespace-quota). The context rules' error severity counts here. It
// lists and judges ConfigMaps too, while the policy leaves
// configmap-secrets on (they run nothing: a namespace of ConfigMaps alone
// is no namespace that runs workloads). Report renders them as text (per namespace and rule),
// JSON (check's schema) or a self-contained HTML page.
//
// Background keeps the same answer current inside the cluster: informers
// on the workload kinds, Pods and namespaces, and on what the context
// rules read, seen through internal/clusterwatch (informers.go); a queue
// that re-evaluates a namespace on every change and on every policy
// change, with a per-namespace cache that a change to a budget,
// autoscaler, quota or limit range there invalidates (queue.go), Prometheus gauges (metrics.go) and
// one PolicyReport (wgpolicyk8s.io/v1alpha2) per namespace
// (policyreport.go, written by reportwriter.go); background.go wires them
// and serves health and metrics through internal/serving.
//
// Scope follows the webhook's: the namespace label plimsoll.dev/mode, the
// namespaces plimsoll never touches (kube-system, kube-public,
// kube-node-lease) and the ones an operator excludes.
package audit
