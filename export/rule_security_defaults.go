package export

import "github.com/plimsoll/plimsoll/policy"

// privilege-escalation and read-only-root-filesystem: the two securityContext
// rules whose defaults are a single field each.
//
// A workload is judged as its Pods will be once defaulted: a field the
// policy's defaults would write (only where unset) breaks the rule only in
// a Pod, which arrives defaulted.

// windowsPod is CEL: the Pods declare Windows, where these fields do not
// apply.
const windowsPod = "variables.spec.?os.?name.orValue('') == 'windows'"

func init() {
	registerOf("privilege-escalation", func(p *policy.Policy) form {
		ape := func(x string) string { return x + ".?securityContext.?allowPrivilegeEscalation" }
		d := p.Defaults.SecurityContext
		return form{checks: eachContainer(check{
			bad: func(x string) string {
				b := "!(" + windowsPod + ") && " + ape(x) + ".orValue(true) != false && !" + x + ".?securityContext.?privileged.orValue(false)"
				if d.Enabled {
					// Written where unset, but beside CAP_SYS_ADMIN.
					b += " && (object.kind == 'Pod' || " + ape(x) + ".hasValue() || " +
						x + ".?securityContext.?capabilities.?add.orValue([]).exists(a, a == 'SYS_ADMIN' || a == 'CAP_SYS_ADMIN'))"
				}
				return b
			},
			same:  func(o, x string) string { return ape(o) + ".hasValue() == " + ape(x) + ".hasValue()" },
			field: "securityContext.allowPrivilegeEscalation",
			problem: func(x string) string {
				return "(" + ape(x) + ".hasValue() ? 'allows privilege escalation (allowPrivilegeEscalation: true)' : 'allows privilege escalation (allowPrivilegeEscalation is not set)')"
			},
			fix: "set securityContext.allowPrivilegeEscalation: false",
		})}
	})
	registerOf("read-only-root-filesystem", func(p *policy.Policy) form {
		ro := func(x string) string { return x + ".?securityContext.?readOnlyRootFilesystem" }
		d := p.Defaults.SecurityContext
		return form{checks: containersOnly(check{
			bad: func(x string) string {
				b := "!(" + windowsPod + ") && " + ro(x) + ".orValue(false) != true"
				if d.Enabled && d.ReadOnlyRootFilesystem {
					b += " && (object.kind == 'Pod' || " + ro(x) + ".hasValue())"
				}
				return b
			},
			same:  func(o, x string) string { return ro(o) + ".hasValue() == " + ro(x) + ".hasValue()" },
			field: "securityContext.readOnlyRootFilesystem",
			problem: func(x string) string {
				return "(" + ro(x) + ".hasValue() ? 'can write to its root filesystem (readOnlyRootFilesystem: false)' : 'can write to its root filesystem (readOnlyRootFilesystem is not set)')"
			},
			fix: "set securityContext.readOnlyRootFilesystem: true and mount an emptyDir volume where the program writes (e.g. /tmp)",
		})}
	})
}
