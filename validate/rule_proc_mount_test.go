package validate

import "testing"

// TestProcMountCoverage: proc-mount refuses Unmasked in every container.
func TestProcMountCoverage(t *testing.T) {
	expectRiskyFindings(t, "proc-mount", fieldIn(".securityContext.procMount", allContainers...)...)
}
