package validate

// image-tag: every image names a version: a tag other than "latest", or a
// digest. Without one, what runs changes whenever the registry does, and a
// rollback does not roll back.

import (
	"fmt"
	"strings"

	"github.com/plimsoll/plimsoll/cluster"
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
// (cluster.ParseImage).
func ParseImage(image string) (name, tag, digest string) { return cluster.ParseImage(image) }

// dockerHub is where an image without a registry host is pulled from.
const dockerHub = "docker.io"

// ImageRepository returns the registry host an image is pulled from and
// the repository within it, as container runtimes resolve short names:
// "nginx:1.27" gives "docker.io", "library/nginx"; "acme/app" gives
// "docker.io", "acme/app"; "registry.local:5000/team/app:1.2" gives
// "registry.local:5000", "team/app". The first path component is a host
// when it has a dot or a port, is localhost, or has upper-case letters
// (which repositories cannot). index.docker.io is docker.io.
func ImageRepository(image string) (registry, repository string) {
	name, _, _ := ParseImage(image)
	host, rest, found := strings.Cut(name, "/")
	if !found || (!strings.ContainsAny(host, ".:") && host != "localhost" && strings.ToLower(host) == host) {
		host, rest = dockerHub, name
	}
	host = strings.ToLower(host)
	if host == "index.docker.io" {
		host = dockerHub
	}
	if host == dockerHub && !strings.Contains(rest, "/") {
		rest = "library/" + rest
	}
	return host, rest
}

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
		host = strings.ToLower(host)
		if host == "index.docker.io" {
			host = dockerHub
		}
		a = host
		if path != "" {
			a += "/" + path
		}
		if registry == a || strings.HasPrefix(full, a+"/") {
			return true
		}
	}
	return false
}
