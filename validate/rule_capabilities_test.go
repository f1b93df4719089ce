package validate

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/plimsoll/plimsoll/policy"
)

// TestCapabilitiesDefaulting pins what defaulting fixes: drop: [ALL] on a
// container that says nothing about capabilities, and nothing else.
func TestCapabilitiesDefaulting(t *testing.T) {
	tests := []struct {
		name string
		caps *corev1.Capabilities
		// want maps the finding's field (drop or add) to whether it is fixable.
		want map[string]bool
	}{
		{"no capabilities: drop ALL is defaulted", nil, map[string]bool{"drop": true}},
		{"empty capabilities: drop ALL is defaulted", &corev1.Capabilities{}, map[string]bool{"drop": true}},
		{"NET_BIND_SERVICE added without drop: the drop is not defaulted", &corev1.Capabilities{Add: []corev1.Capability{"NET_BIND_SERVICE"}}, map[string]bool{"drop": false}},
		{"some capabilities dropped but not ALL: not defaulted", &corev1.Capabilities{Drop: []corev1.Capability{"NET_RAW"}}, map[string]bool{"drop": false}},
		{"lower-case all is not ALL", &corev1.Capabilities{Drop: []corev1.Capability{"all"}}, map[string]bool{"drop": false}},
		{"SYS_ADMIN added is never defaulted away", &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}, Add: []corev1.Capability{"SYS_ADMIN"}}, map[string]bool{"add": false}},
		{"CAP_ prefixed NET_BIND_SERVICE is not NET_BIND_SERVICE", &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}, Add: []corev1.Capability{"CAP_NET_BIND_SERVICE"}}, map[string]bool{"add": false}},
		{"drop ALL and add NET_BIND_SERVICE passes", &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}, Add: []corev1.Capability{"NET_BIND_SERVICE"}}, map[string]bool{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx:1.27"}}}}
			if tt.caps != nil {
				pod.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Capabilities: tt.caps}
			}
			tpl := findTemplate(t, pod)
			got := map[string]bool{}
			for _, v := range evaluate(t, []*Rule{capabilities}, policy.Default(), Input{Template: tpl, Defaulted: defaultedCopy(t, tpl)}) {
				field := v.Path[len("spec.containers[0].securityContext.capabilities."):]
				got[field] = v.Fixable
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("fixable by field (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCapabilitiesCoverage: capabilities asks every container but the
// privileged ephemeral one (left to the privileged rule) to drop ALL,
// refuses an added capability in every container, and leaves Windows Pods
// alone.
func TestCapabilitiesCoverage(t *testing.T) {
	expectBareFindings(t, "capabilities", fieldIn(".securityContext.capabilities.drop", initPath, sidecarPath, appPath)...)
	expectRiskyFindings(t, "capabilities", fieldIn(".securityContext.capabilities.add", allContainers...)...)
	expectNothingOnWindows(t, "capabilities")
}

// TestCapabilitiesMessages pins what the person at kubectl apply reads for
// failing fixtures: the object, the container, the field at fault and the
// fix.
func TestCapabilitiesMessages(t *testing.T) {
	expectMessages(t, "capabilities", []messageCase{
		{
			name: "adding NET_BIND_SERVICE without dropping ALL is told to add the drop itself",
			file: "fail/pod-net-bind-service-without-drop.yaml",
			want: []string{`[capabilities] Pod "web": container "web" keeps the runtime's default capabilities (capabilities.drop is not set) (spec.containers[0].securityContext.capabilities.drop): add drop: [ALL] to securityContext.capabilities (defaulting does not touch capabilities a container sets), keeping add for what it needs`},
		},
		{
			name: "an added capability is named",
			file: "fail/pod-adds-sys-admin.yaml",
			want: []string{`[capabilities] Pod "fuse": container "fuse" adds the capabilities "SYS_ADMIN" (spec.containers[0].securityContext.capabilities.add): remove "SYS_ADMIN" from securityContext.capabilities.add: only NET_BIND_SERVICE may be added`},
		},
	})
}
