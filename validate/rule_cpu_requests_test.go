package validate

import "testing"

// TestCPURequestsCoverage: cpu-requests skips ephemeral containers, and a
// pod-level cpu request or limit satisfies it (defaulting leaves cpu to the
// pod).
func TestCPURequestsCoverage(t *testing.T) {
	expectBareFindings(t, "cpu-requests", fieldIn(".resources.requests.cpu", initPath, sidecarPath, appPath)...)
	expectFindsOn(t, "cpu-requests", podBudgetObjects(), map[string]bool{
		"a pod-level cpu limit":             false,
		"a pod-level cpu request":           false,
		"a pod-level cpu request and limit": false,
		"no pod-level budget":               true,
	})
}

// TestCPURequestsMessages pins what the person at kubectl apply reads for
// failing fixtures: the object, the container, the field at fault and the
// fix.
func TestCPURequestsMessages(t *testing.T) {
	expectMessages(t, "cpu-requests", []messageCase{
		{
			name: "a restartable sidecar is named as a sidecar",
			file: "fail/pod-sidecar-without-request.yaml",
			want: []string{`[cpu-requests] Pod "meshed": sidecar container "proxy" has no cpu request (spec.initContainers[0].resources.requests.cpu): set resources.requests.cpu, e.g. 100m`},
		},
	})
}
