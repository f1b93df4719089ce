package validate

import "testing"

// TestLivenessProbeCoverage: liveness-probe asks only regular containers,
// and only of workloads whose Pods do not run to completion.
func TestLivenessProbeCoverage(t *testing.T) {
	expectBareFindings(t, "liveness-probe", appPath+".livenessProbe")
	expectFindsOn(t, "liveness-probe", runToCompletionObjects(), map[string]bool{
		"a Job":                              false,
		"a CronJob":                          false,
		"a Pod the Job controller made":      false,
		"a Pod that only claims a Job owner": true,
		"a bare Pod":                         true,
		"a Deployment":                       true,
		"a StatefulSet":                      true,
		"a DaemonSet":                        true,
	})
}

// TestLivenessProbeMessages pins what the person at kubectl apply reads for
// failing fixtures: the object, the container, the field at fault and the
// fix.
func TestLivenessProbeMessages(t *testing.T) {
	expectMessages(t, "liveness-probe", []messageCase{
		{
			name: "only the container without a probe is named",
			file: "fail/replicaset-second-container.yaml",
			want: []string{`[liveness-probe] ReplicaSet "web": container "metrics" has no livenessProbe (spec.template.spec.containers[1].livenessProbe): add a livenessProbe, e.g. an httpGet on the container's health endpoint`},
		},
	})
}
