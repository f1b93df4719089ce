package export

// privileged: no container sets securityContext.privileged: true.

func init() {
	register("privileged", form{checks: eachContainer(check{
		bad: func(x string) string {
			return x + ".?securityContext.?privileged.orValue(false)"
		},
		field:   "securityContext.privileged",
		problem: func(string) string { return "'runs privileged'" },
		fix:     "remove privileged: true; if it needs one kernel feature, add just that capability under securityContext.capabilities.add",
	})})
}
