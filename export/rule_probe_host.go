package export

import "strings"

// probe-host: probes and lifecycle hooks check the Pod itself, not a host
// of their choosing.

func init() {
	var checks []check
	for _, h := range []struct{ field, what string }{
		{"livenessProbe", "livenessProbe"},
		{"readinessProbe", "readinessProbe"},
		{"startupProbe", "startupProbe"},
		{"lifecycle.postStart", "postStart hook"},
		{"lifecycle.preStop", "preStop hook"},
	} {
		for _, a := range []struct{ action, verb string }{
			{"httpGet", "calls"},
			{"tcpSocket", "connects to"},
		} {
			field := h.field + "." + a.action + ".host"
			host := func(x string) string { return x + ".?" + strings.ReplaceAll(field, ".", ".?") + ".orValue('')" }
			fix := func(string) string { return "'remove tcpSocket.host so the kubelet connects to the Pod\\'s own IP'" }
			if a.action == "httpGet" {
				fix = func(x string) string {
					return "'remove httpGet.host so the kubelet calls the Pod\\'s own IP; to send a virtual host name, add httpHeaders: [{name: Host, value: ' + " + host(x) + " + '}]'"
				}
			}
			checks = append(checks, eachContainer(check{
				bad:   func(x string) string { return host(x) + " != ''" },
				same:  func(o, x string) string { return host(o) + " == " + host(x) },
				field: field,
				problem: func(x string) string {
					return "'has a " + h.what + " that " + a.verb + " host \"' + " + host(x) + " + '\" instead of the Pod'"
				},
				fixOf: fix,
			})...)
		}
	}
	register("probe-host", form{checks: checks})
}
