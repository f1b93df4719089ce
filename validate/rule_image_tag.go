package validate

// image-tag: every image names a version: a tag other than "latest", or a
// digest. Without one, what runs changes whenever the registry does, and a
// rollback does not roll back.

import (
	"fmt"
	"strings"

	"github.com/plimsoll/plimsoll/imageref"
	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/workload"
)

var imageTag = &Rule{
	ID:          "image-tag",
	Category:    "images",
	Severity:    policy.Error,
	Description: "Images are pinned to a version tag or a digest, never latest or untagged.",
	Remediation: "Write the image as name:version (e.g. nginx:1.27.3) or name@sha256:digest.",
	Defaulted:   "no",
	Check: func(t *workload.Template, _ *policy.Policy) []Finding {
		var out []Finding
		for _, c := range t.Containers() {
			name, tag, digest := ParseImage(c.Image)
			if digest != "" || (tag != "" && tag != "latest") {
				continue
			}
			problem := fmt.Sprintf("uses image %q, which has no tag", c.Image)
			if tag == "latest" {
				problem = fmt.Sprintf("uses image %q, whose latest tag moves", c.Image)
			}
			if c.Image == "" {
				problem, name = "names no image", "IMAGE"
			}
			out = append(out, Finding{
				Container:     c.Name,
				ContainerType: c.Type,
				Path:          workload.Under(c.Path, "image"),
				Problem:       problem,
				Fix:           fmt.Sprintf("pin a version: image: %s:<version> or %s@sha256:<digest>", name, name),
			})
		}
		return out
	},
}

// ParseImage splits an image reference into its name, tag and digest
// (imageref.Parse).
func ParseImage(image string) (name, tag, digest string) { return imageref.Parse(image) }

// ImageRepository returns the registry host an image is pulled from and
// the repository within it, as container runtimes resolve short names
// (imageref.Repository): "nginx:1.27" gives "docker.io", "library/nginx".
func ImageRepository(image string) (registry, repository string) { return imageref.Repository(image) }

// RegistryAllowed reports whether image comes from one of allowed: an
// entry is a registry host ("ghcr.io", "registry.local:5000"), or a host
// and a path prefix ("ghcr.io/acme"), matched at a "/" boundary against
// the image's full name ("docker.io/library/nginx" for "nginx").
func RegistryAllowed(image string, allowed []string) bool {
	registry, repository := ImageRepository(image)
	full := registry + "/" + repository
	for _, a := range allowed {
		a = strings.TrimSuffix(a, "/")
		host, path, _ := strings.Cut(a, "/")
		a = imageref.Registry(host)
		if path != "" {
			a += "/" + path
		}
		if registry == a || strings.HasPrefix(full, a+"/") {
			return true
		}
	}
	return false
}
