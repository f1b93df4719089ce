package validate

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/plimsoll/plimsoll/policy"
)

func TestProbePortVerdicts(t *testing.T) {
	tcp := func(port intstr.IntOrString) corev1.ProbeHandler {
		return corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: port}}
	}
	tests := []struct {
		name    string
		ports   []corev1.ContainerPort
		handler corev1.ProbeHandler
		want    string // the problem, or "" for none
	}{
		{"a declared number", []corev1.ContainerPort{{ContainerPort: 80}}, tcp(intstr.FromInt32(80)), ""},
		{"a declared TCP number", []corev1.ContainerPort{{ContainerPort: 80, Protocol: corev1.ProtocolTCP}}, tcp(intstr.FromInt32(80)), ""},
		{"a declared name", []corev1.ContainerPort{{Name: "http", ContainerPort: 80}}, tcp(intstr.FromString("http")), ""},
		{"an undeclared number", []corev1.ContainerPort{{ContainerPort: 80}}, tcp(intstr.FromInt32(81)), "has a livenessProbe aimed at port 81, which the container does not declare"},
		{"a number with no ports at all", nil, tcp(intstr.FromInt32(80)), "has a livenessProbe aimed at port 80, which the container does not declare"},
		{"a number declared for UDP only", []corev1.ContainerPort{{ContainerPort: 53, Protocol: corev1.ProtocolUDP}}, tcp(intstr.FromInt32(53)), "has a livenessProbe aimed at port 53, which the container declares for UDP or SCTP only"},
		{"a number declared for UDP and TCP", []corev1.ContainerPort{{ContainerPort: 53, Protocol: corev1.ProtocolUDP}, {ContainerPort: 53}}, tcp(intstr.FromInt32(53)), ""},
		{"an unknown name", []corev1.ContainerPort{{Name: "http", ContainerPort: 80}}, tcp(intstr.FromString("metrics")), `has a livenessProbe aimed at port "metrics", which no port of the container is named`},
		{"a name with no ports at all", nil, tcp(intstr.FromString("http")), `has a livenessProbe aimed at port "http", which no port of the container is named`},
		{"an httpGet on a declared name", []corev1.ContainerPort{{Name: "http", ContainerPort: 80}}, corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromString("http")}}, ""},
		{"a grpc probe on a declared port", []corev1.ContainerPort{{ContainerPort: 9090}}, corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: 9090}}, ""},
		{"a grpc probe on an undeclared port", []corev1.ContainerPort{{ContainerPort: 80}}, corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: 9090}}, "has a livenessProbe aimed at port 9090, which the container does not declare"},
		{"an exec probe has no port", nil, corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{
				Name: "web", Image: "nginx:1.27", Ports: tt.ports, LivenessProbe: &corev1.Probe{ProbeHandler: tt.handler},
			}}}}
			var got string
			if fs := probePort.Check(findTemplate(t, pod), policy.Default()); len(fs) > 0 {
				got = fs[0].Problem
			}
			if got != tt.want {
				t.Errorf("problem = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestDefaultedProbesAreNeverFlagged: the probes defaulting writes aim at
// a declared port and differ from each other.
func TestDefaultedProbesAreNeverFlagged(t *testing.T) {
	for _, file := range []string{"bare-deployment-with-port.yaml", "bare-deployment.yaml"} {
		t.Run(file, func(t *testing.T) {
			tpl := defaultedCopy(t, loadTemplate(t, evaluateFixture(file)))
			for _, r := range []*Rule{probePort, probesIdentical, probeHost} {
				if got := r.Check(tpl, policy.Default()); len(got) != 0 {
					t.Errorf("%s flags the defaulted probes: %+v", r.ID, got)
				}
			}
		})
	}
}

// TestProbePortCoverage: probe-port checks the probes of every container
// that has them.
func TestProbePortCoverage(t *testing.T) {
	expectRiskyFindings(t, "probe-port",
		initPath+".livenessProbe.httpGet.port", initPath+".readinessProbe.httpGet.port",
		sidecarPath+".livenessProbe.httpGet.port", sidecarPath+".readinessProbe.httpGet.port",
		appPath+".livenessProbe.httpGet.port", appPath+".readinessProbe.httpGet.port",
		ephemeralPath+".livenessProbe.httpGet.port", ephemeralPath+".readinessProbe.httpGet.port",
	)
}

// TestProbePortMessages pins what the person at kubectl apply reads for
// failing fixtures: the object, the container, the field at fault and the
// fix.
func TestProbePortMessages(t *testing.T) {
	expectMessages(t, "probe-port", []messageCase{
		{
			name: "a probe aimed at a port name nobody has lists the names there are",
			file: "fail/pod-unknown-name.yaml",
			want: []string{`[probe-port] Pod "web": container "web" has a readinessProbe aimed at port "web", which no port of the container is named (spec.containers[0].readinessProbe.httpGet.port): name a declared port (the container's ports are named "http"), or add name: web to the port it means`},
		},
		{
			name: "a TCP probe on a UDP-only port",
			file: "fail/statefulset-udp-only-port.yaml",
			want: []string{`[probe-port] StatefulSet "dns": container "dns" has a livenessProbe aimed at port 53, which the container declares for UDP or SCTP only (spec.template.spec.containers[0].livenessProbe.tcpSocket.port): declare containerPort: 53 with protocol: TCP, or aim the probe at the TCP port the program serves`},
		},
	})
}
