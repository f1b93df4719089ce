package audit

import (
	"github.com/plimsoll/plimsoll/admission"
)

// scope decides which namespaces are audited, as the webhook's
// namespaceSelectors decide which it judges: in opt-in scope the
// namespaces labelled plimsoll.dev/mode enforce, warn or audit; in cluster
// scope every namespace not labelled off; never kube-system, kube-public,
// kube-node-lease or an excluded namespace. A namespace named with
// --namespace is audited whatever its label: that is the "what if".
type scope struct {
	scope    admission.Scope
	excluded map[string]bool
	only     string
}

func newScope(o Options) scope {
	s := scope{scope: o.Scope, only: o.Namespace, excluded: map[string]bool{}}
	for _, ns := range admission.AlwaysExcluded {
		s.excluded[ns] = true
	}
	for _, ns := range o.ExcludeNamespaces {
		s.excluded[ns] = true
	}
	return s
}

// selects reports whether the namespace name with labels is audited.
func (s scope) selects(name string, labels map[string]string) bool {
	if s.excluded[name] {
		return false
	}
	if s.only != "" {
		return name == s.only
	}
	return s.scope.Selects(labels)
}

// modeOf is what a report says of a namespace's mode: its label's value,
// or what the scope gives an unlabelled namespace.
func modeOf(labels map[string]string, known bool) string {
	if !known {
		return "unknown"
	}
	if m, ok := labels[admission.ModeLabel]; ok {
		return m
	}
	return "unlabelled"
}
