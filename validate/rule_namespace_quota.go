package validate

// namespace-quota: a namespace that runs workloads has a ResourceQuota,
// which caps what its tenants may claim, and a LimitRange, which gives
// containers that say nothing a request and a limit. Judged on Namespace
// objects: in `plimsoll audit` every audited namespace that runs
// workloads, in `plimsoll check` the Namespace documents of the run (and
// only those: quotas are often set by another team, so check says
// nothing of a namespace it was not given). Read from the cluster: the
// namespace's ResourceQuotas and LimitRanges.

import (
	"fmt"

	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/workload"
)

var namespaceQuota = &Rule{
	ID:          "namespace-quota",
	Category:    "efficiency",
	Severity:    policy.Warning,
	Description: "Namespaces that run workloads have a ResourceQuota and a LimitRange.",
	Remediation: "Create a ResourceQuota (requests.cpu, requests.memory, limits.memory, pods) and a LimitRange (default requests and limits for containers) in the namespace.",
	Defaulted:   "no",
	Kinds:       []string{"Namespace"},
	InContext: func(t *workload.Template, a Around, _ *policy.Policy) []Finding {
		ns := t.Meta.Name
		var out []Finding
		if a.ResourceQuotas(ns) == 0 {
			out = append(out, Finding{
				Path: "metadata.name", Scope: "namespace",
				Problem: fmt.Sprintf("has no ResourceQuota in %s, so its workloads may claim the whole cluster", a.Source()),
				Fix:     fmt.Sprintf("create a ResourceQuota: {apiVersion: v1, kind: ResourceQuota, metadata: {name: quota, namespace: %s}, spec: {hard: {requests.cpu: \"8\", requests.memory: 16Gi, limits.memory: 16Gi, pods: \"50\"}}}", ns),
			})
		}
		if a.LimitRanges(ns) == 0 {
			out = append(out, Finding{
				Path: "metadata.name", Scope: "namespace",
				Problem: fmt.Sprintf("has no LimitRange in %s, so a container that sets no resources runs unbounded (outside plimsoll's defaulting)", a.Source()),
				Fix:     fmt.Sprintf("create a LimitRange: {apiVersion: v1, kind: LimitRange, metadata: {name: defaults, namespace: %s}, spec: {limits: [{type: Container, defaultRequest: {cpu: 100m, memory: 128Mi}, default: {memory: 256Mi}}]}}", ns),
			})
		}
		return out
	},
}
