package validate

import "testing"

// TestMemoryRequestsCoverage: memory-requests skips ephemeral containers,
// and a pod-level cpu budget does not satisfy it.
func TestMemoryRequestsCoverage(t *testing.T) {
	expectBareFindings(t, "memory-requests", fieldIn(".resources.requests.memory", initPath, sidecarPath, appPath)...)
	expectFindsOn(t, "memory-requests", podBudgetObjects(), map[string]bool{
		"a pod-level cpu limit":             true,
		"a pod-level cpu request":           true,
		"a pod-level cpu request and limit": true,
		"no pod-level budget":               true,
	})
}

// TestMemoryRequestsMessages pins what the person at kubectl apply reads for
// failing fixtures: the object, the container, the field at fault and the
// fix.
func TestMemoryRequestsMessages(t *testing.T) {
	expectMessages(t, "memory-requests", []messageCase{
		{
			name: "a ReplicationController without a memory request",
			file: "fail/replicationcontroller-without-requests.yaml",
			want: []string{`[memory-requests] ReplicationController "legacy": container "app" has no memory request (spec.template.spec.containers[0].resources.requests.memory): set resources.requests.memory, e.g. 128Mi`},
		},
	})
}
