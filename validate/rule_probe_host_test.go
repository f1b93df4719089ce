package validate

import "testing"

// TestProbeHostCoverage: probe-host refuses a probe host in every container,
// as Pod Security does.
func TestProbeHostCoverage(t *testing.T) {
	expectRiskyFindings(t, "probe-host",
		initPath+".livenessProbe.httpGet.host", initPath+".readinessProbe.httpGet.host",
		sidecarPath+".livenessProbe.httpGet.host", sidecarPath+".readinessProbe.httpGet.host",
		appPath+".livenessProbe.httpGet.host", appPath+".readinessProbe.httpGet.host",
		ephemeralPath+".livenessProbe.httpGet.host", ephemeralPath+".readinessProbe.httpGet.host",
	)
}

// TestProbeHostMessages pins what the person at kubectl apply reads for
// failing fixtures: the object, the container, the field at fault and the
// fix.
func TestProbeHostMessages(t *testing.T) {
	expectMessages(t, "probe-host", []messageCase{
		{
			name: "a probe host and a lifecycle host on a sidecar and a container",
			file: "fail/pod-lifecycle-tcp-host.yaml",
			want: []string{
				`[probe-host] Pod "web": sidecar container "proxy" has a readinessProbe that connects to host "db.internal" instead of the Pod (spec.initContainers[0].readinessProbe.tcpSocket.host): remove tcpSocket.host so the kubelet connects to the Pod's own IP`,
				`[probe-host] Pod "web": container "web" has a preStop hook that calls host "example.com" instead of the Pod (spec.containers[0].lifecycle.preStop.httpGet.host): remove httpGet.host so the kubelet calls the Pod's own IP; to send a virtual host name, add httpHeaders: [{name: Host, value: example.com}]`,
			},
		},
	})
}
