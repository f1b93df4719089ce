package workload

import (
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/plimsoll/plimsoll/policy"
)

// Identities returns the kinds and names the object answers to: its own,
// and those of the workloads that made it, as far as its metadata tells.
// A Pod of Deployment "web" answers to Pod "web-5d8f7c9b6-x7k2p",
// ReplicaSet "web-5d8f7c9b6" and Deployment "web"; a Pod of CronJob
// "report" to Pod, Job "report-29123456" and CronJob "report". Exemptions
// match on these, so that exempting a workload exempts its Pods.
//
// The owners count only when t.OwnerTrusted: an object whose owner nobody
// vouched for answers to its own kind and name alone, so a Pod cannot
// borrow an exempted DaemonSet's identity by naming it.
func (t *Template) Identities() []policy.Identity {
	ids := []policy.Identity{{Kind: t.Kind, Name: strings.TrimSuffix(Name(t.Meta), "*")}}
	if t.Meta.Name == "" && t.Meta.GenerateName != "" {
		ids[0].Name = strings.TrimSuffix(t.Meta.GenerateName, "-")
	}
	owner := Controller(t.Meta)
	if owner == nil || !t.OwnerTrusted || !t.HasPods() {
		return ids
	}
	ids = append(ids, policy.Identity{Kind: owner.Kind, Name: owner.Name})
	switch owner.Kind {
	case "ReplicaSet":
		// A Deployment names its ReplicaSets <deployment>-<pod-template-hash>.
		if hash := t.PodMeta.Labels[appsv1.DefaultDeploymentUniqueLabelKey]; hash != "" && strings.HasSuffix(owner.Name, "-"+hash) {
			ids = append(ids, policy.Identity{Kind: "Deployment", Name: strings.TrimSuffix(owner.Name, "-"+hash)})
		}
	case "Job":
		// A CronJob names its Jobs <cronjob>-<scheduled time in minutes>.
		if i := strings.LastIndex(owner.Name, "-"); i > 0 && isDigits(owner.Name[i+1:]) {
			ids = append(ids, policy.Identity{Kind: "CronJob", Name: owner.Name[:i]})
		}
	}
	return ids
}

// Controller returns the ownerReference m marks as its controller, or nil.
func Controller(m *metav1.ObjectMeta) *metav1.OwnerReference {
	for i := range m.OwnerReferences {
		if ref := &m.OwnerReferences[i]; ref.Controller != nil && *ref.Controller {
			return ref
		}
	}
	return nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
