package policy

import (
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ExemptAnnotation lists rule IDs (comma-separated, or "*" for all) that a
// Pod template exempts itself from. It is honoured only when the policy sets
// allowAnnotationExemptions: true.
const ExemptAnnotation = "plimsoll.dev/exempt"

// Exemption lifts rules from the objects it selects. Every selector given
// must match (namespaces AND names AND kinds AND images); a selector left
// empty matches everything. Globs use path.Match syntax ("team-*",
// "ghcr.io/acme/*").
type Exemption struct {
	// Reason says why, for whoever reads an audit record. Required.
	Reason string `json:"reason"`
	// Expires, when set, ends the exemption at that instant (RFC 3339, e.g.
	// "2027-03-31T00:00:00Z"): from then on it no longer applies, and
	// plimsoll says so.
	Expires *metav1.Time `json:"expires,omitempty"`
	// Rules are the rule IDs lifted; empty means every rule.
	Rules []string `json:"rules,omitempty"`
	// Namespaces are globs on the object's namespace.
	Namespaces []string `json:"namespaces,omitempty"`
	// Names are globs on the object's name. A Pod also answers to the
	// names of the workloads that made it, so exempting Deployment "web"
	// exempts its Pods too.
	Names []string `json:"names,omitempty"`
	// Kinds are object kinds: Pod, Deployment, CronJob, ... A Pod made by a
	// Deployment answers to Pod, ReplicaSet and Deployment.
	Kinds []string `json:"kinds,omitempty"`
	// Images are globs on a container's image; an exemption with images
	// lifts only findings on containers whose image matches.
	Images []string `json:"images,omitempty"`
}

// Identity is a kind and name an object answers to.
type Identity struct {
	Kind string
	Name string
}

// Subject is what an exemption is matched against.
type Subject struct {
	Namespace string
	// Identities are the object's own kind and name, and those of the
	// workloads that own it (see workload.Identities).
	Identities []Identity
	// Image is the container's image, or "" for a pod-level finding.
	Image string
	Rule  string
	// PodAnnotations are the annotations of the Pod (template).
	PodAnnotations map[string]string
}

// Waiver says why a finding is not held against an object.
type Waiver struct {
	// Source is "policy" or "annotation".
	Source string
	// Reason is the exemption's reason.
	Reason string
	// Index is the exemption's position in the policy (for source policy).
	Index int
}

func (w Waiver) String() string {
	if w.Source == "annotation" {
		return "exempted by the annotation " + ExemptAnnotation
	}
	return fmt.Sprintf("exempted by policy exemption %d (%s)", w.Index, w.Reason)
}

// Exempt returns the waiver that applies to s at time now, if any, and
// the exemptions that would have applied but have expired.
func (p *Policy) Exempt(s Subject, now time.Time) (waiver *Waiver, expired []int) {
	for i := range p.Exemptions {
		e := &p.Exemptions[i]
		if !e.matches(s) {
			continue
		}
		if e.Expires != nil && !now.Before(e.Expires.Time) {
			expired = append(expired, i)
			continue
		}
		if waiver == nil {
			waiver = &Waiver{Source: "policy", Reason: e.Reason, Index: i}
		}
	}
	if waiver == nil && p.AllowAnnotationExemptions {
		if v, ok := s.PodAnnotations[ExemptAnnotation]; ok {
			for _, id := range strings.Split(v, ",") {
				if id = strings.TrimSpace(id); id == "*" || id == s.Rule {
					waiver = &Waiver{Source: "annotation", Reason: "annotation " + ExemptAnnotation + ": " + v}
					break
				}
			}
		}
	}
	return waiver, expired
}

func (e *Exemption) matches(s Subject) bool {
	if len(e.Rules) > 0 && !slices.Contains(e.Rules, s.Rule) {
		return false
	}
	if len(e.Namespaces) > 0 && !anyGlob(e.Namespaces, s.Namespace) {
		return false
	}
	if len(e.Kinds) > 0 || len(e.Names) > 0 {
		// kind and name must hold for the same identity
		if !slices.ContainsFunc(s.Identities, func(id Identity) bool {
			return (len(e.Kinds) == 0 || slices.Contains(e.Kinds, id.Kind)) &&
				(len(e.Names) == 0 || anyGlob(e.Names, id.Name))
		}) {
			return false
		}
	}
	if len(e.Images) > 0 && (s.Image == "" || !anyGlob(e.Images, s.Image)) {
		return false
	}
	return true
}

func anyGlob(globs []string, v string) bool {
	for _, g := range globs {
		if ok, _ := path.Match(g, v); ok {
			return true
		}
		// "ghcr.io/acme/*" also matches "ghcr.io/acme/app:1.0" and nested paths
		if strings.HasSuffix(g, "/*") && strings.HasPrefix(v, strings.TrimSuffix(g, "*")) {
			return true
		}
	}
	return false
}

func (e *Exemption) validate(knownRules []string) []string {
	var errs []string
	if strings.TrimSpace(e.Reason) == "" {
		errs = append(errs, ".reason: every exemption needs a reason, for whoever reads the audit record")
	}
	for _, id := range e.Rules {
		if knownRules != nil && !slices.Contains(knownRules, id) {
			errs = append(errs, fmt.Sprintf(".rules: no such rule %q", id))
		}
	}
	for field, globs := range map[string][]string{"namespaces": e.Namespaces, "names": e.Names, "images": e.Images} {
		for _, g := range globs {
			if _, err := path.Match(g, ""); err != nil {
				errs = append(errs, fmt.Sprintf(".%s: %q is not a valid glob", field, g))
			}
		}
	}
	slices.Sort(errs)
	return errs
}
