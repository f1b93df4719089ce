package export

import "github.com/plimsoll/plimsoll/policy"

// seccomp-profile: every container runs under RuntimeDefault or a
// Localhost profile, its own or the Pod's; Windows Pods aside. A profile
// of another type (Unconfined) is an error, no profile at all a warning.
//
// A workload is judged as its Pods will be once defaulted: the defaults
// write RuntimeDefault on a Pod that sets none, so only a Pod can lack a
// profile.

func init() {
	registerOf("seccomp-profile", func(p *policy.Policy) form {
		const podProfile = "variables.spec.?securityContext.?seccompProfile"
		profile := func(x string) string { return x + ".?securityContext.?seccompProfile" }
		unconfined := func(profile string) string {
			return profile + ".hasValue() && !(" + profile + ".?type.orValue('') in ['RuntimeDefault', 'Localhost'])"
		}
		linux := "!(" + windowsPod + ") && "
		checks := []check{podSpec(check{
			bad:   func(string) string { return linux + unconfined(podProfile) },
			field: "securityContext.seccompProfile.type",
			problem: func(string) string {
				return "'turns off the seccomp filter of every container (seccompProfile.type: ' + " + podProfile + ".?type.orValue('') + ')'"
			},
			fix:      "set securityContext.seccompProfile.type: RuntimeDefault",
			severity: policy.Error,
		})}
		checks = append(checks, eachContainer(check{
			bad: func(x string) string { return linux + unconfined(profile(x)) },
			same: func(o, x string) string {
				return profile(o) + ".?type.orValue('') == " + profile(x) + ".?type.orValue('')"
			},
			field: "securityContext.seccompProfile.type",
			problem: func(x string) string {
				return "'turns off its seccomp filter (seccompProfile.type: ' + " + profile(x) + ".?type.orValue('') + ')'"
			},
			fix:      "set securityContext.seccompProfile.type: RuntimeDefault, or remove it to inherit the Pod's",
			severity: policy.Error,
		})...)
		checks = append(checks, eachContainer(check{
			bad: func(x string) string {
				return linux + "!" + profile(x) + ".hasValue() && !" + podProfile + ".hasValue()" + asDefaulted(p.Defaults.SecurityContext.Enabled)
			},
			field: "securityContext.seccompProfile",
			problem: func(string) string {
				return "'has no seccomp profile (neither it nor the Pod sets securityContext.seccompProfile)'"
			},
			fix: "set spec.securityContext.seccompProfile.type: RuntimeDefault on the Pod",
		})...)
		return form{checks: checks}
	})
}
