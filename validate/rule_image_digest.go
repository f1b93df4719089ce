package validate

// image-digest: every image is pinned by digest (name@sha256:<64 hex>),
// so that what runs is exactly what was scanned and approved, whatever a
// registry later does with the tag. Off by default: turn it on for
// clusters that require it (a policy's rules: {image-digest: error}).
// Checked field: image of every container, ephemeral ones included.

import (
	"fmt"
	"strings"

	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/workload"
)

var imageDigest = &Rule{
	ID:          "image-digest",
	Category:    "images",
	Severity:    policy.Off,
	Description: "Images are pinned by digest (name@sha256:...), for clusters that require it (off by default).",
	Remediation: "Write the image with its digest, e.g. ghcr.io/acme/app:1.4@sha256:<digest> (crane digest or docker buildx imagetools inspect prints it).",
	Defaulted:   "no",
	Check: func(t *workload.Template, _ *policy.Policy) []Finding {
		var out []Finding
		for _, c := range t.Containers() {
			if c.Image == "" || pinnedByDigest(c.Image) {
				continue
			}
			name, tag, _ := ParseImage(c.Image)
			ref := name
			if tag != "" {
				ref += ":" + tag
			}
			out = append(out, Finding{
				Container:     c.Name,
				ContainerType: c.Type,
				Path:          workload.Under(c.Path, "image"),
				Problem:       fmt.Sprintf("uses image %q, which is not pinned by digest, so the registry decides what runs", c.Image),
				Fix:           fmt.Sprintf("pin it: image: %s@sha256:<digest> (crane digest %s prints it)", ref, ref),
			})
		}
		return out
	},
}

// pinnedByDigest reports whether image names a sha256 digest of the right
// form: 64 lower-case hex digits.
func pinnedByDigest(image string) bool {
	_, _, digest := ParseImage(image)
	hex, ok := strings.CutPrefix(digest, "sha256:")
	if !ok || len(hex) != 64 {
		return false
	}
	for _, r := range hex {
		if (r < '0' || r > '9') && (r < 'a' || r > 'f') {
			return false
		}
	}
	return true
}
