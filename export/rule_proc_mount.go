package export

// proc-mount: containers see /proc with the runtime's default masks.

// procMount is CEL: container x's procMount, "Default" when unset.
func procMount(x string) string { return x + ".?securityContext.?procMount.orValue('Default')" }

func init() {
	register("proc-mount", form{checks: eachContainer(check{
		bad:   func(x string) string { return procMount(x) + " != 'Default'" },
		same:  func(o, x string) string { return procMount(o) + " == " + procMount(x) },
		field: "securityContext.procMount",
		problem: func(x string) string {
			return "'sees the node\\'s /proc without masks (procMount: ' + " + procMount(x) + " + ')'"
		},
		fix: "remove procMount, or set procMount: Default",
	})})
}
