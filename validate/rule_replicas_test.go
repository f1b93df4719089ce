package validate

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/plimsoll/plimsoll/policy"
)

func TestReplicasAndTopologySpread(t *testing.T) {
	spec := func() corev1.PodTemplateSpec {
		return corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx:1.27"}}},
		}
	}
	deployment := func(replicas *int32) runtime.Object {
		return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: appsv1.DeploymentSpec{Replicas: replicas, Template: spec()}}
	}
	spread := func(obj runtime.Object) runtime.Object {
		d := obj.(*appsv1.Deployment)
		d.Spec.Template.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: "kubernetes.io/hostname", WhenUnsatisfiable: corev1.ScheduleAnyway}}
		return d
	}
	antiAffinity := func(obj runtime.Object) runtime.Object {
		d := obj.(*appsv1.Deployment)
		d.Spec.Template.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{TopologyKey: "kubernetes.io/hostname"}},
		}}
		return d
	}
	tests := []struct {
		name string
		obj  runtime.Object
		want []string // rule IDs that find something
	}{
		{"a Deployment without replicas runs one", deployment(nil), []string{"replicas"}},
		{"a Deployment of one replica", deployment(ptrTo[int32](1)), []string{"replicas"}},
		{"a Deployment scaled to zero", deployment(ptrTo[int32](0)), []string{"replicas"}},
		{"two unspread replicas", deployment(ptrTo[int32](2)), []string{"topology-spread"}},
		{"three replicas spread by constraints", spread(deployment(ptrTo[int32](3))), nil},
		{"three replicas spread by anti-affinity", antiAffinity(deployment(ptrTo[int32](3))), nil},
		{"a StatefulSet without replicas", &appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{Template: spec()}}, []string{"replicas"}},
		{"a StatefulSet of five unspread", &appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{Replicas: ptrTo[int32](5), Template: spec()}}, []string{"topology-spread"}},
		{"a ReplicaSet is owned by a Deployment, which is judged instead", &appsv1.ReplicaSet{Spec: appsv1.ReplicaSetSpec{Template: spec()}}, nil},
		{"a DaemonSet has no replica count", &appsv1.DaemonSet{Spec: appsv1.DaemonSetSpec{Template: spec()}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tpl := findTemplate(t, tt.obj)
			var got []string
			for _, r := range []*Rule{replicas, topologySpread} {
				if len(r.Check(tpl, policy.Default())) > 0 {
					got = append(got, r.ID)
				}
			}
			if len(got) != len(tt.want) || (len(got) > 0 && got[0] != tt.want[0]) {
				t.Errorf("rules that find something = %v, want %v", got, tt.want)
			}
		})
	}
}
