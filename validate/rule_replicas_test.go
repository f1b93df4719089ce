package validate

import (
	"strings"
	"testing"
)

// TestReplicasCoverage: replicas asks a Deployment or a StatefulSet for more
// than one replica; a ReplicaSet is judged through its Deployment, a
// DaemonSet has no replica count, and no Pod can fail it.
func TestReplicasCoverage(t *testing.T) {
	expectFindsOn(t, "replicas", replicaObjects(), map[string]bool{
		"a Deployment without replicas runs one":                         true,
		"a Deployment of one replica":                                    true,
		"a Deployment scaled to zero":                                    true,
		"two unspread replicas":                                          false,
		"three replicas spread by constraints":                           false,
		"three replicas spread by anti-affinity":                         false,
		"a StatefulSet without replicas":                                 true,
		"a StatefulSet of five unspread":                                 false,
		"a ReplicaSet is owned by a Deployment, which is judged instead": false,
		"a DaemonSet has no replica count":                               false,
	})
	expectWorkloadOnly(t, "replicas")
}

// TestReplicasMessages pins what the person at kubectl apply reads for
// failing fixtures: the object, the container, the field at fault and the
// fix.
func TestReplicasMessages(t *testing.T) {
	expectMessages(t, "replicas", []messageCase{
		{
			name: "a single replica is about the workload",
			file: "fail/statefulset-one.yaml",
			want: []string{`[replicas] StatefulSet "db": workload runs a single replica (replicas: 1, or unset), so a node drain or a rollout takes it down (spec.replicas): set spec.replicas: 2 or more, or scale it with a HorizontalPodAutoscaler whose minReplicas is 2`},
		},
	})
}

// TestReplicasLeavesAnAutoscaledWorkloadToItsAutoscaler: where the
// cluster is known, a Deployment an HPA scales is judged by the HPA's
// minReplicas, not spec.replicas (replicas-with-hpa asks for none); where
// it is not, replicas judges spec.replicas as before. An autoscaler of
// minReplicas 1 is no way around the rule.
func TestReplicasLeavesAnAutoscaledWorkloadToItsAutoscaler(t *testing.T) {
	run := loadRun(t, "testdata/replicas-with-hpa/pass/autoscaled-without-replicas.yaml")
	dep := run.judged(replicas)[0]
	if got := run.findings(replicas, dep, fixturePolicy("replicas")); len(got) != 0 {
		t.Errorf("an autoscaled Deployment was asked for replicas: %+v", got)
	}
	if got := replicas.findings(dep, nil, "", fixturePolicy("replicas")); len(got) != 1 {
		t.Errorf("without a View, replicas judged %d findings, want 1 (spec.replicas unset)", len(got))
	}
	if got := replicas.findings(dep, viewOf(t), fixtureNamespace, fixturePolicy("replicas")); len(got) != 1 {
		t.Errorf("with a View that has no autoscaler, replicas judged %d findings, want 1", len(got))
	}
	low := loadRun(t, "testdata/hpa-min-replicas/fail/one.yaml").view.Autoscalers(fixtureNamespace)[0]
	got := replicas.findings(dep, viewOf(t, low), fixtureNamespace, fixturePolicy("replicas"))
	if len(got) != 1 || !strings.Contains(got[0].Fix, "minReplicas: 2") {
		t.Errorf("an autoscaler of minReplicas 1 let a single replica through: %+v", got)
	}
}
