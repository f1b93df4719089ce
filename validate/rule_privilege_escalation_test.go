package validate

import "testing"

// TestPrivilegeEscalationCoverage: privilege-escalation checks every
// container but the privileged ephemeral one, left to the privileged rule,
// and leaves Windows Pods alone.
func TestPrivilegeEscalationCoverage(t *testing.T) {
	expectBareFindings(t, "privilege-escalation", fieldIn(".securityContext.allowPrivilegeEscalation", initPath, sidecarPath, appPath)...)
	expectNothingOnWindows(t, "privilege-escalation")
}

// TestPrivilegeEscalationMessages pins what the person at kubectl apply
// reads for failing fixtures: the object, the container, the field at fault
// and the fix.
func TestPrivilegeEscalationMessages(t *testing.T) {
	expectMessages(t, "privilege-escalation", []messageCase{
		{
			name: "an explicit allowPrivilegeEscalation: true is quoted back",
			file: "fail/pod-allowed.yaml",
			want: []string{`[privilege-escalation] Pod "web": container "web" allows privilege escalation (allowPrivilegeEscalation: true) (spec.containers[0].securityContext.allowPrivilegeEscalation): set securityContext.allowPrivilegeEscalation: false`},
		},
		{
			name: "an unset allowPrivilegeEscalation on a CronJob's sidecar",
			file: "fail/cronjob-sidecar-unset.yaml",
			want: []string{`[privilege-escalation] CronJob "nightly": sidecar container "proxy" allows privilege escalation (allowPrivilegeEscalation is not set) (spec.jobTemplate.spec.template.spec.initContainers[0].securityContext.allowPrivilegeEscalation): set securityContext.allowPrivilegeEscalation: false`},
		},
	})
}
