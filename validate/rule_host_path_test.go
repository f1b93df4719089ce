package validate

import "testing"

// TestHostPathMessages pins what the person at kubectl apply reads for
// failing fixtures: the object, the container, the field at fault and the
// fix.
func TestHostPathMessages(t *testing.T) {
	expectMessages(t, "host-path", []messageCase{
		{
			name: "a hostPath volume is named with its path and index",
			file: "fail/replicaset-host-path.yaml",
			want: []string{`[host-path] ReplicaSet "logs": pod spec mounts the node's path "/var/log" as volume "varlog" (spec.template.spec.volumes[1].hostPath): replace hostPath with emptyDir, a persistentVolumeClaim, or a configMap/secret volume`},
		},
	})
}
