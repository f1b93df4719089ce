package export

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/plimsoll/plimsoll/policy"
)

// cpu-requests, memory-requests, cpu-limits, memory-limits: every
// container and init container states the resource (a limit stands for
// the request, which the API server copies from it); a Pod that budgets it
// at pod level (spec.resources) is left alone, as defaulting leaves it.
//
// A workload is judged as its Pods will be once defaulted: where the
// policy's defaults write the resource, only a Pod — which arrives
// defaulted, the defaults' policy and /mutate running before any
// validation — can break the rule.

func init() {
	for _, r := range []struct {
		id      string
		name    corev1.ResourceName
		limit   bool
		example string
	}{
		{"cpu-requests", corev1.ResourceCPU, false, "100m"},
		{"memory-requests", corev1.ResourceMemory, false, "128Mi"},
		{"cpu-limits", corev1.ResourceCPU, true, "500m"},
		{"memory-limits", corev1.ResourceMemory, true, "512Mi"},
	} {
		registerOf(r.id, func(p *policy.Policy) form {
			name := celString(string(r.name))
			budgeted := name + " in variables.spec.?resources.?requests.orValue({}) || " + name + " in variables.spec.?resources.?limits.orValue({})"
			kind, field := "request", "requests"
			d := p.Defaults.Resources
			_, defaultLimit := d.Limits[r.name]
			_, defaultRequest := d.Requests[r.name]
			fixed := d.Enabled && (defaultLimit || (!r.limit && defaultRequest))
			if r.limit {
				kind, field = "limit", "limits"
			}
			missing := func(x string) string {
				m := "!(" + name + " in " + x + ".?resources.?limits.orValue({}))"
				if !r.limit {
					m += " && !(" + name + " in " + x + ".?resources.?requests.orValue({}))"
				}
				return m
			}
			return form{checks: containersOnly(check{
				bad: func(x string) string {
					return "!(" + budgeted + ") && " + missing(x) + asDefaulted(fixed)
				},
				field:   "resources." + field + "." + string(r.name),
				problem: func(string) string { return celString("has no " + string(r.name) + " " + kind) },
				fix:     "set resources." + field + "." + string(r.name) + ", e.g. " + r.example,
			})}
		})
	}
}

// asDefaulted is CEL to append to a check's condition when the policy's
// defaults fix what it finds (fixed): then only a Pod breaks the rule, a
// workload's Pods being defaulted when made.
func asDefaulted(fixed bool) string {
	if !fixed {
		return ""
	}
	return " && object.kind == 'Pod'"
}

// containersOnly is the checks of a rule that judges every container and
// init container alone, ephemeral containers aside (the API forbids them
// resources and probes).
func containersOnly(c check) []check {
	var out []check
	for _, k := range eachContainer(c) {
		if k.list != "variables.ephemeralContainers" {
			out = append(out, k)
		}
	}
	return out
}
