package validate

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	psaapi "k8s.io/pod-security-admission/api"

	"github.com/plimsoll/plimsoll/policy"
)

// TestSysctlsAgreeWithPodSecurity: each sysctl plimsoll allows, Pod
// Security baseline allows, and each it refuses, baseline refuses.
func TestSysctlsAgreeWithPodSecurity(t *testing.T) {
	if !slices.IsSorted(safeSysctls) || len(slices.Compact(slices.Clone(safeSysctls))) != len(safeSysctls) {
		t.Errorf("safeSysctls is not sorted and unique: %q", safeSysctls)
	}
	names := append(slices.Clone(safeSysctls), "kernel.msgmax", "vm.overcommit_memory", "net.core.somaxconn", "net/ipv4/tcp_syncookies", "net.ipv4.tcp_syncookies.x")
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			pod := &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: "tuned"},
				Spec: corev1.PodSpec{
					SecurityContext: &corev1.PodSecurityContext{Sysctls: []corev1.Sysctl{{Name: name, Value: "1"}}},
					Containers:      []corev1.Container{{Name: "app", Image: "app:1.0"}},
				},
			}
			plimsollAllows := len(sysctls.Check(findTemplate(t, pod), policy.Default())) == 0
			if psa := psaAllows(t, psaapi.LevelBaseline, pod); plimsollAllows != psa {
				t.Errorf("plimsoll allows %s: %v; Pod Security baseline: %v", name, plimsollAllows, psa)
			}
		})
	}
}

// TestSysctlsMessages pins what the person at kubectl apply reads for
// failing fixtures: the object, the container, the field at fault and the
// fix.
func TestSysctlsMessages(t *testing.T) {
	expectMessages(t, "sysctls", []messageCase{
		{
			name: "only the unsafe sysctl is named, with its index",
			file: "fail/pod-unsafe-sysctl.yaml",
			want: []string{`[sysctls] Pod "tuned": pod spec sets the sysctl "kernel.msgmax", which is not in the safe set and may affect the whole node (spec.securityContext.sysctls[1].name): remove kernel.msgmax from securityContext.sysctls and tune it on the node if it is needed`},
		},
	})
}
