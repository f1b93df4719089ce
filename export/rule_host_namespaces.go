package export

// host-namespaces: a Pod shares none of the node's network, process or IPC
// namespaces.

func init() {
	var checks []check
	for _, ns := range []struct{ field, what string }{
		{"hostNetwork", "network"},
		{"hostPID", "process"},
		{"hostIPC", "IPC"},
	} {
		checks = append(checks, podSpec(check{
			bad:     func(string) string { return "variables.spec.?" + ns.field + ".orValue(false)" },
			field:   ns.field,
			problem: func(string) string { return celString("shares the node's " + ns.what + " namespace") },
			fix:     "remove " + ns.field + ": true",
		}))
	}
	register("host-namespaces", form{checks: checks})
}
