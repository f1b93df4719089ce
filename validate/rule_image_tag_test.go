package validate

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/plimsoll/plimsoll/policy"
)

func TestParseImage(t *testing.T) {
	type parts struct{ Name, Tag, Digest string }
	tests := []struct {
		name  string
		image string
		want  parts
	}{
		{"a bare name has neither tag nor digest", "nginx", parts{"nginx", "", ""}},
		{"latest is a tag like any other", "nginx:latest", parts{"nginx", "latest", ""}},
		{"a version tag is split off", "nginx:1.27", parts{"nginx", "1.27", ""}},
		{"a registry port is not a tag", "localhost:5000/nginx", parts{"localhost:5000/nginx", "", ""}},
		{"a registry port and a tag", "localhost:5000/nginx:1.2", parts{"localhost:5000/nginx", "1.2", ""}},
		{"a digest without a tag", "nginx@sha256:abc", parts{"nginx", "", "sha256:abc"}},
		{"a digest beside a tag", "nginx:latest@sha256:abc", parts{"nginx", "latest", "sha256:abc"}},
		{"a full reference", "registry:5000/team/app:1.2@sha256:ab", parts{"registry:5000/team/app", "1.2", "sha256:ab"}},
		{"an empty image is empty", "", parts{"", "", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got parts
			got.Name, got.Tag, got.Digest = ParseImage(tt.image)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseImage(%q) (-want +got):\n%s", tt.image, diff)
			}
		})
	}
}

func TestImageTagVerdicts(t *testing.T) {
	tests := []struct {
		name  string
		image string
		want  string // the finding's problem, or "" for none
	}{
		{"an untagged image is refused", "nginx", `uses image "nginx", which has no tag`},
		{"latest is refused", "nginx:latest", `uses image "nginx:latest", whose latest tag moves`},
		{"a version tag passes", "nginx:1.27", ""},
		{"a registry port without a tag is refused", "localhost:5000/nginx", `uses image "localhost:5000/nginx", which has no tag`},
		{"a registry port with a tag passes", "localhost:5000/nginx:1.2", ""},
		{"a digest passes", "nginx@sha256:abc", ""},
		{"a digest pins even a latest tag", "nginx:latest@sha256:abc", ""},
		{"a missing image is refused", "", "names no image"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tpl := loadTemplate(t, "testdata/image-tag/fail/deployment-latest.yaml")
			tpl.Spec.Containers[0].Image = tt.image
			var got string
			if fs := imageTag.Check(tpl, policy.Default()); len(fs) > 0 {
				got = fs[0].Problem
			}
			if got != tt.want {
				t.Errorf("problem = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestImageTagCoverage: image-tag checks every container, ephemeral ones
// included.
func TestImageTagCoverage(t *testing.T) {
	expectBareFindings(t, "image-tag", fieldIn(".image", allContainers...)...)
}

// TestImageTagMessages pins what the person at kubectl apply reads for
// failing fixtures: the object, the container, the field at fault and the
// fix.
func TestImageTagMessages(t *testing.T) {
	expectMessages(t, "image-tag", []messageCase{
		{
			name: "a Deployment on latest is told to pin a version",
			file: "fail/deployment-latest.yaml",
			want: []string{`[image-tag] Deployment "web": container "web" uses image "nginx:latest", whose latest tag moves (spec.template.spec.containers[0].image): pin a version: image: nginx:<version> or nginx@sha256:<digest>`},
		},
		{
			name: "a registry port is not mistaken for a tag, and a generated name is shown as such",
			file: "fail/registry-port-without-tag.yaml",
			want: []string{`[image-tag] Pod "local-*": container "app" uses image "localhost:5000/nginx", which has no tag (spec.containers[0].image): pin a version: image: localhost:5000/nginx:<version> or localhost:5000/nginx@sha256:<digest>`},
		},
		{
			name: "an ephemeral container is named as one",
			file: "fail/pod-ephemeral-latest.yaml",
			want: []string{`[image-tag] Pod "web": ephemeral container "debugger" uses image "busybox:latest", whose latest tag moves (spec.ephemeralContainers[0].image): pin a version: image: busybox:<version> or busybox@sha256:<digest>`},
		},
		{
			name: "an untagged init container of a StatefulSet",
			file: "fail/statefulset-init-untagged.yaml",
			want: []string{`[image-tag] StatefulSet "db": init container "init" uses image "busybox", which has no tag (spec.template.spec.initContainers[0].image): pin a version: image: busybox:<version> or busybox@sha256:<digest>`},
		},
		{
			name: "an untagged ReplicationController",
			file: "fail/replicationcontroller-untagged.yaml",
			want: []string{`[image-tag] ReplicationController "legacy": container "app" uses image "legacy", which has no tag (spec.template.spec.containers[0].image): pin a version: image: legacy:<version> or legacy@sha256:<digest>`},
		},
	})
}
