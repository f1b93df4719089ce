package export

import (
	"strings"

	"github.com/plimsoll/plimsoll/validate"
)

// sysctls: a Pod sets only the sysctls that are namespaced and isolated
// from other Pods (Pod Security "baseline"'s safe set).

// celList is ss as a CEL list of strings.
func celList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = celString(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

func init() {
	register("sysctls", form{checks: []check{{
		list: "variables.spec.?securityContext.?sysctls.orValue([])", old: "(variables.oldSpec == null ? [] : variables.oldSpec.?securityContext.?sysctls.orValue([]))",
		listPath: "securityContext.sysctls",
		bad:      func(x string) string { return "!(" + x + ".name in " + celList(validate.SafeSysctls()) + ")" },
		field:    "name",
		problem: func(x string) string {
			return "'sets the sysctl \"' + " + x + ".name + '\", which is not in the safe set and may affect the whole node'"
		},
		fixOf: func(x string) string {
			return "'remove ' + " + x + ".name + ' from securityContext.sysctls and tune it on the node if it is needed'"
		},
	}}})
}
