package workload

import (
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestUnderWritesWhatFieldPathWrites(t *testing.T) {
	bases := []*field.Path{
		podSpecPath, templateSpecPath, cronJobSpecPath,
		podContainerPaths.regular.at(0), templateContainerPaths.init.at(3), cronJobContainerPaths.ephemeral.at(63),
		templateContainerPaths.regular.at(64), // past the prebuilt entries
		field.NewPath("spec", "template", "metadata").Key("app.kubernetes.io/name"),
		field.NewPath("custom").Child("spec"), // a spec path Find never returns
	}
	names := [][]string{nil, {"image"}, {"resources", "limits", "cpu"}, {"securityContext", "seccompProfile", "type"}}
	for _, base := range bases {
		if got, want := PathString(base), base.String(); got != want {
			t.Errorf("PathString = %q, want %q", got, want)
		}
		for _, n := range names {
			want := base.String()
			if len(n) > 0 {
				want = base.Child(n[0], n[1:]...).String()
			}
			if got := Under(base, n...); got != want {
				t.Errorf("Under(%s, %q) = %q, want %q", base, n, got, want)
			}
		}
	}
}

func TestUnderAllocatesOnce(t *testing.T) {
	base := templateContainerPaths.regular.at(2)
	if n := testing.AllocsPerRun(100, func() { _ = Under(base, "resources", "limits", "cpu") }); n != 1 {
		t.Errorf("Under allocates %v times, want 1", n)
	}
}
