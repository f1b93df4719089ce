package validate

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	psaapi "k8s.io/pod-security-admission/api"

	"github.com/plimsoll/plimsoll/policy"
)

func TestSELinuxAgreesWithPodSecurity(t *testing.T) {
	tests := []struct {
		name string
		opts corev1.SELinuxOptions
	}{
		{"no type", corev1.SELinuxOptions{}},
		{"container_t", corev1.SELinuxOptions{Type: "container_t"}},
		{"container_init_t", corev1.SELinuxOptions{Type: "container_init_t"}},
		{"container_kvm_t", corev1.SELinuxOptions{Type: "container_kvm_t"}},
		{"container_engine_t", corev1.SELinuxOptions{Type: "container_engine_t"}},
		{"spc_t", corev1.SELinuxOptions{Type: "spc_t"}},
		{"unconfined_t", corev1.SELinuxOptions{Type: "unconfined_t"}},
		{"a level alone", corev1.SELinuxOptions{Level: "s0:c1,c2"}},
		{"a user", corev1.SELinuxOptions{User: "system_u"}},
		{"a role", corev1.SELinuxOptions{Role: "system_r"}},
	}
	for _, tt := range tests {
		for _, podLevel := range []bool{true, false} {
			name := tt.name + " on the container"
			if podLevel {
				name = tt.name + " on the Pod"
			}
			t.Run(name, func(t *testing.T) {
				pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx:1.27"}}}}
				opts := tt.opts
				if podLevel {
					pod.Spec.SecurityContext = &corev1.PodSecurityContext{SELinuxOptions: &opts}
				} else {
					pod.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{SELinuxOptions: &opts}
				}
				plimsollAllows := len(selinux.Check(findTemplate(t, pod), policy.Default())) == 0
				if psa := psaAllows(t, psaapi.LevelBaseline, pod); plimsollAllows != psa {
					t.Errorf("plimsoll allows it: %v; Pod Security baseline: %v", plimsollAllows, psa)
				}
			})
		}
	}
}

// TestSELinuxCoverage: selinux refuses a foreign type in every container.
func TestSELinuxCoverage(t *testing.T) {
	expectRiskyFindings(t, "selinux", fieldIn(".securityContext.seLinuxOptions.type", allContainers...)...)
}

// TestSELinuxMessages pins what the person at kubectl apply reads for
// failing fixtures: the object, the container, the field at fault and the
// fix.
func TestSELinuxMessages(t *testing.T) {
	expectMessages(t, "selinux", []messageCase{
		{
			name: "SELinux user and role are two findings",
			file: "fail/statefulset-container-user-and-role.yaml",
			want: []string{
				`[selinux] StatefulSet "db": container "db" sets the SELinux user "system_u" (spec.template.spec.containers[0].securityContext.seLinuxOptions.user): remove seLinuxOptions.user`,
				`[selinux] StatefulSet "db": container "db" sets the SELinux role "system_r" (spec.template.spec.containers[0].securityContext.seLinuxOptions.role): remove seLinuxOptions.role`,
			},
		},
	})
}
