package workload_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/plimsoll/plimsoll/workload"
)

func TestContainersVisitsEveryContainerInOrderWithItsPath(t *testing.T) {
	always := corev1.ContainerRestartPolicyAlways
	spec := &corev1.PodSpec{
		InitContainers: []corev1.Container{
			{Name: "init-db"},
			{Name: "proxy", RestartPolicy: &always},
			{Name: "setup"},
		},
		Containers: []corev1.Container{
			{Name: "web"},
			{Name: "metrics"},
		},
		EphemeralContainers: []corev1.EphemeralContainer{
			{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debugger"}},
		},
	}

	type seen struct {
		Type        workload.ContainerType
		Name        string
		Path        string
		LongRunning bool
	}
	tests := []struct {
		name     string
		specPath *field.Path
		want     []seen
	}{
		{
			name:     "in a Pod the paths start at spec",
			specPath: field.NewPath("spec"),
			want: []seen{
				{workload.Init, "init-db", "spec.initContainers[0]", false},
				{workload.Sidecar, "proxy", "spec.initContainers[1]", true},
				{workload.Init, "setup", "spec.initContainers[2]", false},
				{workload.Regular, "web", "spec.containers[0]", true},
				{workload.Regular, "metrics", "spec.containers[1]", true},
				{workload.Ephemeral, "debugger", "spec.ephemeralContainers[0]", false},
			},
		},
		{
			name:     "in a CronJob the paths start at the nested template",
			specPath: field.NewPath("spec", "jobTemplate", "spec", "template", "spec"),
			want: []seen{
				{workload.Init, "init-db", "spec.jobTemplate.spec.template.spec.initContainers[0]", false},
				{workload.Sidecar, "proxy", "spec.jobTemplate.spec.template.spec.initContainers[1]", true},
				{workload.Init, "setup", "spec.jobTemplate.spec.template.spec.initContainers[2]", false},
				{workload.Regular, "web", "spec.jobTemplate.spec.template.spec.containers[0]", true},
				{workload.Regular, "metrics", "spec.jobTemplate.spec.template.spec.containers[1]", true},
				{workload.Ephemeral, "debugger", "spec.jobTemplate.spec.template.spec.ephemeralContainers[0]", false},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []seen
			for _, c := range workload.Containers(spec, tt.specPath) {
				got = append(got, seen{c.Type, c.Name, c.Path.String(), c.LongRunning()})
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Containers (-want +got):\n%s", diff)
			}
		})
	}
}

func TestContainersPointIntoTheSpec(t *testing.T) {
	spec := &corev1.PodSpec{
		InitContainers:      []corev1.Container{{Name: "init"}},
		Containers:          []corev1.Container{{Name: "web"}},
		EphemeralContainers: []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debugger"}}},
	}
	for _, c := range workload.Containers(spec, field.NewPath("spec")) {
		c.Image = c.Name + ":1"
	}
	got := []string{spec.InitContainers[0].Image, spec.Containers[0].Image, spec.EphemeralContainers[0].Image}
	want := []string{"init:1", "web:1", "debugger:1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("images written through Containers (-want +got):\n%s", diff)
	}
}

func TestContainersOfAnEmptySpecIsEmpty(t *testing.T) {
	if got := workload.Containers(&corev1.PodSpec{}, field.NewPath("spec")); len(got) != 0 {
		t.Errorf("Containers(empty) = %v, want none", got)
	}
}

func TestContainerTypeString(t *testing.T) {
	tests := []struct {
		name string
		typ  workload.ContainerType
		want string
	}{
		{"a regular container is called container", workload.Regular, "container"},
		{"an init container is called init container", workload.Init, "init container"},
		{"a sidecar is called sidecar container", workload.Sidecar, "sidecar container"},
		{"an ephemeral container is called ephemeral container", workload.Ephemeral, "ephemeral container"},
		{"an unknown type falls back to container", workload.ContainerType(42), "container"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.typ.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}
