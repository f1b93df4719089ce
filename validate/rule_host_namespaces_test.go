package validate

import "testing"

// TestHostNamespacesMessages pins what the person at kubectl apply reads for
// failing fixtures: the object, the container, the field at fault and the
// fix.
func TestHostNamespacesMessages(t *testing.T) {
	expectMessages(t, "host-namespaces", []messageCase{
		{
			name: "a pod-level field is reported on the pod spec",
			file: "fail/daemonset-host-network.yaml",
			want: []string{`[host-namespaces] DaemonSet "node-agent": pod spec shares the node's network namespace (spec.template.spec.hostNetwork): remove hostNetwork: true`},
		},
		{
			name: "each shared namespace is its own violation",
			file: "fail/pod-host-pid-and-ipc.yaml",
			want: []string{
				`[host-namespaces] Pod "debug": pod spec shares the node's process namespace (spec.hostPID): remove hostPID: true`,
				`[host-namespaces] Pod "debug": pod spec shares the node's IPC namespace (spec.hostIPC): remove hostIPC: true`,
			},
		},
	})
}
