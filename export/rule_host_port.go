package export

// host-port: no container binds a port of the node.

// hostPorts is CEL: the ports of container x that bind a port of the node.
func hostPorts(x string) string {
	return x + ".?ports.orValue([]).filter(p, p.?hostPort.orValue(0) != 0)"
}

func init() {
	register("host-port", form{checks: eachContainer(check{
		bad: func(x string) string { return hostPorts(x) + ".size() > 0" },
		// the same node ports as before, none added
		same: func(o, x string) string {
			return hostPorts(x) + ".all(p, " + hostPorts(o) + ".exists(q, q.hostPort == p.hostPort))"
		},
		field: "ports",
		// the first port that binds one of the node's, as the webhook
		// says it first
		fieldOf: func(x string) string {
			return "'ports[' + string(" + x + ".ports.map(p, p.?hostPort.orValue(0) != 0).indexOf(true)) + '].hostPort'"
		},
		problem: func(x string) string {
			return "'binds port ' + string(" + hostPorts(x) + "[0].hostPort) + ' of the node (hostPort: ' + string(" + hostPorts(x) + "[0].hostPort) + ')'"
		},
		fixOf: func(x string) string {
			return "'remove hostPort: ' + string(" + hostPorts(x) + "[0].hostPort) + ' and expose containerPort ' + string(" + hostPorts(x) + "[0].?containerPort.orValue(0)) + ' through a Service'"
		},
	})})
}
