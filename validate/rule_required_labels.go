package validate

// required-labels: the Pods carry every label the policy requires (for
// ownership, cost and dashboards). Checked field: the labels of the pod
// template (metadata.labels of a Pod). Allowed: every key of the policy's
// requiredLabels present, whatever its value. Off while the policy lists
// no labels.

import (
	"fmt"

	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/workload"
)

var requiredLabels = &Rule{
	ID:          "required-labels",
	Category:    "reliability",
	Severity:    policy.Warning,
	Description: "Pod templates carry the labels the policy requires (only when requiredLabels is set).",
	Remediation: "Add each required label to the pod template's metadata.labels (spec.template.metadata.labels in a workload).",
	Defaulted:   "no",
	Check: func(t *workload.Template, p *policy.Policy) []Finding {
		if p == nil || len(p.RequiredLabels) == 0 {
			return nil
		}
		labels := podMetaPath(t).Child("labels")
		var out []Finding
		for _, l := range p.RequiredLabels {
			if _, ok := t.PodMeta.Labels[l]; ok {
				continue
			}
			out = append(out, Finding{
				Path:    labels.Key(l).String(),
				Problem: fmt.Sprintf("lacks the required label %s", l),
				Fix:     fmt.Sprintf("add %s: <value> under %s", l, labels),
				Scope:   "pod template",
			})
		}
		return out
	},
}
