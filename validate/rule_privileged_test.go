package validate

import "testing"

// TestPrivilegedCoverage: privileged checks ephemeral containers.
func TestPrivilegedCoverage(t *testing.T) {
	expectBareFindings(t, "privileged", ephemeralPath+".securityContext.privileged")
}

// TestPrivilegedMessages pins what the person at kubectl apply reads for
// failing fixtures: the object, the container, the field at fault and the
// fix.
func TestPrivilegedMessages(t *testing.T) {
	expectMessages(t, "privileged", []messageCase{
		{
			name: "a privileged init container",
			file: "fail/statefulset-init-privileged.yaml",
			want: []string{`[privileged] StatefulSet "db": init container "sysctl" runs privileged (spec.template.spec.initContainers[0].securityContext.privileged): remove privileged: true; if it needs one kernel feature, add just that capability under securityContext.capabilities.add`},
		},
		{
			name: "a privileged ephemeral container",
			file: "fail/pod-ephemeral-privileged.yaml",
			want: []string{`[privileged] Pod "web": ephemeral container "debugger" runs privileged (spec.ephemeralContainers[0].securityContext.privileged): remove privileged: true; if it needs one kernel feature, add just that capability under securityContext.capabilities.add`},
		},
	})
}
