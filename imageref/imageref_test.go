package imageref

import "testing"

func TestRepository(t *testing.T) {
	tests := []struct{ image, registry, repository string }{
		{"nginx", "docker.io", "library/nginx"},
		{"nginx:1.27@sha256:ab", "docker.io", "library/nginx"},
		{"acme/app", "docker.io", "acme/app"},
		{"docker.io/library/nginx:1.27", "docker.io", "library/nginx"},
		{"index.docker.io/nginx", "docker.io", "library/nginx"},
		{"registry-1.docker.io/acme/app:1", "docker.io", "acme/app"},
		{"DOCKER.IO/acme/app", "docker.io", "acme/app"},
		{"localhost/app", "localhost", "app"},
		{"registry.local:5000/team/app:1.2", "registry.local:5000", "team/app"},
		{"Registry/app", "registry", "app"},
	}
	for _, tt := range tests {
		registry, repository := Repository(tt.image)
		if registry != tt.registry || repository != tt.repository {
			t.Errorf("Repository(%q) = %q, %q; want %q, %q", tt.image, registry, repository, tt.registry, tt.repository)
		}
	}
}

func TestParse(t *testing.T) {
	tests := []struct{ image, name, tag, digest string }{
		{"nginx", "nginx", "", ""},
		{"registry:5000/team/app:1.2@sha256:ab", "registry:5000/team/app", "1.2", "sha256:ab"},
		{"registry:5000/team/app", "registry:5000/team/app", "", ""},
		{"app@sha256:ab", "app", "", "sha256:ab"},
	}
	for _, tt := range tests {
		name, tag, digest := Parse(tt.image)
		if name != tt.name || tag != tt.tag || digest != tt.digest {
			t.Errorf("Parse(%q) = %q, %q, %q", tt.image, name, tag, digest)
		}
	}
}
