package validate

// image-registry: every image comes from a registry the policy allows.
// Checked field: image of every container, ephemeral ones included.
// Allowed values: images whose full name (docker.io/library/nginx for
// "nginx") is under an entry of the policy's allowedRegistries. Off while
// the policy lists no registries.

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
	Description: "Images come from the registries the policy allows (only when allowedRegistries is set).",
	Remediation: "Pull the image from an allowed registry (mirror it there first), writing the registry host in the image, e.g. ghcr.io/acme/app:1.4.",
	Defaulted:   "no",
	Check: func(t *workload.Template, p *policy.Policy) []Finding {
		if p == nil || len(p.AllowedRegistries) == 0 {
			return nil
		}
		var out []Finding
		for _, c := range t.Containers() {
			if c.Image == "" || RegistryAllowed(c.Image, p.AllowedRegistries) {
				continue
			}
			registry, repository := ImageRepository(c.Image)
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
