package validate

import "testing"

// TestTopologySpreadCoverage: topology-spread asks a workload of more than
// one replica to spread them, by constraints or anti-affinity; a ReplicaSet
// is judged through its Deployment, a DaemonSet has no replica count, and no
// Pod can fail it.
func TestTopologySpreadCoverage(t *testing.T) {
	expectFindsOn(t, "topology-spread", replicaObjects(), map[string]bool{
		"a Deployment without replicas runs one":                         false,
		"a Deployment of one replica":                                    false,
		"a Deployment scaled to zero":                                    false,
		"two unspread replicas":                                          true,
		"three replicas spread by constraints":                           false,
		"three replicas spread by anti-affinity":                         false,
		"a StatefulSet without replicas":                                 false,
		"a StatefulSet of five unspread":                                 true,
		"a ReplicaSet is owned by a Deployment, which is judged instead": false,
		"a DaemonSet has no replica count":                               false,
	})
	expectWorkloadOnly(t, "topology-spread")
}

// TestTopologySpreadMessages pins what the person at kubectl apply reads for
// failing fixtures: the object, the container, the field at fault and the
// fix.
func TestTopologySpreadMessages(t *testing.T) {
	expectMessages(t, "topology-spread", []messageCase{
		{
			name: "the spread example selects the Pods' own labels",
			file: "fail/statefulset-empty-anti-affinity.yaml",
			want: []string{`[topology-spread] StatefulSet "db": pod spec does not spread its 3 replicas (neither topologySpreadConstraints nor podAntiAffinity is set), so they may all land on one node (spec.template.spec.topologySpreadConstraints): add topologySpreadConstraints: [{maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: ScheduleAnyway, labelSelector: {matchLabels: {app: db, tier: data}}}]`},
		},
		{
			name: "labels written out of order are suggested sorted by key",
			file: "fail/deployment-several-labels.yaml",
			want: []string{`[topology-spread] Deployment "api": pod spec does not spread its 2 replicas (neither topologySpreadConstraints nor podAntiAffinity is set), so they may all land on one node (spec.template.spec.topologySpreadConstraints): add topologySpreadConstraints: [{maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: ScheduleAnyway, labelSelector: {matchLabels: {app: api, app.kubernetes.io/part-of: shop, team: payments, tier: backend}}}]`},
		},
		{
			name: "more labels than a selector needs are not listed",
			file: "fail/statefulset-many-labels.yaml",
			want: []string{`[topology-spread] StatefulSet "db": pod spec does not spread its 3 replicas (neither topologySpreadConstraints nor podAntiAffinity is set), so they may all land on one node (spec.template.spec.topologySpreadConstraints): add topologySpreadConstraints: [{maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: ScheduleAnyway, labelSelector: {matchLabels: {<the Pods' labels>}}}]`},
		},
	})
}
