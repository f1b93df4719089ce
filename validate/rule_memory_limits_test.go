package validate

import "testing"

// TestMemoryLimitsCoverage: memory-limits skips ephemeral containers, and a
// pod-level cpu budget does not satisfy it.
func TestMemoryLimitsCoverage(t *testing.T) {
	expectBareFindings(t, "memory-limits", fieldIn(".resources.limits.memory", initPath, sidecarPath, appPath)...)
	expectFindsOn(t, "memory-limits", podBudgetObjects(), map[string]bool{
		"a pod-level cpu limit":             true,
		"a pod-level cpu request":           true,
		"a pod-level cpu request and limit": true,
		"no pod-level budget":               true,
	})
}

// TestMemoryLimitsMessages pins what the person at kubectl apply reads for
// failing fixtures: the object, the container, the field at fault and the
// fix.
func TestMemoryLimitsMessages(t *testing.T) {
	expectMessages(t, "memory-limits", []messageCase{
		{
			name: "a Job without a memory limit",
			file: "fail/job-without-memory-limit.yaml",
			want: []string{`[memory-limits] Job "migrate": container "migrate" has no memory limit (spec.template.spec.containers[0].resources.limits.memory): set resources.limits.memory, e.g. 512Mi`},
		},
	})
}
