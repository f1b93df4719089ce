package export

import "github.com/plimsoll/plimsoll/policy"

// run-as-non-root: the Pod never sets runAsNonRoot: false or runAsUser: 0,
// and every container runs with runAsNonRoot true (its own, or the Pod's)
// and a UID other than 0.
//
// A workload is judged as its Pods will be once defaulted: with the
// restricted profile's defaults, runAsNonRoot: true is written on a
// container when neither it nor the Pod sets runAsNonRoot and it is not
// told to run as UID 0, so only a Pod can break the rule that way.

func init() {
	registerOf("run-as-non-root", func(p *policy.Policy) form {
		const (
			podNonRoot = "variables.spec.?securityContext.?runAsNonRoot"
			podUser    = "variables.spec.?securityContext.?runAsUser"
		)
		nonRoot := func(x string) string { return x + ".?securityContext.?runAsNonRoot" }
		user := func(x string) string { return x + ".?securityContext.?runAsUser" }
		d := p.Defaults.SecurityContext
		defaulted := d.Enabled && d.Profile != policy.Baseline
		const asRoot = "set runAsUser to a non-zero UID, e.g. 10001"
		checks := []check{
			podSpec(check{
				bad:     func(string) string { return podNonRoot + ".orValue(true) == false" },
				field:   "securityContext.runAsNonRoot",
				problem: func(string) string { return "'allows every container to run as root (runAsNonRoot: false)'" },
				fix:     "set securityContext.runAsNonRoot: true and use images that run as a non-root USER",
			}),
			podSpec(check{
				bad:     func(string) string { return podUser + ".orValue(-1) == 0" },
				field:   "securityContext.runAsUser",
				problem: func(string) string { return "'runs as root (runAsUser: 0)'" },
				fix:     asRoot,
			}),
		}
		checks = append(checks, eachContainer(check{
			bad:     func(x string) string { return user(x) + ".orValue(-1) == 0" },
			field:   "securityContext.runAsUser",
			problem: func(string) string { return "'runs as root (runAsUser: 0)'" },
			fix:     asRoot,
		})...)
		checks = append(checks, eachContainer(check{
			bad: func(x string) string {
				// A container that inherits the Pod's false is the Pod's
				// finding.
				b := "(" + nonRoot(x) + ".hasValue() || " + podNonRoot + ".orValue(true)) && !" + nonRoot(x) + ".orValue(" + podNonRoot + ".orValue(false))"
				if defaulted {
					b += " && (object.kind == 'Pod' || " + nonRoot(x) + ".hasValue() || " + podNonRoot + ".hasValue() || " +
						user(x) + ".orValue(" + podUser + ".orValue(-1)) == 0)"
				}
				return b
			},
			same:  func(o, x string) string { return nonRoot(o) + ".hasValue() == " + nonRoot(x) + ".hasValue()" },
			field: "securityContext.runAsNonRoot",
			problem: func(x string) string {
				return "(" + nonRoot(x) + ".orValue(" + podNonRoot + ".orValue(true)) ? 'may run as root (runAsNonRoot is not set)' : 'is allowed to run as root (runAsNonRoot: false)')"
			},
			fix: "set securityContext.runAsNonRoot: true and use an image that runs as a non-root USER",
		})...)
		return form{checks: checks}
	})
}
