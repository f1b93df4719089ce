package validate

// image-tag: every image names a version: a tag other than "latest", or a
// digest. Without one, what runs changes whenever the registry does, and a
// rollback does not roll back.

import (
	"fmt"
	"strings"

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
		for _, c := range workload.Containers(t.Spec, t.SpecPath) {
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
				Path:          c.Path.Child("image").String(),
				Problem:       problem,
				Fix:           fmt.Sprintf("pin a version: image: %s:<version> or %s@sha256:<digest>", name, name),
			})
		}
		return out
	},
}

// ParseImage splits an image reference into its name, tag and digest:
// "registry:5000/team/app:1.2@sha256:ab" gives "registry:5000/team/app",
// "1.2", "sha256:ab". A colon before the last slash belongs to the
// registry's port, not to a tag.
func ParseImage(image string) (name, tag, digest string) {
	name = image
	if i := strings.Index(name, "@"); i >= 0 {
		name, digest = name[:i], name[i+1:]
	}
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		name, tag = name[:i], name[i+1:]
	}
	return name, tag, digest
}
