package validate

import (
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/plimsoll/plimsoll/workload"
)

// podMetaPath is where the metadata the Pods will carry lives in the
// object: metadata for a Pod, the template's metadata beside SpecPath for
// every other kind (spec.template.metadata,
// spec.jobTemplate.spec.template.metadata).
func podMetaPath(t *workload.Template) *field.Path {
	if t.Kind == "Pod" {
		return field.NewPath("metadata")
	}
	parts := strings.Split(strings.TrimSuffix(t.SpecPath.String(), ".spec"), ".")
	return field.NewPath(parts[0], append(parts[1:], "metadata")...)
}
