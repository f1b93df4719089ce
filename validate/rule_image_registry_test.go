package validate

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/plimsoll/plimsoll/policy"
)

// The fixtures of image-registry are judged with two allowed registries:
// without any, the rule is off.
var _ = fixtureSetting("image-registry", func(p *policy.Policy) {
	p.AllowedRegistries = []string{"ghcr.io/acme", "registry.local:5000"}
	p.BlockedRegistries = []string{"ghcr.io/acme/forbidden"}
})

// TestBlockedRegistriesCannotBeSpelledAround: a blocked registry is
// matched on the image's full name, as the container runtime resolves it,
// so another spelling of the same image is blocked too; and a block works
// without any allowed registry.
func TestBlockedRegistriesCannotBeSpelledAround(t *testing.T) {
	p := policy.Default()
	p.BlockedRegistries = []string{"docker.io/evilcorp", "quay.io"}
	for image, blocked := range map[string]bool{
		"evilcorp/miner:1.0":                      true,
		"docker.io/evilcorp/miner:1.0":            true,
		"index.docker.io/evilcorp/miner:1.0":      true,
		"DOCKER.IO/evilcorp/miner:1.0":            true,
		"registry-1.docker.io/evilcorp/miner:1.0": true,
		"quay.io/anyone/app@sha256:" + hex64():    true,
		"QUAY.IO/anyone/app:1":                    true,
		"evilcorpsister/app:1":                    false,
		"nginx:1.27":                              false,
		"ghcr.io/quay.io/app:1":                   false,
	} {
		tpl := loadRun(t, "testdata/image-registry/pass/pod-allowed.yaml").templates[0]
		tpl.Spec.Containers[0].Image = image
		got := imageRegistry.Check(tpl, p)
		if (len(got) > 0) != blocked {
			t.Errorf("image %q: findings %+v, want blocked=%v", image, got, blocked)
		}
		for _, f := range got {
			if !strings.Contains(f.Problem, "blockedRegistries forbids") {
				t.Errorf("image %q: %q does not say the registry is blocked", image, f.Problem)
			}
		}
	}
}

func hex64() string { return strings.Repeat("ab", 32) }

func TestImageRepository(t *testing.T) {
	type parts struct{ Registry, Repository string }
	tests := []struct {
		name  string
		image string
		want  parts
	}{
		{"a bare name is an official Docker Hub image", "nginx", parts{"docker.io", "library/nginx"}},
		{"a tag and a digest do not change the repository", "nginx:1.27@sha256:abc", parts{"docker.io", "library/nginx"}},
		{"a user repository is on Docker Hub", "acme/app:1.0", parts{"docker.io", "acme/app"}},
		{"a host with a dot is a registry", "ghcr.io/acme/app:1.0", parts{"ghcr.io", "acme/app"}},
		{"a host with a port is a registry, and its port no tag", "registry.local:5000/team/app", parts{"registry.local:5000", "team/app"}},
		{"localhost is a registry", "localhost/app:1", parts{"localhost", "app"}},
		{"index.docker.io is docker.io", "index.docker.io/nginx:1.27", parts{"docker.io", "library/nginx"}},
		{"docker.io without library gets it", "docker.io/nginx", parts{"docker.io", "library/nginx"}},
		{"an upper-case first component is a host", "MyRegistry/app:1", parts{"myregistry", "app"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got parts
			got.Registry, got.Repository = ImageRepository(tt.image)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ImageRepository(%q) (-want +got):\n%s", tt.image, diff)
			}
		})
	}
}

func TestRegistryAllowed(t *testing.T) {
	tests := []struct {
		name    string
		image   string
		allowed []string
		want    bool
	}{
		{"a registry host allows everything on it", "ghcr.io/acme/app:1", []string{"ghcr.io"}, true},
		{"a path prefix allows what is under it", "ghcr.io/acme/team/app:1", []string{"ghcr.io/acme"}, true},
		{"a path prefix matches at a slash, not inside a name", "ghcr.io/acmecorp/app:1", []string{"ghcr.io/acme"}, false},
		{"another registry is refused", "quay.io/acme/app:1", []string{"ghcr.io"}, false},
		{"a short name is on docker.io", "nginx:1.27", []string{"docker.io"}, true},
		{"a short name is docker.io/library", "nginx:1.27", []string{"docker.io/library"}, true},
		{"a short name is not on a private registry", "nginx:1.27", []string{"registry.local:5000"}, false},
		{"a registry with a port", "registry.local:5000/team/app:1", []string{"registry.local:5000"}, true},
		{"the same host on another port is another registry", "registry.local:5001/team/app:1", []string{"registry.local:5000"}, false},
		{"a trailing slash in the policy is forgiven", "ghcr.io/acme/app:1", []string{"ghcr.io/acme/"}, true},
		{"index.docker.io in the policy is docker.io", "nginx:1", []string{"index.docker.io"}, true},
		{"hosts compare without case", "GHCR.IO/acme/app:1", []string{"ghcr.io/acme"}, true},
		{"a registry named like the prefix of a host is another host", "ghcr.io.evil.com/acme/app:1", []string{"ghcr.io"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RegistryAllowed(tt.image, tt.allowed); got != tt.want {
				t.Errorf("RegistryAllowed(%q, %q) = %v, want %v", tt.image, tt.allowed, got, tt.want)
			}
		})
	}
}

func TestImageRegistryIsOffWithoutAllowedRegistries(t *testing.T) {
	tpl := loadTemplate(t, "testdata/image-registry/fail/deployment-docker-hub.yaml")
	if got := imageRegistry.Check(tpl, policy.Default()); len(got) != 0 {
		t.Errorf("findings without allowedRegistries: %+v", got)
	}
}

// TestImageRegistryMessages pins what the person at kubectl apply reads for
// failing fixtures: the object, the container, the field at fault and the
// fix.
func TestImageRegistryMessages(t *testing.T) {
	expectMessages(t, "image-registry", []messageCase{
		{
			name: "an image from Docker Hub under a policy that allows only its own registries",
			file: "fail/deployment-docker-hub.yaml",
			want: []string{`[image-registry] Deployment "web": container "web" pulls image "nginx:1.27" from docker.io (as docker.io/library/nginx), which allowedRegistries does not list (spec.template.spec.containers[0].image): mirror the image to an allowed registry (ghcr.io/acme, registry.local:5000) and name it there, e.g. image: ghcr.io/acme/nginx:1.27`},
		},
		{
			name: "an image under an allowed registry and a blocked path of it",
			file: "fail/pod-blocked-under-allowed.yaml",
			want: []string{`[image-registry] Pod "tool": container "tool" pulls image "ghcr.io/acme/forbidden/tool:1.0" from ghcr.io/acme/forbidden/tool, which blockedRegistries forbids (ghcr.io/acme/forbidden) (spec.containers[0].image): use an image from a registry the policy allows (ghcr.io/acme, registry.local:5000), e.g. image: ghcr.io/acme/tool:1.0`},
		},
	})
}
