package mutate

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/workload"
)

// ServiceAccountToken is the family of the one default that depends on
// another object: automountServiceAccountToken: false, written where the
// policy opts in (defaults.serviceAccountToken: false).
const ServiceAccountToken Family = "serviceAccountToken"

// AccountToken writes automountServiceAccountToken: false into t's
// PodSpec when d opts in and nothing has said otherwise: not the Pod, and
// not sa, its ServiceAccount, which must be known (nil: it is not, and
// nothing is written — whoever made the ServiceAccount may have set it to
// true for the Pods that call the API server).
func AccountToken(t *workload.Template, d policy.Defaults, sa *corev1.ServiceAccount) Changes {
	if d.ServiceAccountToken == nil || *d.ServiceAccountToken || !t.HasPods() || sa == nil {
		return nil
	}
	if t.Spec.AutomountServiceAccountToken != nil || sa.AutomountServiceAccountToken != nil {
		return nil
	}
	no := false
	t.Spec.AutomountServiceAccountToken = &no
	return Changes{{Family: ServiceAccountToken, Field: "automountServiceAccountToken"}}
}

// AccountName is the ServiceAccount t's Pods run as: "default" when the
// PodSpec names none.
func AccountName(t *workload.Template) string {
	if t.Spec.ServiceAccountName != "" {
		return t.Spec.ServiceAccountName
	}
	return "default"
}
