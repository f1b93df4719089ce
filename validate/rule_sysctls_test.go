package validate

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	psaapi "k8s.io/pod-security-admission/api"
	psapolicy "k8s.io/pod-security-admission/policy"

	"github.com/plimsoll/plimsoll/policy"
)

// psaAllows evaluates a Pod against Pod Security at the latest version of
// a level.
func psaAllows(t *testing.T, level psaapi.Level, pod *corev1.Pod) bool {
	t.Helper()
	eval, err := psapolicy.NewEvaluator(psapolicy.DefaultChecks(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range eval.EvaluatePod(psaapi.LevelVersion{Level: level, Version: psaapi.LatestVersion()}, &pod.ObjectMeta, &pod.Spec) {
		if !r.Allowed {
			return false
		}
	}
	return true
}

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
