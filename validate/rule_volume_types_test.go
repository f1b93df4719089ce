package validate

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	psaapi "k8s.io/pod-security-admission/api"

	"github.com/plimsoll/plimsoll/policy"
)

// TestVolumeTypesAgreeWithPodSecurity sets each source that k8s.io/api
// knows, one at a time, and checks plimsoll (volume-types with host-path)
// and Pod Security restricted agree on it.
func TestVolumeTypesAgreeWithPodSecurity(t *testing.T) {
	typ := reflect.TypeFor[corev1.VolumeSource]()
	var names []string
	for i := range typ.NumField() {
		f := typ.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		names = append(names, name)
		t.Run(name, func(t *testing.T) {
			var src corev1.VolumeSource
			reflect.ValueOf(&src).Elem().Field(i).Set(reflect.New(f.Type.Elem()))
			if got := volumeType(&src); got != name {
				t.Fatalf("volumeType = %q, want %q", got, name)
			}
			pod := &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: "web"},
				Spec: corev1.PodSpec{
					SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptrTo(true), SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
					Containers: []corev1.Container{{Name: "web", Image: "nginx:1.27", SecurityContext: &corev1.SecurityContext{
						AllowPrivilegeEscalation: ptrTo(false), Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
					}}},
					Volumes: []corev1.Volume{{Name: "v", VolumeSource: src}},
				},
			}
			tpl := findTemplate(t, pod)
			plimsollAllows := len(volumeTypes.Check(tpl, policy.Default()))+len(hostPath.Check(tpl, policy.Default())) == 0
			if psa := psaAllows(t, psaapi.LevelRestricted, pod); plimsollAllows != psa {
				t.Errorf("plimsoll allows a %s volume: %v; Pod Security restricted: %v", name, plimsollAllows, psa)
			}
		})
	}
	for _, allowed := range allowedVolumeTypes {
		if !slices.Contains(names, allowed) {
			t.Errorf("allowedVolumeTypes names %q, which is no volume source", allowed)
		}
	}
}

func TestAVolumeWithoutSourceIsLeftToTheAPIServer(t *testing.T) {
	pod := &corev1.Pod{Spec: corev1.PodSpec{Volumes: []corev1.Volume{{Name: "scratch"}}}}
	if got := volumeTypes.Check(findTemplate(t, pod), policy.Default()); len(got) != 0 {
		t.Errorf("a volume without source (an emptyDir once the API server defaults it) was reported: %+v", got)
	}
}

// TestVolumeTypesMessages pins what the person at kubectl apply reads for
// failing fixtures: the object, the container, the field at fault and the
// fix.
func TestVolumeTypesMessages(t *testing.T) {
	expectMessages(t, "volume-types", []messageCase{
		{
			name: "a forbidden volume type is named with its volume",
			file: "fail/deployment-nfs.yaml",
			want: []string{`[volume-types] Deployment "web": pod spec mounts volume "content" of type nfs, which Pod Security restricted forbids (spec.template.spec.volumes[1].nfs): use a persistentVolumeClaim bound to a PersistentVolume that provides the nfs storage, or an emptyDir, configMap or secret volume`},
		},
	})
}
