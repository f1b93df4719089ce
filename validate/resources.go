package validate

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/plimsoll/plimsoll/workload"
)

// checkResource is shared by cpu-requests, memory-requests, cpu-limits and
// memory-limits: every container, sidecar and init container must state the
// resource (ephemeral containers cannot). Pod-level resources
// (spec.resources) satisfy it for every container; as for a container, a
// pod-level limit satisfies the request rule, because the API server
// defaults the pod-level request from it.
func checkResource(t *workload.Template, name corev1.ResourceName, limit bool, example string) []Finding {
	kind, field := "request", "requests"
	if limit {
		kind, field = "limit", "limits"
	}
	if podLevel := t.Spec.Resources; podLevel != nil {
		_, podReq := podLevel.Requests[name]
		_, podLimit := podLevel.Limits[name]
		// Defaulting leaves a resource the Pod budgets at pod level alone,
		// and so does the rule.
		if podLimit || podReq {
			return nil
		}
	}
	var out []Finding
	for _, c := range t.Containers() {
		if c.Type == workload.Ephemeral {
			continue
		}
		_, hasLimit := c.Resources.Limits[name]
		if limit && hasLimit {
			continue
		}
		// A limit without a request is fine: the API server copies the
		// limit into the request.
		if _, hasReq := c.Resources.Requests[name]; !limit && (hasReq || hasLimit) {
			continue
		}
		out = append(out, Finding{
			Container:     c.Name,
			ContainerType: c.Type,
			Path:          workload.Under(c.Path, "resources", field, string(name)),
			Problem:       "has no " + string(name) + " " + kind,
			Fix:           "set resources." + field + "." + string(name) + ", e.g. " + example,
		})
	}
	return out
}
