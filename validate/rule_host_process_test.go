package validate

import "testing"

// TestHostProcessCoverage: host-process refuses hostProcess in every
// container.
func TestHostProcessCoverage(t *testing.T) {
	expectRiskyFindings(t, "host-process", fieldIn(".securityContext.windowsOptions.hostProcess", allContainers...)...)
}

// TestHostProcessMessages pins what the person at kubectl apply reads for
// failing fixtures: the object, the container, the field at fault and the
// fix.
func TestHostProcessMessages(t *testing.T) {
	expectMessages(t, "host-process", []messageCase{
		{
			name: "a Windows host process at pod level",
			file: "fail/pod-level-host-process.yaml",
			want: []string{`[host-process] Pod "node-setup": pod spec runs every container as a process of the Windows node (windowsOptions.hostProcess: true) (spec.securityContext.windowsOptions.hostProcess): remove windowsOptions.hostProcess: true`},
		},
	})
}
