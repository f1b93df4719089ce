package export

import (
	"reflect"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/plimsoll/plimsoll/validate"
)

// volume-types: a Pod uses only the volume types Pod Security "restricted"
// allows (hostPath is host-path's).

// forbiddenVolumeTypes are the fields of a volume source that
// volume-types refuses, in the order of corev1.VolumeSource.
func forbiddenVolumeTypes() []string {
	allowed := validate.AllowedVolumeTypes()
	var out []string
	t := reflect.TypeFor[corev1.VolumeSource]()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && !slices.Contains(allowed, name) {
			out = append(out, name)
		}
	}
	return out
}

func init() {
	types := forbiddenVolumeTypes()
	// typeOf is CEL: the forbidden type of volume x, "" if none.
	typeOf := func(x string) string {
		e := "''"
		for i := len(types) - 1; i >= 0; i-- {
			e = "has(" + x + "." + types[i] + ") ? '" + types[i] + "' : (" + e + ")"
		}
		return e
	}
	register("volume-types", form{checks: []check{{
		list: "variables.volumes", old: "variables.oldVolumes", listPath: "volumes",
		bad:     func(x string) string { return "(" + typeOf(x) + ") != ''" },
		same:    func(o, x string) string { return "(" + typeOf(o) + ") == (" + typeOf(x) + ")" },
		fieldOf: func(x string) string { return "(" + typeOf(x) + ")" },
		problem: func(x string) string {
			return "'mounts volume \"' + " + x + ".name + '\" of type ' + (" + typeOf(x) + ") + ', which Pod Security restricted forbids'"
		},
		fixOf: func(x string) string {
			return "[" + typeOf(x) + "].map(t, t == 'gitRepo' ? 'clone the repository in an init container into an emptyDir volume instead'" +
				" : 'use a persistentVolumeClaim bound to a PersistentVolume that provides the ' + t + ' storage, or an emptyDir, configMap or secret volume')[0]"
		},
	}}})
}
