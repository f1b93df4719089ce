package admission

import "fmt"

// Scope says which namespaces plimsoll touches.
type Scope string

const (
	// ScopeOptIn touches only namespaces labelled plimsoll.dev/mode.
	ScopeOptIn Scope = "opt-in"
	// ScopeCluster gives unlabelled namespaces the default mode.
	ScopeCluster Scope = "cluster"
)

// ParseScope parses a scope.
func ParseScope(s string) (Scope, error) {
	switch sc := Scope(s); sc {
	case ScopeOptIn, ScopeCluster:
		return sc, nil
	}
	return "", fmt.Errorf("unknown scope %q: use opt-in or cluster", s)
}

// AlwaysExcluded are namespaces plimsoll never touches: an outage of the
// webhook must not stop the cluster, or plimsoll itself, from healing.
var AlwaysExcluded = []string{"kube-system", "kube-public", "kube-node-lease"}

// Selects reports whether a namespace with labels is guarded in scope s,
// as the webhook configurations' namespaceSelectors select it: in opt-in
// scope when it is labelled with a served mode, in cluster scope unless it
// is labelled off. (The always-excluded namespaces are the caller's to
// leave out: they are known by name, not by label.)
func (s Scope) Selects(labels map[string]string) bool {
	mode, labelled := labels[ModeLabel]
	if s == ScopeCluster {
		return Mode(mode) != Off
	}
	if !labelled {
		return false
	}
	_, err := ParseMode(mode)
	return err == nil
}
