package workload

import (
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Every finding names its field as a string, and field.Path.String walks
// and joins the whole path each time it is called: on the admission hot
// path that was the rules' largest single cost. The strings of the paths
// built in advance (the spec paths Find returns and their first
// containers) are therefore written once, here.
var prebuiltStrings = func() map[*field.Path]string {
	m := map[*field.Path]string{}
	for _, p := range []*field.Path{podSpecPath, templateSpecPath, cronJobSpecPath} {
		m[p] = p.String()
	}
	for _, cp := range []*containerPaths{podContainerPaths, templateContainerPaths, cronJobContainerPaths} {
		for _, l := range []listPath{cp.init, cp.regular, cp.ephemeral} {
			m[l.list] = l.list.String()
			for _, e := range l.entries {
				m[e] = e.String()
			}
		}
	}
	return m
}()

// PathString is p.String(), without the work for a path built in advance.
func PathString(p *field.Path) string {
	if s, ok := prebuiltStrings[p]; ok {
		return s
	}
	return p.String()
}

// Under is base.Child(names...).String(), e.g.
// spec.containers[0].resources.limits.cpu, written in one allocation.
func Under(base *field.Path, names ...string) string {
	s := PathString(base)
	n := len(s)
	for _, name := range names {
		n += 1 + len(name)
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteString(s)
	for _, name := range names {
		b.WriteByte('.')
		b.WriteString(name)
	}
	return b.String()
}
