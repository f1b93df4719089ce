package validate

import (
	"slices"
	"time"

	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/workload"
)

// Input is what Evaluate judges.
type Input struct {
	// Template is the object as the request carries it.
	Template *workload.Template
	// Defaulted is the same object after defaulting, or nil when no
	// defaulting will happen (a Pod UPDATE, an ephemeral container).
	Defaulted *workload.Template
	// Old is the object before an UPDATE, or nil.
	Old *workload.Template
	// Namespace is the request's namespace (the object may not say it).
	Namespace string
	// Now decides whether exemptions have expired (zero: time.Now()).
	Now time.Time
}

// Evaluate runs every rule the policy leaves on, in ID order, and returns
// the violations: those of the defaulted template, plus the ones defaulting
// fixes marked Fixable, with Preexisting set for what Old already broke.
func Evaluate(rules []*Rule, p *policy.Policy, in Input) []Violation {
	current := run(rules, p, in.Template)
	if in.Defaulted != nil {
		remaining := keys(run(rules, p, in.Defaulted))
		for i := range current {
			if !remaining[current[i].Key()] {
				current[i].Fixable = true
			}
		}
	}
	if in.Old != nil {
		before := keys(run(rules, p, in.Old))
		for i := range current {
			if before[current[i].Key()] {
				current[i].Preexisting = true
			}
		}
	}
	if len(p.Exemptions) > 0 || p.AllowAnnotationExemptions {
		waive(p, in, current)
	}
	return current
}

// waive marks the violations that an exemption lifts.
func waive(p *policy.Policy, in Input, vs []Violation) {
	now := in.Now
	if now.IsZero() {
		now = time.Now()
	}
	ns := in.Namespace
	if ns == "" {
		ns = in.Template.Meta.Namespace
	}
	images := map[string]string{}
	for _, c := range workload.Containers(in.Template.Spec, in.Template.SpecPath) {
		images[c.Name] = c.Image
	}
	subject := policy.Subject{Namespace: ns, Identities: in.Template.Identities(), PodAnnotations: in.Template.PodMeta.Annotations}
	for i := range vs {
		subject.Rule = vs[i].Rule.ID
		subject.Image = ""
		if vs[i].Container != "" {
			subject.Image = images[vs[i].Container]
		}
		vs[i].Waiver, vs[i].ExpiredExemptions = p.Exempt(subject, now)
	}
}

func run(rules []*Rule, p *policy.Policy, t *workload.Template) []Violation {
	var out []Violation
	for _, r := range rules {
		sev := p.Severity(r.ID, r.Severity)
		if sev == policy.Off {
			continue
		}
		_, overridden := p.Rules[r.ID]
		for _, f := range r.Check(t, p) {
			fsev := sev
			if f.Severity != "" && !overridden {
				fsev = f.Severity
			}
			out = append(out, Violation{Rule: r, Severity: fsev, Finding: f, Object: t.Describe()})
		}
	}
	return out
}

func keys(vs []Violation) map[string]bool {
	m := make(map[string]bool, len(vs))
	for _, v := range vs {
		m[v.Key()] = true
	}
	return m
}

// Denied returns the violations that enforce mode denies.
func Denied(vs []Violation) []Violation {
	return slices.DeleteFunc(slices.Clone(vs), func(v Violation) bool { return !v.Denies() })
}
