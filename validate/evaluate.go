package validate

import (
	"context"
	"slices"
	"time"

	"github.com/plimsoll/plimsoll/cluster"
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
	// Default, when set and Defaulted is nil, returns the defaulted
	// template. Evaluate calls it only if the object breaks a rule, so an
	// object with nothing to fix is never copied and defaulted.
	Default func() *workload.Template
	// Old is the object before an UPDATE, or nil.
	Old *workload.Template
	// Namespace is the request's namespace (the object may not say it).
	Namespace string
	// Now decides whether exemptions have expired (zero: time.Now()).
	Now time.Time
	// Context, when set, is checked between rules: once it is done (the
	// request's deadline passed), Evaluate stops and returns its error.
	Context context.Context
	// Cluster is what is known of the objects around this one, for the
	// context rules; nil: they do not run (a cache that has not synced).
	Cluster cluster.View
	// ContextWarnsOnly lowers the context rules' error severity to
	// warning: at admission, where the cluster is seen through a cache
	// that may not have the objects applied with this one yet.
	ContextWarnsOnly bool
}

// Evaluate runs every rule the policy leaves on, in ID order, and returns
// the violations: those of the defaulted template, plus the ones defaulting
// fixes marked Fixable, with Preexisting set for what Old already broke
// (see ratchet). It returns an error only when in.Context ends first.
func Evaluate(rules []*Rule, p *policy.Policy, in Input) ([]Violation, error) {
	current, err := in.run(rules, p, in.Template)
	if len(current) == 0 || err != nil {
		return current, err
	}
	// The other templates are consulted only for the keys of current's
	// violations, so only the rules that found something run on them: a
	// rule is a pure function of the template, and a clean object is judged
	// once.
	rules = found(current)
	defaulted := in.Defaulted
	if defaulted == nil && in.Default != nil {
		defaulted = in.Default()
	}
	if defaulted != nil {
		after, err := in.run(rules, p, defaulted)
		if err != nil {
			return nil, err
		}
		remaining := keys(after)
		for i := range current {
			if !remaining[keyOf(current[i])] {
				current[i].Fixable = true
			}
		}
	}
	if in.Old != nil {
		before, err := in.run(rules, p, in.Old)
		if err != nil {
			return nil, err
		}
		ratchet(current, in.Template, before, in.Old)
	}
	if len(p.Exemptions) > 0 || p.AllowAnnotationExemptions {
		waive(p, in, current)
	}
	return current, nil
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
	for _, c := range in.Template.Containers() {
		images[c.Name] = c.Image
	}
	subject := policy.Subject{Namespace: ns, Identities: in.Template.Identities()}
	if in.Template.HasPods() {
		subject.PodAnnotations = in.Template.PodMeta.Annotations
	}
	for i := range vs {
		subject.Rule = vs[i].Rule.ID
		subject.Image = ""
		if vs[i].Container != "" {
			subject.Image = images[vs[i].Container]
		}
		vs[i].Waiver, vs[i].ExpiredExemptions = p.Exempt(subject, now)
	}
}

func (in Input) run(rules []*Rule, p *policy.Policy, t *workload.Template) ([]Violation, error) {
	ctx := in.Context
	// Findings are gathered first and turned into violations in one
	// allocation of the right size: a Violation is large, and a workload
	// that breaks many rules grew the slice several times.
	type ruleFindings struct {
		rule     *Rule
		sev      policy.Severity
		override bool
		findings []Finding
	}
	ns := in.Namespace
	if ns == "" {
		ns = t.Meta.Namespace
	}
	var onStack [48]ruleFindings // more than the catalogue has rules: no allocation
	byRule := onStack[:0]
	n := 0
	for _, r := range rules {
		if ctx != nil && ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		sev := p.Severity(r.ID, r.Severity)
		if sev == policy.Off {
			continue
		}
		if fs := r.findings(t, in.Cluster, ns, p); len(fs) > 0 {
			_, overridden := p.Rules[r.ID]
			byRule = append(byRule, ruleFindings{r, sev, overridden, fs})
			n += len(fs)
		}
	}
	if n == 0 {
		return nil, nil
	}
	object := t.Describe()
	out := make([]Violation, 0, n)
	for _, f := range byRule {
		for _, fi := range f.findings {
			fsev := f.sev
			if fi.Severity != "" && !f.override {
				fsev = fi.Severity
			}
			if fsev == policy.Error && in.ContextWarnsOnly && f.rule.Context() {
				fsev = policy.Warning
			}
			out = append(out, Violation{Rule: f.rule, Severity: fsev, Finding: fi, Object: object})
		}
	}
	return out, nil
}

// found returns the rules of vs, in order, once each.
func found(vs []Violation) []*Rule {
	var out []*Rule
	for _, v := range vs {
		if len(out) == 0 || out[len(out)-1] != v.Rule {
			out = append(out, v.Rule)
		}
	}
	return out
}

// keys returns the set of Key()s of vs, as (rule, path) pairs: the same
// identity, without building the string. It tells the same object before
// and after defaulting apart; across an UPDATE, ratchet also compares
// values.
func keys(vs []Violation) map[violationKey]bool {
	m := make(map[violationKey]bool, len(vs))
	for _, v := range vs {
		m[keyOf(v)] = true
	}
	return m
}

type violationKey struct{ rule, path string }

func keyOf(v Violation) violationKey { return violationKey{v.Rule.ID, v.Path} }

// Denied returns the violations that enforce mode denies.
func Denied(vs []Violation) []Violation {
	return slices.DeleteFunc(slices.Clone(vs), func(v Violation) bool { return !v.Denies() })
}
