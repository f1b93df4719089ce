package workload

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
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

func TestTemplateContainersFollowsItsSpec(t *testing.T) {
	pod := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}}}}
	tmpl, err := Find(pod)
	if err != nil {
		t.Fatal(err)
	}
	first := tmpl.Containers()
	if len(first) != 1 || first[0].Container != &pod.Spec.Containers[0] {
		t.Fatalf("Containers() = %v, want the Pod's one container", first)
	}
	if again := tmpl.Containers(); &again[0] != &first[0] {
		t.Errorf("Containers() was worked out twice for the same Spec")
	}

	// A copy of the template with its own Spec sees its own containers.
	cp := *tmpl
	cp.Spec = pod.Spec.DeepCopy()
	if got := cp.Containers(); got[0].Container != &cp.Spec.Containers[0] {
		t.Errorf("a copy with its own Spec got the original's containers")
	}

	// A container added to the Spec is seen.
	pod.Spec.InitContainers = append(pod.Spec.InitContainers, corev1.Container{Name: "init"})
	if got := tmpl.Containers(); len(got) != 2 || got[0].Name != "init" || got[0].Path.String() != "spec.initContainers[0]" {
		t.Errorf("after adding an init container, Containers() = %v", got)
	}
}
