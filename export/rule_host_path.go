package export

// host-path: no volume mounts a path of the node.

func init() {
	register("host-path", form{checks: []check{{
		list: "variables.volumes", old: "variables.oldVolumes", listPath: "volumes",
		bad: func(x string) string { return "has(" + x + ".hostPath)" },
		same: func(o, x string) string {
			return o + ".hostPath.path == " + x + ".hostPath.path"
		},
		field: "hostPath",
		problem: func(x string) string {
			return "'mounts the node\\'s path \"' + " + x + ".hostPath.path + '\" as volume \"' + " + x + ".name + '\"'"
		},
		fix: "replace hostPath with emptyDir, a persistentVolumeClaim, or a configMap/secret volume",
	}}})
}
