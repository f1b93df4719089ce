package export

// host-process: no Windows Pod or container runs as a host process.

func init() {
	checks := []check{podSpec(check{
		bad: func(string) string {
			return "variables.spec.?securityContext.?windowsOptions.?hostProcess.orValue(false)"
		},
		field: "securityContext.windowsOptions.hostProcess",
		problem: func(string) string {
			return "'runs every container as a process of the Windows node (windowsOptions.hostProcess: true)'"
		},
		fix: "remove windowsOptions.hostProcess: true",
	})}
	checks = append(checks, eachContainer(check{
		bad:   func(x string) string { return x + ".?securityContext.?windowsOptions.?hostProcess.orValue(false)" },
		field: "securityContext.windowsOptions.hostProcess",
		problem: func(string) string {
			return "'runs as a process of the Windows node (windowsOptions.hostProcess: true)'"
		},
		fix: "remove windowsOptions.hostProcess: true",
	})...)
	register("host-process", form{checks: checks})
}
