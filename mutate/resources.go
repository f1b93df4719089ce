package mutate

// Resources: writes resources.requests.{cpu,memory} and
// resources.limits.{cpu,memory} of every container, sidecar and init
// container (never ephemeral containers: the API forbids resources there).
//
//   - A request is written only where neither the request nor the limit is
//     set: a container that sets only a limit gets no request, because the
//     API server copies the limit into the request.
//   - A limit is written only where unset; if the container's request is
//     above the default limit, the limit is raised to the request, so the
//     Pod stays valid.
//   - A Pod that sets pod-level resources (spec.resources) for a resource is
//     left alone for that resource: its containers share the pod's budget.

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/workload"
)

var defaultedResources = []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory}

// requestField and limitField name what a Change wrote, per resource:
// written once here, not built again for every container.
var (
	requestField = map[corev1.ResourceName]string{corev1.ResourceCPU: "resources.requests.cpu", corev1.ResourceMemory: "resources.requests.memory"}
	limitField   = map[corev1.ResourceName]string{corev1.ResourceCPU: "resources.limits.cpu", corev1.ResourceMemory: "resources.limits.memory"}
)

func defaultResources(t *workload.Template, d policy.ResourceDefaults) Changes {
	var cs Changes
	for _, c := range t.Containers() {
		if c.Type == workload.Ephemeral {
			continue
		}
		for _, name := range defaultedResources {
			if podLevelResource(t.Spec, name) {
				continue
			}
			req, hasReq := c.Resources.Requests[name]
			_, hasLimit := c.Resources.Limits[name]
			if def, ok := d.Requests[name]; ok && !hasReq && !hasLimit {
				if c.Resources.Requests == nil {
					c.Resources.Requests = corev1.ResourceList{}
				}
				c.Resources.Requests[name] = def.DeepCopy()
				req, hasReq = def, true
				cs = append(cs, Change{Family: Resources, Container: c.Name, Field: requestField[name]})
			}
			if def, ok := d.Limits[name]; ok && !hasLimit {
				limit := def.DeepCopy()
				if hasReq && req.Cmp(limit) > 0 {
					limit = req.DeepCopy()
				}
				if c.Resources.Limits == nil {
					c.Resources.Limits = corev1.ResourceList{}
				}
				c.Resources.Limits[name] = limit
				cs = append(cs, Change{Family: Resources, Container: c.Name, Field: limitField[name]})
			}
		}
	}
	return cs
}

// podLevelResource reports whether the PodSpec budgets name at pod level.
func podLevelResource(spec *corev1.PodSpec, name corev1.ResourceName) bool {
	if spec.Resources == nil {
		return false
	}
	_, req := spec.Resources.Requests[name]
	_, lim := spec.Resources.Limits[name]
	return req || lim
}
