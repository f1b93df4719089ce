package export

import "github.com/plimsoll/plimsoll/policy"

// capabilities: every container drops ALL and adds back at most
// NET_BIND_SERVICE; Windows Pods and privileged containers aside.
//
// A workload is judged as its Pods will be once defaulted: with the
// restricted profile's defaults, a container that sets neither add nor
// drop gets drop: [ALL], so only a Pod can break the rule that way.

func init() {
	registerOf("capabilities", func(p *policy.Policy) form {
		caps := func(x, field string) string { return x + ".?securityContext.?capabilities.?" + field + ".orValue([])" }
		quoted := func(list string) string { return list + ".map(c, '\"' + c + '\"').join(', ')" }
		judged := func(x string) string {
			return "!(" + windowsPod + ") && !" + x + ".?securityContext.?privileged.orValue(false)"
		}
		d := p.Defaults.SecurityContext
		defaulted := d.Enabled && d.Profile != policy.Baseline
		sameList := func(field string) func(o, x string) string {
			return func(o, x string) string { return caps(o, field) + " == " + caps(x, field) }
		}
		checks := eachContainer(check{
			bad: func(x string) string {
				b := judged(x) + " && !" + caps(x, "drop") + ".exists(c, c == 'ALL')"
				if defaulted {
					b += " && (object.kind == 'Pod' || " + caps(x, "add") + ".size() > 0 || " + caps(x, "drop") + ".size() > 0)"
				}
				return b
			},
			same:  sameList("drop"),
			field: "securityContext.capabilities.drop",
			problem: func(x string) string {
				return "(" + caps(x, "drop") + ".size() == 0 ? \"keeps the runtime's default capabilities (capabilities.drop is not set)\" : " +
					"'keeps every capability but ' + " + quoted(caps(x, "drop")) + " + ' (capabilities.drop lacks ALL)')"
			},
			fixOf: func(x string) string {
				return "(" + caps(x, "add") + ".size() > 0 || " + caps(x, "drop") + ".size() > 0 ? " +
					celString("add drop: [ALL] to securityContext.capabilities (defaulting does not touch capabilities a container sets), keeping add for what it needs") +
					" : 'set securityContext.capabilities.drop: [ALL]')"
			},
		})
		forbidden := func(x string) string { return caps(x, "add") + ".filter(c, c != 'NET_BIND_SERVICE')" }
		checks = append(checks, eachContainer(check{
			bad: func(x string) string {
				return judged(x) + " && " + caps(x, "add") + ".exists(c, c != 'NET_BIND_SERVICE')"
			},
			same:    sameList("add"),
			field:   "securityContext.capabilities.add",
			problem: func(x string) string { return "'adds the capabilities ' + " + quoted(forbidden(x)) },
			fixOf: func(x string) string {
				return "'remove ' + " + quoted(forbidden(x)) + " + ' from securityContext.capabilities.add: only NET_BIND_SERVICE may be added'"
			},
		})...)
		return form{checks: checks}
	})
}
