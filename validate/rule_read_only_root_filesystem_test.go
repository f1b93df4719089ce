package validate

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/plimsoll/plimsoll/mutate"
	"github.com/plimsoll/plimsoll/policy"
)

// TestReadOnlyRootFilesystemIsFixedOnlyWhenThePolicyOptsIn: the finding is
// fixable exactly when the policy has defaulting write the field, and an
// explicit false is never overridden.
func TestReadOnlyRootFilesystemIsFixedOnlyWhenThePolicyOptsIn(t *testing.T) {
	tests := []struct {
		name  string
		optIn bool
		value *bool
		want  []verdict
	}{
		{"unset, without the opt-in: a warning to act on", false, nil,
			[]verdict{{"read-only-root-filesystem", "spec.containers[0].securityContext.readOnlyRootFilesystem", policy.Warning, false, false}}},
		{"unset, with the opt-in: defaulted", true, nil,
			[]verdict{{"read-only-root-filesystem", "spec.containers[0].securityContext.readOnlyRootFilesystem", policy.Warning, true, false}}},
		{"explicitly false, with the opt-in: the user's word stands", true, ptrTo(false),
			[]verdict{{"read-only-root-filesystem", "spec.containers[0].securityContext.readOnlyRootFilesystem", policy.Warning, false, false}}},
		{"true passes", false, ptrTo(true), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx:1.27"}}}}
			if tt.value != nil {
				pod.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{ReadOnlyRootFilesystem: tt.value}
			}
			p := policy.Default()
			p.Defaults.SecurityContext.ReadOnlyRootFilesystem = tt.optIn
			tpl := findTemplate(t, pod)
			defaulted := findTemplate(t, pod.DeepCopy())
			mutate.Template(defaulted, p.Defaults)
			got := verdicts(evaluate(t, []*Rule{readOnlyRootFilesystem}, p, Input{Template: tpl, Defaulted: defaulted}))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("violations (-want +got):\n%s", diff)
			}
		})
	}
}

// TestReadOnlyRootFilesystemCoverage: read-only-root-filesystem skips
// ephemeral containers, which debug, and leaves Windows Pods alone.
func TestReadOnlyRootFilesystemCoverage(t *testing.T) {
	expectBareFindings(t, "read-only-root-filesystem", fieldIn(".securityContext.readOnlyRootFilesystem", initPath, sidecarPath, appPath)...)
	expectRiskyFindings(t, "read-only-root-filesystem", fieldIn(".securityContext.readOnlyRootFilesystem", initPath, sidecarPath, appPath)...)
	expectNothingOnWindows(t, "read-only-root-filesystem")
}
