package export

import (
	"github.com/plimsoll/plimsoll/mutate"
	"github.com/plimsoll/plimsoll/policy"
)

// securityContext: allowPrivilegeEscalation false, capabilities drop ALL
// and runAsNonRoot true (the latter two with the restricted profile),
// readOnlyRootFilesystem true where opted in, on every container and init
// container; seccompProfile RuntimeDefault on the pod. Each only where
// unset and where the API accepts it (mutate/securitycontext.go).

func securityContextDefaulter(d policy.SecurityDefaults) defaulter {
	const (
		privileged = "c.?securityContext.?privileged.orValue(false)"
		sysAdmin   = "c.?securityContext.?capabilities.?add.orValue([]).exists(a, a == 'SYS_ADMIN' || a == 'CAP_SYS_ADMIN')"
	)
	leaves := []leaf{{
		when:  "!variables.windows && !c.?securityContext.?allowPrivilegeEscalation.hasValue() && !" + privileged + " && !" + sysAdmin,
		path:  "securityContext/allowPrivilegeEscalation",
		value: "false",
	}}
	if d.Profile != policy.Baseline {
		leaves = append(leaves,
			leaf{
				// Written whole: a capabilities that adds and drops nothing
				// is replaced, as /mutate replaces it.
				when:  "!variables.windows && !" + privileged + " && c.?securityContext.?capabilities.?add.orValue([]).size() == 0 && c.?securityContext.?capabilities.?drop.orValue([]).size() == 0",
				path:  "securityContext/capabilities",
				value: "{'drop': ['ALL']}",
			},
			leaf{
				when: "!c.?securityContext.?runAsNonRoot.hasValue() && !variables.spec.?securityContext.?runAsNonRoot.hasValue() && " +
					"c.?securityContext.?runAsUser.orValue(variables.spec.?securityContext.?runAsUser.orValue(-1)) != 0",
				path:  "securityContext/runAsNonRoot",
				value: "true",
			})
	}
	if d.ReadOnlyRootFilesystem {
		leaves = append(leaves, leaf{
			when:  "!variables.windows && !c.?securityContext.?readOnlyRootFilesystem.hasValue()",
			path:  "securityContext/readOnlyRootFilesystem",
			value: "true",
		})
	}
	return defaulter{
		family: mutate.SecurityContext,
		leaves: leaves,
		pod: []leaf{{
			when:  "!variables.windows && !variables.spec.?securityContext.?seccompProfile.hasValue()",
			path:  "securityContext/seccompProfile",
			value: "{'type': 'RuntimeDefault'}",
		}},
	}
}
