package mutate

import (
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/workload"
)

// AnnotationKey records on a Pod what plimsoll defaulted, for example
// "probes=web; resources=web,init-db; securityContext=web,init-db".
const AnnotationKey = "plimsoll.dev/mutations"

// Family names a group of defaults.
type Family string

const (
	Resources       Family = "resources"
	Probes          Family = "probes"
	SecurityContext Family = "securityContext"
)

// Families lists every family, in the order they are applied.
var Families = []Family{Resources, Probes, SecurityContext}

// Change is one field that defaulting wrote.
type Change struct {
	Family Family
	// Container is the container's name, or "" for a pod-level field.
	Container string
	// Field is the path relative to the container (or the PodSpec), e.g.
	// "resources.limits.cpu".
	Field string
}

// Changes is what one call of Template wrote, in a fixed order.
type Changes []Change

// Families returns the families that wrote anything, in Families order.
func (cs Changes) Families() []Family {
	var out []Family
	for _, f := range Families {
		if slices.ContainsFunc(cs, func(c Change) bool { return c.Family == f }) {
			out = append(out, f)
		}
	}
	return out
}

// Template defaults the PodSpec of t in place according to d and returns
// what it wrote. Fields the user set are never touched.
func Template(t *workload.Template, d policy.Defaults) Changes {
	var cs Changes
	if d.Resources.Enabled {
		cs = append(cs, defaultResources(t, d.Resources)...)
	}
	if d.Probes.Enabled {
		cs = append(cs, defaultProbes(t, d.Probes)...)
	}
	if d.SecurityContext.Enabled {
		cs = append(cs, defaultSecurityContext(t, d.SecurityContext)...)
	}
	return cs
}

// Annotate records cs in meta's plimsoll.dev/mutations annotation, merged
// with what an earlier invocation recorded there. It does nothing when cs
// is empty, so a second pass leaves the Pod exactly as the first did.
func Annotate(meta *metav1.ObjectMeta, cs Changes) {
	if len(cs) == 0 {
		return
	}
	byFamily := parseAnnotation(meta.Annotations[AnnotationKey])
	for _, c := range cs {
		name := c.Container
		if name == "" {
			name = "pod"
		}
		if !slices.Contains(byFamily[string(c.Family)], name) {
			byFamily[string(c.Family)] = append(byFamily[string(c.Family)], name)
		}
	}
	fams := make([]string, 0, len(byFamily))
	for f := range byFamily {
		fams = append(fams, f)
	}
	slices.Sort(fams)
	parts := make([]string, 0, len(fams))
	for _, f := range fams {
		parts = append(parts, f+"="+strings.Join(byFamily[f], ","))
	}
	if meta.Annotations == nil {
		meta.Annotations = map[string]string{}
	}
	meta.Annotations[AnnotationKey] = strings.Join(parts, "; ")
}

func parseAnnotation(v string) map[string][]string {
	out := map[string][]string{}
	for _, part := range strings.Split(v, ";") {
		fam, names, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || fam == "" {
			continue
		}
		for _, n := range strings.Split(names, ",") {
			if n = strings.TrimSpace(n); n != "" && !slices.Contains(out[fam], n) {
				out[fam] = append(out[fam], n)
			}
		}
	}
	return out
}
