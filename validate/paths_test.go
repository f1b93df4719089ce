package validate

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func TestPodMetaPath(t *testing.T) {
	tests := []struct {
		name string
		obj  runtime.Object
		want string
	}{
		{"a Pod's own metadata", &corev1.Pod{}, "metadata"},
		{"a Deployment's template", &appsv1.Deployment{}, "spec.template.metadata"},
		{"a ReplicationController's template", &corev1.ReplicationController{}, "spec.template.metadata"},
		{"a Job's template", &batchv1.Job{}, "spec.template.metadata"},
		{"a CronJob's nested template", &batchv1.CronJob{}, "spec.jobTemplate.spec.template.metadata"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := podMetaPath(findTemplate(t, tt.obj)).String(); got != tt.want {
				t.Errorf("podMetaPath = %q, want %q", got, tt.want)
			}
		})
	}
}
