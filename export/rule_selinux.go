package export

import "github.com/plimsoll/plimsoll/validate"

// selinux: no Pod or container sets an SELinux user or role, or a type
// other than the container types.

func init() {
	type option struct{ field, problem, fix string }
	options := []option{
		{"type", "runs with the SELinux type \"' + %s + '\", which escapes the container policy", "remove seLinuxOptions.type, or set it to container_t"},
		{"user", "sets the SELinux user \"' + %s + '\"", "remove seLinuxOptions.user"},
		{"role", "sets the SELinux role \"' + %s + '\"", "remove seLinuxOptions.role"},
	}
	value := func(owner, field string) string {
		return owner + ".?securityContext.?seLinuxOptions.?" + field + ".orValue('')"
	}
	bad := func(owner, field string) string {
		if field == "type" {
			return "!(" + value(owner, field) + " in " + celList(validate.SELinuxTypes()) + ")"
		}
		return value(owner, field) + " != ''"
	}
	var checks []check
	for _, o := range options {
		checks = append(checks, podSpec(check{
			bad:     func(string) string { return bad("variables.spec", o.field) },
			field:   "securityContext.seLinuxOptions." + o.field,
			problem: func(string) string { return "'" + sprintf(o.problem, value("variables.spec", o.field)) + "'" },
			fix:     o.fix,
		}))
	}
	for _, o := range options {
		checks = append(checks, eachContainer(check{
			bad:     func(x string) string { return bad(x, o.field) },
			same:    func(old, x string) string { return value(old, o.field) + " == " + value(x, o.field) },
			field:   "securityContext.seLinuxOptions." + o.field,
			problem: func(x string) string { return "'" + sprintf(o.problem, value(x, o.field)) + "'" },
			fix:     o.fix,
		})...)
	}
	register("selinux", form{checks: checks})
}
