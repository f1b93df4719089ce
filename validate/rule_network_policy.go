package validate

// network-policy: every Pod is isolated by at least one NetworkPolicy
// that selects it, for ingress (and, with the policy's
// networkPolicy.requireEgress, for egress), by Kubernetes' own
// semantics: an empty podSelector selects every Pod of the namespace;
// policyTypes unset means Ingress, plus Egress when the policy has egress
// rules; a policy with no ingress rules denies all ingress, which is
// isolation, not a gap. Without it, any Pod of the cluster can connect to
// the workload's Pods. Read from the cluster: the NetworkPolicies of the
// namespace. Pods on the host's network are left to host-namespaces:
// NetworkPolicies do not apply to them.

import (
	"fmt"
	"strings"

	"github.com/plimsoll/plimsoll/cluster"
	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/workload"
)

var networkPolicy = &Rule{
	ID:          "network-policy",
	Category:    "security",
	Severity:    policy.Warning,
	Description: "Every Pod is selected by a NetworkPolicy that isolates it for ingress (and egress, with networkPolicy.requireEgress).",
	Remediation: "Create a default-deny NetworkPolicy that selects the Pods (podSelector: {} for the whole namespace), then policies that allow what should reach them.",
	Defaulted:   "no",
	InContext: func(t *workload.Template, a Around, p *policy.Policy) []Finding {
		if !a.Keeps("NetworkPolicy") || t.Spec.HostNetwork {
			return nil
		}
		iso := cluster.IsolationOf(a.View, a.Namespace, t.PodMeta.Labels)
		var open []string
		if len(iso.Ingress) == 0 {
			open = append(open, "Ingress")
		}
		if p.NetworkPolicy.RequireEgress && len(iso.Egress) == 0 {
			open = append(open, "Egress")
		}
		if len(open) == 0 {
			return nil
		}
		scope, path := "workload", podMetaPath(t).Child("labels").String()
		if t.Kind == "Pod" {
			scope = "Pod"
		}
		what := "any Pod in the cluster can connect to its Pods"
		switch {
		case len(open) == 2:
			what = "its Pods can be reached from, and reach, anything in the cluster"
		case open[0] == "Egress":
			what = "its Pods can connect to anything in the cluster and beyond"
		}
		return []Finding{{
			Path:  path,
			Scope: scope,
			Problem: fmt.Sprintf("is selected by no NetworkPolicy in %s that isolates it for %s, so %s",
				a.Source(), strings.ToLower(strings.Join(open, " or ")), what),
			Fix: "create a default-deny NetworkPolicy, then allow what should pass: " + defaultDeny(t, a.Namespace, open),
		}}
	},
}

// defaultDeny writes, as a YAML flow mapping, the NetworkPolicy
// network-policy asks for: the workload's Pods selected (the whole
// namespace when they carry no labels), every direction that is open
// denied.
func defaultDeny(t *workload.Template, ns string, types []string) string {
	name := t.Meta.Name
	if name == "" {
		name = t.Meta.GenerateName
	}
	meta := "{name: " + strings.TrimSuffix(name, "-") + "-default-deny"
	if ns != "" {
		meta += ", namespace: " + ns
	}
	sel := "{}"
	if l := selectorLabels(t); len(l) > 0 {
		sel = "{matchLabels: " + flowMap(l) + "}"
	}
	return "{apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: " + meta + "}, spec: {podSelector: " + sel +
		", policyTypes: [" + strings.Join(types, ", ") + "]}}"
}
