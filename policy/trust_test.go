package policy

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestTrustsController(t *testing.T) {
	p := Default()
	p.TrustedControllers = []TrustedController{{Username: "system:serviceaccount:argo-rollouts:argo-rollouts", Kinds: []string{"Rollout"}}}
	ref := func(apiVersion, kind string) metav1.OwnerReference {
		return metav1.OwnerReference{APIVersion: apiVersion, Kind: kind, Name: "owner"}
	}
	tests := []struct {
		name     string
		username string
		ref      metav1.OwnerReference
		want     bool
	}{
		{"the ReplicaSet controller about a ReplicaSet", "system:serviceaccount:kube-system:replicaset-controller", ref("apps/v1", "ReplicaSet"), true},
		{"the ReplicaSet controller about a DaemonSet", "system:serviceaccount:kube-system:replicaset-controller", ref("apps/v1", "DaemonSet"), false},
		{"the Job controller about a Job", "system:serviceaccount:kube-system:job-controller", ref("batch/v1", "Job"), true},
		{"the Job controller about a Job of another API group", "system:serviceaccount:kube-system:job-controller", ref("example.com/v1", "Job"), false},
		{"the CronJob controller about a CronJob", "system:serviceaccount:kube-system:cronjob-controller", ref("batch/v1", "CronJob"), true},
		{"the replication controller about a ReplicationController", "system:serviceaccount:kube-system:replication-controller", ref("v1", "ReplicationController"), true},
		{"kube-controller-manager without service-account credentials", "system:kube-controller-manager", ref("apps/v1", "StatefulSet"), true},
		{"a controller's name in another namespace", "system:serviceaccount:team-a:replicaset-controller", ref("apps/v1", "ReplicaSet"), false},
		{"a tenant", "alice@example.com", ref("apps/v1", "ReplicaSet"), false},
		{"nobody (a manifest)", "", ref("apps/v1", "ReplicaSet"), false},
		{"a controller the policy trusts, for its kind", "system:serviceaccount:argo-rollouts:argo-rollouts", ref("argoproj.io/v1alpha1", "Rollout"), true},
		{"a controller the policy trusts, for another kind", "system:serviceaccount:argo-rollouts:argo-rollouts", ref("apps/v1", "DaemonSet"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := p.TrustsController(tt.username, tt.ref); got != tt.want {
				t.Errorf("TrustsController(%q, %s %s) = %v, want %v", tt.username, tt.ref.APIVersion, tt.ref.Kind, got, tt.want)
			}
		})
	}
}

func TestTrustedControllersAreLoadedStrictly(t *testing.T) {
	const head = "apiVersion: plimsoll.dev/v1alpha1\nkind: Policy\n"
	p, err := Load([]byte(head+"trustedControllers:\n- username: system:serviceaccount:keda:keda-operator\n  kinds: [ScaledJob]\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !p.TrustsController("system:serviceaccount:keda:keda-operator", metav1.OwnerReference{APIVersion: "keda.sh/v1alpha1", Kind: "ScaledJob"}) {
		t.Error("the listed controller is not trusted for its kind")
	}
	for name, body := range map[string]string{
		"no username": "trustedControllers:\n- kinds: [Rollout]\n",
		"no kinds":    "trustedControllers:\n- username: x\n",
		"a wildcard":  "trustedControllers:\n- username: x\n  kinds: ['*']\n",
		"a typo":      "trustedControllers:\n- username: x\n  kind: [Rollout]\n",
	} {
		if _, err := Load([]byte(head+body), nil); err == nil || !strings.Contains(err.Error(), "trustedControllers[0]") {
			t.Errorf("%s: err = %v, want an error naming trustedControllers[0]", name, err)
		}
	}
}

func TestAdviceNamesExemptionsByNameInEveryNamespace(t *testing.T) {
	p := Default()
	p.Exemptions = []Exemption{
		{Reason: "scoped", Namespaces: []string{"monitoring"}, Kinds: []string{"DaemonSet"}, Names: []string{"node-exporter"}},
		{Reason: "everywhere", Kinds: []string{"DaemonSet"}, Names: []string{"node-exporter"}},
		{Reason: "by image", Images: []string{"ghcr.io/acme/*"}},
	}
	advice := p.Advice()
	if len(advice) != 1 || !strings.Contains(advice[0], "exemptions[1] (everywhere)") || !strings.Contains(advice[0], "namespaces:") {
		t.Errorf("advice %q, want one line about exemptions[1] saying to add namespaces", advice)
	}
}
