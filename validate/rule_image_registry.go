package validate

// image-registry: every image comes from a registry the policy allows,
// and none from a registry it blocks. Checked field: image of every
// container, ephemeral ones included. Allowed values: images whose full
// name (docker.io/library/nginx for "nginx", docker.io for
// index.docker.io, the host in lower case) is under an entry of the
// policy's allowedRegistries, when it lists any, and under no entry of
// its blockedRegistries (a blocked entry wins over an allowed one that
// contains it). Off while the policy lists neither.

import (
	"fmt"
	"strings"

	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/workload"
)

var imageRegistry = &Rule{
	ID:          "image-registry",
	Category:    "images",
	Severity:    policy.Error,
	Description: "Images come from the registries the policy allows and from none it blocks (only when allowedRegistries or blockedRegistries is set).",
	Remediation: "Pull the image from an allowed registry (mirror it there first), writing the registry host in the image, e.g. ghcr.io/acme/app:1.4.",
	Defaulted:   "no",
	Check: func(t *workload.Template, p *policy.Policy) []Finding {
		if p == nil || len(p.AllowedRegistries) == 0 && len(p.BlockedRegistries) == 0 {
			return nil
		}
		var out []Finding
		for _, c := range t.Containers() {
			if c.Image == "" {
				continue
			}
			registry, repository := ImageRepository(c.Image)
			if entry, blocked := blockedBy(c.Image, p.BlockedRegistries); blocked {
				out = append(out, Finding{
					Container:     c.Name,
					ContainerType: c.Type,
					Path:          workload.Under(c.Path, "image"),
					Problem:       fmt.Sprintf("pulls image %q from %s/%s, which blockedRegistries forbids (%s)", c.Image, registry, repository, entry),
					Fix:           "use an image from a registry the policy allows" + allowedHint(p, c.Image),
				})
				continue
			}
			if len(p.AllowedRegistries) == 0 || RegistryAllowed(c.Image, p.AllowedRegistries) {
				continue
			}
			out = append(out, Finding{
				Container:     c.Name,
				ContainerType: c.Type,
				Path:          workload.Under(c.Path, "image"),
				Problem:       fmt.Sprintf("pulls image %q from %s (as %s/%s), which allowedRegistries does not list", c.Image, registry, registry, repository),
				Fix:           fmt.Sprintf("mirror the image to an allowed registry (%s) and name it there, e.g. image: %s/%s", strings.Join(p.AllowedRegistries, ", "), strings.TrimSuffix(p.AllowedRegistries[0], "/"), lastPathElement(c.Image)),
			})
		}
		return out
	},
}

// lastPathElement returns the image's last path element with its tag or
// digest: "docker.io/library/nginx:1.27" gives "nginx:1.27".
func lastPathElement(image string) string {
	name, tag, digest := ParseImage(image)
	if i := strings.LastIndex(name, "/"); i >= 0 {
		name = name[i+1:]
	}
	if tag != "" {
		name += ":" + tag
	}
	if digest != "" {
		name += "@" + digest
	}
	return name
}

// blockedBy returns the entry of blocked that image falls under, if any.
func blockedBy(image string, blocked []string) (string, bool) {
	for _, b := range blocked {
		if RegistryAllowed(image, []string{b}) {
			return b, true
		}
	}
	return "", false
}

// allowedHint names where to take the image from instead, when the
// policy lists allowed registries.
func allowedHint(p *policy.Policy, image string) string {
	if len(p.AllowedRegistries) == 0 {
		return " (mirror it to your own registry)"
	}
	return fmt.Sprintf(" (%s), e.g. image: %s/%s", strings.Join(p.AllowedRegistries, ", "), strings.TrimSuffix(p.AllowedRegistries[0], "/"), lastPathElement(image))
}
