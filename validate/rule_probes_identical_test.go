package validate

import "testing"

// TestProbesIdenticalCoverage: probes-identical compares the probes of every
// container that has them.
func TestProbesIdenticalCoverage(t *testing.T) {
	expectRiskyFindings(t, "probes-identical", fieldIn(".livenessProbe", allContainers...)...)
}

// TestProbesIdenticalMessages pins what the person at kubectl apply reads
// for failing fixtures: the object, the container, the field at fault and
// the fix.
func TestProbesIdenticalMessages(t *testing.T) {
	expectMessages(t, "probes-identical", []messageCase{
		{
			name: "identical probes on a sidecar",
			file: "fail/pod-sidecar-same-probe.yaml",
			want: []string{`[probes-identical] Pod "meshed": sidecar container "proxy" has a livenessProbe identical to its readinessProbe, so whatever takes it out of rotation also restarts it (spec.initContainers[0].livenessProbe): make the livenessProbe more tolerant: a higher failureThreshold (e.g. 6) or a cheaper endpoint that only says the process is alive`},
		},
	})
}
