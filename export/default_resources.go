package export

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/plimsoll/plimsoll/mutate"
	"github.com/plimsoll/plimsoll/policy"
)

// resources: the policy's requests and limits, on every container and init
// container (mutate/resources.go). A request only where neither it nor the
// limit is set; a limit where unset, raised to the container's request if
// that is above it; nothing for a resource the pod budgets at pod level.

// resourceNames are the resources defaults are written for.
var resourceNames = []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory}

func resourcesDefaulter(d policy.ResourceDefaults) defaulter {
	var leaves []leaf
	for _, r := range resourceNames {
		name := celString(string(r))
		requests, limits := "q", "l"
		unbudgeted := "!variables." + podBudgetVariable(r)
		def, hasDef := d.Requests[r]
		if hasDef {
			leaves = append(leaves, leaf{
				when:  fmt.Sprintf("%s && !(%s in %s) && !(%s in %s)", unbudgeted, name, requests, name, limits),
				path:  "resources/requests/" + string(r),
				value: celString(def.String()),
			})
		}
		lim, ok := d.Limits[r]
		if !ok {
			continue
		}
		// Without a request of its own, the container gets the default
		// request, if any: the limit is the larger of the two.
		unrequested := lim
		if hasDef && def.Cmp(lim) > 0 {
			unrequested = def
		}
		request := fmt.Sprintf("string(q[%s])", name)
		// Written after the requests: the request it reads is then the
		// one the container will have.
		leaves = append(leaves, leaf{
			stage: 1,
			when:  fmt.Sprintf("%s && !(%s in %s)", unbudgeted, name, limits),
			path:  "resources/limits/" + string(r),
			value: fmt.Sprintf("(%s in %s) ? (quantity(%s).compareTo(quantity(%s)) > 0 ? %s : %s) : %s",
				name, requests, request, celString(lim.String()), request, celString(lim.String()), celString(unrequested.String())),
		})
	}
	return defaulter{
		family: mutate.Resources,
		binds:  []bind{{"q", "c.?resources.?requests.orValue({})"}, {"l", "c.?resources.?limits.orValue({})"}},
		leaves: leaves,
	}
}

// podBudgetVariable names the variable that says the pod budgets r at pod
// level (spec.resources), which its containers then share.
func podBudgetVariable(r corev1.ResourceName) string { return "podBudgets_" + string(r) }

// podBudget is CEL: the pod budgets r at pod level.
func podBudget(r corev1.ResourceName) string {
	return fmt.Sprintf("%[1]s in variables.spec.?resources.?requests.orValue({}) || %[1]s in variables.spec.?resources.?limits.orValue({})", celString(string(r)))
}
