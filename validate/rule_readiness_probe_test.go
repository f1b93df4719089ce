package validate

import "testing"

// TestReadinessProbeCoverage: readiness-probe asks only regular containers,
// and only of workloads whose Pods do not run to completion.
func TestReadinessProbeCoverage(t *testing.T) {
	expectBareFindings(t, "readiness-probe", appPath+".readinessProbe")
	expectFindsOn(t, "readiness-probe", runToCompletionObjects(), map[string]bool{
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

// TestReadinessProbeMessages pins what the person at kubectl apply reads for
// failing fixtures: the object, the container, the field at fault and the
// fix.
func TestReadinessProbeMessages(t *testing.T) {
	expectMessages(t, "readiness-probe", []messageCase{
		{
			name: "a ReplicationController without a readiness probe",
			file: "fail/replicationcontroller-without-probe.yaml",
			want: []string{`[readiness-probe] ReplicationController "legacy": container "app" has no readinessProbe (spec.template.spec.containers[0].readinessProbe): add a readinessProbe, e.g. an httpGet on the container's health endpoint`},
		},
	})
}
