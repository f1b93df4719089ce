package export

// probes-identical: a container's livenessProbe differs from its
// readinessProbe, compared whole as the API server holds them (its
// defaults written in).

func init() {
	register("probes-identical", form{checks: eachContainer(check{
		bad: func(x string) string {
			return x + ".?livenessProbe.hasValue() && " + x + ".?readinessProbe.hasValue() && " + x + ".livenessProbe == " + x + ".readinessProbe"
		},
		field: "livenessProbe",
		problem: func(string) string {
			return "'has a livenessProbe identical to its readinessProbe, so whatever takes it out of rotation also restarts it'"
		},
		fix: "make the livenessProbe more tolerant: a higher failureThreshold (e.g. 6) or a cheaper endpoint that only says the process is alive",
	})})
}
