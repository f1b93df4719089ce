package validate

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/plimsoll/plimsoll/policy"
)

func TestSeccompProfileSeverities(t *testing.T) {
	unconfined := &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}
	runtimeDefault := &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}
	tests := []struct {
		name      string
		pod, app  *corev1.SeccompProfile
		overrides map[string]policy.Severity
		want      []verdict
	}{
		{
			name: "unset everywhere is a warning that defaulting fixes",
			want: []verdict{{"seccomp-profile", "spec.containers[0].securityContext.seccompProfile", policy.Warning, true, false}},
		},
		{
			name: "Unconfined on the container is an error nothing fixes",
			pod:  runtimeDefault, app: unconfined,
			want: []verdict{{"seccomp-profile", "spec.containers[0].securityContext.seccompProfile.type", policy.Error, false, false}},
		},
		{
			name: "Unconfined on the Pod is one error, on the Pod",
			pod:  unconfined,
			want: []verdict{{"seccomp-profile", "spec.securityContext.seccompProfile.type", policy.Error, false, false}},
		},
		{
			name: "a container may override an Unconfined Pod, which is still refused",
			pod:  unconfined, app: runtimeDefault,
			want: []verdict{{"seccomp-profile", "spec.securityContext.seccompProfile.type", policy.Error, false, false}},
		},
		{
			name:      "a severity the policy sets wins over the finding's own",
			pod:       unconfined,
			overrides: map[string]policy.Severity{"seccomp-profile": policy.Warning},
			want:      []verdict{{"seccomp-profile", "spec.securityContext.seccompProfile.type", policy.Warning, false, false}},
		},
		{
			name: "RuntimeDefault on the Pod passes",
			pod:  runtimeDefault,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx:1.27"}}}}
			if tt.pod != nil {
				pod.Spec.SecurityContext = &corev1.PodSecurityContext{SeccompProfile: tt.pod}
			}
			if tt.app != nil {
				pod.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{SeccompProfile: tt.app}
			}
			p := policy.Default()
			p.Rules = tt.overrides
			tpl := findTemplate(t, pod)
			got := verdicts(evaluate(t, []*Rule{seccompProfile}, p, Input{Template: tpl, Defaulted: defaultedCopy(t, tpl)}))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("violations (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSeccompProfileCoverage: seccomp-profile checks every container,
// ephemeral ones included, refuses Unconfined in every container, and leaves
// Windows Pods alone.
func TestSeccompProfileCoverage(t *testing.T) {
	expectBareFindings(t, "seccomp-profile", fieldIn(".securityContext.seccompProfile", allContainers...)...)
	expectRiskyFindings(t, "seccomp-profile", fieldIn(".securityContext.seccompProfile.type", allContainers...)...)
	expectNothingOnWindows(t, "seccomp-profile")
}

// TestSeccompProfileMessages pins what the person at kubectl apply reads for
// failing fixtures: the object, the container, the field at fault and the
// fix.
func TestSeccompProfileMessages(t *testing.T) {
	expectMessages(t, "seccomp-profile", []messageCase{
		{
			name: "seccomp Unconfined on the Pod is reported once, on the Pod",
			file: "fail/pod-unconfined.yaml",
			want: []string{`[seccomp-profile] Pod "strace": pod spec turns off the seccomp filter of every container (seccompProfile.type: Unconfined) (spec.securityContext.seccompProfile.type): set securityContext.seccompProfile.type: RuntimeDefault`},
		},
	})
}
