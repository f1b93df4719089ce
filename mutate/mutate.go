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

// Families lists every family, in the order they are applied
// (ServiceAccountToken by AccountToken, after Template).
var Families = []Family{Resources, Probes, SecurityContext, ServiceAccountToken}

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
	if !t.HasPods() {
		return nil // a PodDisruptionBudget, an autoscaler: nothing to default
	}
	var cs Changes
	if d.Resources.Enabled {
		cs = defaultResources(t, d.Resources)
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
// is empty, so a second pass leaves the Pod exactly as the first did. Its
// work is linear in the number of changes and of names already recorded:
// a Pod of 30,000 containers costs ten times one of 3,000, not a hundred.
func Annotate(meta *metav1.ObjectMeta, cs Changes) {
	if len(cs) == 0 {
		return
	}
	rec := parseAnnotation(meta.Annotations[AnnotationKey])
	for _, c := range cs {
		name := c.Container
		if name == "" {
			name = "pod"
		}
		rec.add(string(c.Family), name)
	}
	fams := make([]string, 0, len(rec.names))
	for f := range rec.names {
		fams = append(fams, f)
	}
	slices.Sort(fams)
	var b strings.Builder
	for i, f := range fams {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(f)
		b.WriteByte('=')
		b.WriteString(strings.Join(rec.names[f], ","))
	}
	if meta.Annotations == nil {
		meta.Annotations = map[string]string{}
	}
	meta.Annotations[AnnotationKey] = b.String()
}

// recorded is the annotation's content: per family, the names in the order
// first recorded, and a set to tell a name already there in constant time.
type recorded struct {
	names map[string][]string
	seen  map[[2]string]bool
}

func (r *recorded) add(fam, name string) {
	k := [2]string{fam, name}
	if !r.seen[k] {
		r.seen[k] = true
		r.names[fam] = append(r.names[fam], name)
	}
}

func parseAnnotation(v string) *recorded {
	r := &recorded{names: map[string][]string{}, seen: map[[2]string]bool{}}
	for _, part := range strings.Split(v, ";") {
		fam, names, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || fam == "" {
			continue
		}
		for _, n := range strings.Split(names, ",") {
			if n = strings.TrimSpace(n); n != "" {
				r.add(fam, n)
			}
		}
	}
	return r
}
