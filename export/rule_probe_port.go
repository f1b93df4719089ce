package export

// probe-port: a probe aims at a port the container declares — by name,
// or by number among its TCP ports.

func init() {
	var checks []check
	for _, probe := range []string{"livenessProbe", "readinessProbe", "startupProbe"} {
		for _, handler := range []string{"tcpSocket", "httpGet", "grpc"} {
			field := probe + "." + handler + ".port"
			port := func(x string) string { return x + ".?" + probe + ".?" + handler + ".?port" }
			named := func(x string) string { return "type(" + port(x) + ".value()) == string" }
			declared := func(x string) string {
				return "(" + named(x) + " ? " + x + ".?ports.orValue([]).exists(p, p.?name.orValue('') == " + port(x) + ".value()) : " +
					x + ".?ports.orValue([]).exists(p, p.containerPort == " + port(x) + ".value() && p.?protocol.orValue('TCP') == 'TCP'))"
			}
			// elsewhere is CEL: the number is declared, but for UDP or SCTP only.
			elsewhere := func(x string) string {
				return x + ".?ports.orValue([]).exists(p, p.containerPort == " + port(x) + ".value())"
			}
			aim := "'has a " + probe + " aimed at port "
			checks = append(checks, eachContainer(check{
				bad:   func(x string) string { return port(x) + ".hasValue() && !" + declared(x) },
				same:  func(o, x string) string { return port(o) + ".value() == " + port(x) + ".value()" },
				field: field,
				problem: func(x string) string {
					return "(" + named(x) + " ? " + aim + "\"' + string(" + port(x) + ".value()) + '\", which no port of the container is named' : " +
						"(" + elsewhere(x) + " ? " + aim + "' + string(" + port(x) + ".value()) + ', which the container declares for UDP or SCTP only' : " +
						aim + "' + string(" + port(x) + ".value()) + ', which the container does not declare'))"
				},
				fixOf: func(x string) string {
					p := "string(" + port(x) + ".value())"
					names := x + ".?ports.orValue([]).filter(p, p.?name.orValue('') != '').map(p, '\"' + p.name + '\"')"
					return "(" + named(x) + " ? (" + names + ".size() > 0 ? 'name a declared port (the container\\'s ports are named ' + " + names + ".join(', ') + '), or add name: ' + " + p + " + ' to the port it means' : " +
						"'name a declared port (add name: ' + " + p + " + ' to the port it means under ports)') : " +
						"(" + elsewhere(x) + " ? 'declare containerPort: ' + " + p + " + ' with protocol: TCP, or aim the probe at the TCP port the program serves' : " +
						"'declare it under ports (containerPort: ' + " + p + " + '), or aim the probe at the port the program serves'))"
				},
			})...)
		}
	}
	register("probe-port", form{checks: checks})
}
