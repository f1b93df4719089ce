package validate

// host-path: no volume is a hostPath. A hostPath mount reads or writes the
// node's own files, and ties the Pod to one node.

import (
	"fmt"

	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/workload"
)

var hostPath = &Rule{
	ID:          "host-path",
	Category:    "security",
	Severity:    policy.Error,
	Description: "No volume mounts a path of the node (hostPath).",
	Remediation: "Use emptyDir for scratch space, a PersistentVolumeClaim for data, or a configMap/secret for files.",
	Defaulted:   "no",
	Check: func(t *workload.Template, _ *policy.Policy) []Finding {
		var out []Finding
		for i, v := range t.Spec.Volumes {
			if v.HostPath == nil {
				continue
			}
			out = append(out, Finding{
				Path:    t.SpecPath.Child("volumes").Index(i).Child("hostPath").String(),
				Problem: fmt.Sprintf("mounts the node's path %q as volume %q", v.HostPath.Path, v.Name),
				Fix:     "replace hostPath with emptyDir, a persistentVolumeClaim, or a configMap/secret volume",
			})
		}
		return out
	},
}
