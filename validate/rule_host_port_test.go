package validate

import "testing"

// TestHostPortCoverage: host-port refuses a hostPort in every container.
func TestHostPortCoverage(t *testing.T) {
	expectRiskyFindings(t, "host-port", fieldIn(".ports[0].hostPort", allContainers...)...)
}

// TestHostPortMessages pins what the person at kubectl apply reads for
// failing fixtures: the object, the container, the field at fault and the
// fix.
func TestHostPortMessages(t *testing.T) {
	expectMessages(t, "host-port", []messageCase{
		{
			name: "a host port names the port and the Service to use instead",
			file: "fail/daemonset-host-port.yaml",
			want: []string{`[host-port] DaemonSet "ingress": container "controller" binds port 80 of the node (hostPort: 80) (spec.template.spec.containers[0].ports[0].hostPort): remove hostPort: 80 and expose containerPort 80 through a Service`},
		},
	})
}
