package policy

import (
	"fmt"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TrustedController is a controller, other than kube-controller-manager's,
// whose word about what owns the objects it creates is believed: Argo
// Rollouts, KEDA, an operator of the cluster's own.
type TrustedController struct {
	// Username is the request's userInfo.username when the controller
	// calls the API server, e.g.
	// system:serviceaccount:argo-rollouts:argo-rollouts. Exact match.
	Username string `json:"username"`
	// Kinds are the owner kinds it creates objects for (the kind an
	// ownerReference of its objects names), e.g. [Rollout].
	Kinds []string `json:"kinds"`
}

// builtinControllers are kube-controller-manager's controllers and the
// owner kind of the objects each creates. With
// --use-service-account-credentials (the default of kubeadm and every
// managed cluster) each calls as its own service account in kube-system;
// without it, all call as system:kube-controller-manager.
var builtinControllers = []TrustedController{
	{"system:serviceaccount:kube-system:replicaset-controller", []string{"apps/ReplicaSet"}},
	{"system:serviceaccount:kube-system:deployment-controller", []string{"apps/Deployment"}},
	{"system:serviceaccount:kube-system:daemon-set-controller", []string{"apps/DaemonSet"}},
	{"system:serviceaccount:kube-system:statefulset-controller", []string{"apps/StatefulSet"}},
	{"system:serviceaccount:kube-system:replication-controller", []string{"ReplicationController"}},
	{"system:serviceaccount:kube-system:job-controller", []string{"batch/Job"}},
	{"system:serviceaccount:kube-system:cronjob-controller", []string{"batch/CronJob"}},
	{"system:kube-controller-manager", []string{"apps/ReplicaSet", "apps/Deployment", "apps/DaemonSet", "apps/StatefulSet", "ReplicationController", "batch/Job", "batch/CronJob"}},
}

// TrustsController reports whether the ownerReference ref of an object
// that username sent can be believed: username is the controller that
// creates objects for owners of ref's kind. kube-controller-manager's
// controllers are trusted for their own kinds (checked with the API
// group); TrustedControllers for the kinds the policy lists. Anyone else
// — a tenant, a CI robot, a cluster admin at kubectl — is believed about
// nothing: ownerReferences are theirs to write.
func (p *Policy) TrustsController(username string, ref metav1.OwnerReference) bool {
	if username == "" {
		return false
	}
	// "apps/v1" names the group apps; "v1" the core group, written bare.
	qualified := ref.Kind
	if group, _, ok := strings.Cut(ref.APIVersion, "/"); ok {
		qualified = group + "/" + ref.Kind
	}
	for _, c := range builtinControllers {
		if c.Username == username && slices.Contains(c.Kinds, qualified) {
			return true
		}
	}
	for _, c := range p.TrustedControllers {
		if c.Username == username && slices.Contains(c.Kinds, ref.Kind) {
			return true
		}
	}
	return false
}

// TrustedFor returns the usernames whose word about ref (an owner
// reference, of which only the kind and API group count) p believes, in
// the order TrustsController tries them: what an admission policy, which
// sees only the request, must compare userInfo.username with.
func (p *Policy) TrustedFor(ref metav1.OwnerReference) []string {
	var out []string
	for _, c := range slices.Concat(builtinControllers, p.TrustedControllers) {
		if !slices.Contains(out, c.Username) && p.TrustsController(c.Username, ref) {
			out = append(out, c.Username)
		}
	}
	return out
}

func (c TrustedController) validate() []string {
	var errs []string
	if strings.TrimSpace(c.Username) == "" {
		errs = append(errs, ".username: required: the userInfo.username the controller calls the API server as")
	}
	if len(c.Kinds) == 0 {
		errs = append(errs, ".kinds: required: the owner kinds whose objects the controller creates, e.g. [Rollout]")
	}
	for _, k := range c.Kinds {
		if k == "" || strings.ContainsAny(k, "/ *") {
			errs = append(errs, fmt.Sprintf(".kinds: %q is not a kind (write it as an ownerReference names it, e.g. Rollout)", k))
		}
	}
	return errs
}

// Advice returns what a loaded policy does that its author may not mean:
// it is valid, but the operator should know. Loading logs each line,
// counts it in a metric, and `plimsoll check --config` prints it.
func (p *Policy) Advice() []string {
	var out []string
	for i, e := range p.Exemptions {
		if len(e.Namespaces) == 0 && (len(e.Kinds) > 0 || len(e.Names) > 0) {
			out = append(out, fmt.Sprintf("exemptions[%d] (%s) selects kinds or names in every namespace: "+
				"whoever may create a %s in any namespace can give it a name this exemption matches; "+
				"add namespaces: to say where the exempted objects live", i, e.Reason, kindsOf(e)))
		}
	}
	return out
}

func kindsOf(e Exemption) string {
	if len(e.Kinds) == 0 {
		return "Pod or workload"
	}
	return strings.Join(e.Kinds, " or ")
}
