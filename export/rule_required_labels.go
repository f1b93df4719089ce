package export

import "github.com/plimsoll/plimsoll/policy"

// required-labels: the Pods carry every label the policy requires,
// whatever its value; nothing to check while it requires none.

func init() {
	registerOf("required-labels", func(p *policy.Policy) form {
		var checks []check
		for _, l := range p.RequiredLabels {
			labels := "variables.podMetaPrefix + '.labels'"
			checks = append(checks, podSpec(check{
				bad:     func(string) string { return "!(" + celString(l) + " in variables.podLabels)" },
				scope:   "pod template",
				problem: func(string) string { return celString("lacks the required label " + l) },
				path:    func(string) string { return labels + " + " + celString("["+l+"]") },
				fixOf:   func(string) string { return celString("add "+l+": <value> under ") + " + " + labels },
			}))
		}
		return form{checks: checks}
	})
}
