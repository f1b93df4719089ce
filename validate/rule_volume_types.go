package validate

// volume-types: a Pod uses only the volume types Pod Security
// "restricted" allows. Restricted field: the source of each entry of
// spec.volumes. Allowed values: configMap, csi, downwardAPI, emptyDir,
// ephemeral, image, persistentVolumeClaim, projected, secret. hostPath is
// forbidden too, but reported by the host-path rule, not twice here.
// Network and cloud disks (nfs, iscsi, awsElasticBlockStore, ...) belong in
// a PersistentVolume that the cluster administrator controls, and gitRepo
// runs git on the node.

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/workload"
)

// allowedVolumeTypes are the volume sources, by their field name, that Pod
// Security "restricted" allows (hostPath is left to host-path).
var allowedVolumeTypes = []string{
	"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "image",
	"persistentVolumeClaim", "projected", "secret",
	"hostPath",
}

var volumeTypes = &Rule{
	ID:          "volume-types",
	Category:    "security",
	Severity:    policy.Error,
	Description: "Pods use only configMap, csi, downwardAPI, emptyDir, ephemeral, image, persistentVolumeClaim, projected and secret volumes.",
	Remediation: "Replace other volume sources with a persistentVolumeClaim (bound to a PersistentVolume of that type, which the administrator controls), or with emptyDir, configMap, secret or projected volumes.",
	Defaulted:   "no",
	Check: func(t *workload.Template, _ *policy.Policy) []Finding {
		var out []Finding
		for i, v := range t.Spec.Volumes {
			typ := volumeType(&v.VolumeSource)
			if typ == "" || slices.Contains(allowedVolumeTypes, typ) {
				// No source at all: the API server makes it an emptyDir.
				continue
			}
			fix := fmt.Sprintf("use a persistentVolumeClaim bound to a PersistentVolume that provides the %s storage, or an emptyDir, configMap or secret volume", typ)
			if typ == "gitRepo" {
				fix = "clone the repository in an init container into an emptyDir volume instead"
			}
			out = append(out, Finding{
				Path:    t.SpecPath.Child("volumes").Index(i).Child(typ).String(),
				Problem: fmt.Sprintf("mounts volume %q of type %s, which Pod Security restricted forbids", v.Name, typ),
				Fix:     fix,
			})
		}
		return out
	},
}

// volumeType returns the field name (as in YAML) of the source a volume
// sets, or "" if it sets none. It reads the struct, so a source added to
// k8s.io/api later is judged (and forbidden) without a change here.
func volumeType(src *corev1.VolumeSource) string {
	v := reflect.ValueOf(src).Elem()
	for i := 0; i < v.NumField(); i++ {
		if f := v.Field(i); f.Kind() == reflect.Pointer && !f.IsNil() {
			name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ",")
			return name
		}
	}
	return ""
}

// AllowedVolumeTypes are the volume sources, by field name, that
// volume-types lets through (for the rule's in-process form, package
// export).
func AllowedVolumeTypes() []string { return slices.Clone(allowedVolumeTypes) }
