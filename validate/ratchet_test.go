package validate

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/workload"
)

// compliantPod is a Pod that breaks no error-severity rule, for the
// ratcheting tests to spoil one field at a time.
func compliantPod(image string) *corev1.Pod {
	no, yes := false, true
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "agent", Namespace: "team"},
		Spec: corev1.PodSpec{
			SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: &yes, SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
			Containers: []corev1.Container{{
				Name: "agent", Image: image,
				Resources: corev1.ResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
					Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("200m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
				},
				SecurityContext: &corev1.SecurityContext{
					AllowPrivilegeEscalation: &no,
					Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
				},
			}},
		},
	}
}

// TestRatchetingComparesValues: an UPDATE is forgiven a violation only when
// the old object broke the same rule at the same field with the same
// value. A tenant who may update a Pod must not be able to swap one bad
// value for another.
func TestRatchetingComparesValues(t *testing.T) {
	withCaps := func(add ...corev1.Capability) *corev1.Pod {
		pod := compliantPod("ghcr.io/acme/agent:1.0")
		pod.Spec.Containers[0].SecurityContext.Capabilities.Add = add
		return pod
	}
	withHostPath := func(path string) *corev1.Pod {
		pod := compliantPod("ghcr.io/acme/agent:1.0")
		pod.Spec.Volumes = []corev1.Volume{{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: path}}}}
		return pod
	}
	withAnnotation := func(k, v string) *corev1.Pod {
		pod := compliantPod("ghcr.io/acme/agent:1.0")
		pod.Annotations = map[string]string{k: v}
		return pod
	}
	tests := []struct {
		name       string
		old, new   *corev1.Pod
		wantDenied []string
	}{
		{"the same untagged image kept is forgiven",
			compliantPod("nginx"), compliantPod("nginx"), nil},
		{"one untagged image swapped for another is judged as new",
			compliantPod("nginx"), compliantPod("httpd"), []string{"image-tag"}},
		{"latest swapped for another image at latest is judged as new",
			compliantPod("nginx:latest"), compliantPod("evil.example/miner:latest"), []string{"image-tag"}},
		{"the same added capability kept is forgiven",
			withCaps("NET_ADMIN"), withCaps("NET_ADMIN"), nil},
		{"an added capability swapped for another is judged as new",
			withCaps("NET_ADMIN"), withCaps("SYS_ADMIN"), []string{"capabilities"}},
		{"a capability added beside one already there is judged as new",
			withCaps("NET_ADMIN"), withCaps("NET_ADMIN", "SYS_ADMIN"), []string{"capabilities"}},
		{"the same hostPath kept is forgiven",
			withHostPath("/var/log"), withHostPath("/var/log"), nil},
		{"a hostPath pointed elsewhere is judged as new",
			withHostPath("/var/log"), withHostPath("/"), []string{"host-path"}},
		{"an AppArmor annotation (a key with dots and a slash) kept is forgiven",
			withAnnotation("container.apparmor.security.beta.kubernetes.io/agent", "unconfined"),
			withAnnotation("container.apparmor.security.beta.kubernetes.io/agent", "unconfined"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old, now := findTemplate(t, tt.old), findTemplate(t, tt.new)
			vs := evaluate(t, Registry(), policy.Default(), Input{Template: now, Old: old})
			var denied []string
			for _, v := range Denied(vs) {
				denied = append(denied, v.Rule.ID)
			}
			if diff := cmp.Diff(tt.wantDenied, denied); diff != "" {
				t.Errorf("denied rules (-want +got):\n%s\nviolations: %v", diff, vs)
			}
		})
	}
}

// TestAnExemptedImageSwappedOnUpdateIsJudgedAsNew: a Pod admitted with a
// vendor image that an exemption covers keeps nothing of that exemption
// when its image is changed to one from a registry the policy does not
// allow.
func TestAnExemptedImageSwappedOnUpdateIsJudgedAsNew(t *testing.T) {
	p := policy.Default()
	p.AllowedRegistries = []string{"ghcr.io/acme"}
	p.Exemptions = []policy.Exemption{{Reason: "vendor agent", Rules: []string{"image-registry"}, Images: []string{"vendor.example/*"}}}
	old := findTemplate(t, compliantPod("vendor.example/agent:2.1"))
	if vs := evaluate(t, Registry(), p, Input{Template: old}); len(Denied(vs)) != 0 {
		t.Fatalf("the vendor image should be exempted: %v", Denied(vs))
	}
	now := findTemplate(t, compliantPod("evil.example/agent:2.1"))
	vs := evaluate(t, Registry(), p, Input{Template: now, Old: old})
	var denied []string
	for _, v := range Denied(vs) {
		denied = append(denied, v.Rule.ID)
	}
	if diff := cmp.Diff([]string{"image-registry"}, denied); diff != "" {
		t.Errorf("denied rules (-want +got):\n%s", diff)
	}
}

func TestValuesAt(t *testing.T) {
	pod := compliantPod("ghcr.io/acme/agent:1.0")
	pod.Annotations = map[string]string{"a.b/c": "x"}
	vals := newValues(&workload.Template{Object: pod})
	for path, want := range map[string]string{
		"spec.containers[0].image":                                    `"ghcr.io/acme/agent:1.0"`,
		"spec.containers[0].securityContext.capabilities.drop":        `["ALL"]`,
		"metadata.annotations[a.b/c]":                                 `"x"`,
		"spec.containers[1].image":                                    absent,
		"spec.containers[0].resources.limits.cpu":                     `"200m"`,
		"spec.containers[0].livenessProbe":                            absent,
		"spec.containers[x].image":                                    absent,
		"spec.containers[0].securityContext.allowPrivilegeEscalation": "false",
	} {
		if got := vals.at(path); got != want {
			t.Errorf("at(%s) = %s, want %s", path, got, want)
		}
	}
}

func TestEvaluateStopsWhenTheContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	tpl := findTemplate(t, compliantPod("nginx"))
	if _, err := Evaluate(Registry(), policy.Default(), Input{Template: tpl, Context: ctx}); !errors.Is(err, context.Canceled) {
		t.Errorf("Evaluate after the context ended: err = %v, want context.Canceled", err)
	}
}
