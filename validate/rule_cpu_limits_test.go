package validate

import "testing"

// TestCPULimitsCoverage: cpu-limits skips ephemeral containers, which cannot
// have resources, and a pod-level cpu request or limit satisfies it
// (defaulting leaves cpu to the pod).
func TestCPULimitsCoverage(t *testing.T) {
	expectBareFindings(t, "cpu-limits", fieldIn(".resources.limits.cpu", initPath, sidecarPath, appPath)...)
	expectFindsOn(t, "cpu-limits", podBudgetObjects(), map[string]bool{
		"a pod-level cpu limit":             false,
		"a pod-level cpu request":           false,
		"a pod-level cpu request and limit": false,
		"no pod-level budget":               true,
	})
}

// TestCPULimitsMessages pins what the person at kubectl apply reads for
// failing fixtures: the object, the container, the field at fault and the
// fix.
func TestCPULimitsMessages(t *testing.T) {
	expectMessages(t, "cpu-limits", []messageCase{
		{
			name: "a CronJob's path runs through its job template",
			file: "fail/cronjob-init-container.yaml",
			want: []string{`[cpu-limits] CronJob "nightly": init container "migrate" has no cpu limit (spec.jobTemplate.spec.template.spec.initContainers[0].resources.limits.cpu): set resources.limits.cpu, e.g. 500m`},
		},
	})
}
