package validate

import (
	"slices"
	"strconv"
	"strings"

	"github.com/plimsoll/plimsoll/cluster"
	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/workload"
)

// Rule is one best practice.
type Rule struct {
	// ID is stable and kebab-case: users write it in exemptions, alerts and
	// dashboards. Never rename one.
	ID string
	// Category groups rules: "security", "reliability", "efficiency", "images".
	Category string
	// Severity is the default severity; the policy may change it.
	Severity policy.Severity
	// Description says in one line what the rule holds workloads to.
	Description string
	// Remediation says in general what to write instead (each Finding says
	// it precisely for its container).
	Remediation string
	// Defaulted says whether defaulting fixes a violation, and when.
	Defaulted string
	// Check returns the places in t that break the rule. The policy is
	// passed for the few rules that read settings of their own (allowed
	// registries, required labels); most ignore it.
	//
	// A context rule sets InContext instead, or beside it.
	Check func(t *workload.Template, p *policy.Policy) []Finding
	// InContext judges t with the objects around it (the budgets
	// selecting its Pods, the autoscaler scaling it, its namespace's
	// quotas) as a cluster.View knows them. It runs wherever a View is
	// given and the policy leaves context rules on; elsewhere Check runs
	// if the rule has one (replicas: without a View, an HPA cannot be
	// seen), and a rule without Check — a context rule — does not run.
	//
	// At admission the View is a cache that may lag (apply order varies:
	// Helm creates a PodDisruptionBudget before its Deployment and an HPA
	// after it), so there a context rule only warns: its error severity
	// takes effect in `plimsoll check` and `plimsoll audit`
	// (Input.ContextWarnsOnly).
	InContext func(t *workload.Template, a Around, p *policy.Policy) []Finding
	// Kinds, when set, are the only kinds the rule judges: the
	// workload.Companions it is about (PodDisruptionBudget,
	// HorizontalPodAutoscaler, Namespace). Unset: every kind that
	// carries a pod template, and none of the Companions.
	Kinds []string
}

// Around is what a rule's InContext sees around the object it judges.
type Around struct {
	cluster.View
	// Namespace is the object's (the request's, where the object does not
	// name one).
	Namespace string
}

// Context reports whether r is a context rule: it judges only with the
// objects around the one it judges (it has InContext and no Check).
func (r *Rule) Context() bool { return r.InContext != nil && r.Check == nil }

// Judges reports whether r applies to objects of t's kind.
func (r *Rule) Judges(t *workload.Template) bool {
	if len(r.Kinds) == 0 {
		return t.HasPods()
	}
	return slices.Contains(r.Kinds, t.Kind)
}

// findings runs r on t: InContext where a View is given and the policy
// leaves context rules on, else Check if r has one. The Around is built
// only for InContext: handed to a function value it escapes, and a rule
// without context must not cost an allocation.
func (r *Rule) findings(t *workload.Template, view cluster.View, ns string, p *policy.Policy) []Finding {
	switch {
	case !r.Judges(t):
		return nil
	case r.InContext != nil && view != nil && p.ContextRulesOn():
		return r.InContext(t, Around{View: view, Namespace: ns}, p)
	case r.Check != nil:
		return r.Check(t, p)
	default:
		return nil
	}
}

// Finding is one place where a template breaks a rule.
type Finding struct {
	// Container names the container, or is "" for a pod-level field.
	Container string
	// ContainerType tells which kind of container (for the message).
	ContainerType workload.ContainerType
	// Path is the field at fault, e.g. spec.template.spec.containers[0].image.
	Path string
	// Problem says what is wrong, e.g. `image "nginx" has no tag`.
	Problem string
	// Fix says what to write instead, e.g. "set image to nginx:<version>".
	Fix string
	// Scope, when set, names what a finding about no container is about,
	// in place of "pod spec": "pod template" for its labels and
	// annotations, "workload" for a field of the object itself such as
	// spec.replicas.
	Scope string
	// Severity, when set, raises or lowers this finding's severity from
	// the rule's default (e.g. seccomp-profile: unset is a warning,
	// Unconfined an error). A severity the policy sets for the rule wins.
	Severity policy.Severity
}

// Violation is a Finding of a rule on an object, with its effective
// severity.
type Violation struct {
	Rule     *Rule
	Severity policy.Severity
	Finding
	// Object names the object, e.g. `Deployment "web"`.
	Object string
	// Fixable is true when defaulting fixes it: the Pods will be admitted
	// with the default written in, so it is never a reason to deny.
	Fixable bool
	// Preexisting is true on an UPDATE when the old object already broke
	// the rule at the same place: it is reported but never denied, so that
	// an unrelated change (a label, a scale) is never blocked.
	Preexisting bool
	// Waiver, when set, is the exemption that lifts this violation: it is
	// recorded (audit annotation, metric) but neither denied nor warned.
	Waiver *policy.Waiver
	// ExpiredExemptions are policy exemptions (by index) that matched but
	// have expired: they no longer apply, and the user is told.
	ExpiredExemptions []int
}

// Key identifies a violation across two evaluations of the same object.
func (v Violation) Key() string { return v.Rule.ID + "@" + v.Path }

// Denies reports whether enforce mode refuses the request for v.
func (v Violation) Denies() bool {
	return v.Severity == policy.Error && !v.Fixable && !v.Preexisting && v.Waiver == nil
}

// Subject names where the violation is: `container "app"`, `pod spec`,
// or the finding's Scope.
func (v Violation) Subject() string {
	if v.Container == "" {
		if v.Scope != "" {
			return v.Scope
		}
		return "pod spec"
	}
	return v.ContainerType.String() + " " + strconv.Quote(v.Container)
}

// Message is the full sentence for the person at kubectl apply:
// [rule] Object: container "x" <problem> (field): <fix>.
func (v Violation) Message() string { return v.message(true) }

// ShortMessage is Message without the object, for admission warnings and
// denial lists, where the object is already named once.
func (v Violation) ShortMessage() string { return v.message(false) }

// message writes the sentence directly: denials and warnings write one
// per violation, on the admission path.
func (v Violation) message(withObject bool) string {
	subject := v.Subject()
	var b strings.Builder
	b.Grow(len(v.Rule.ID) + len(v.Object) + len(subject) + len(v.Problem) + len(v.Path) + len(v.Fix) + 12)
	b.WriteByte('[')
	b.WriteString(v.Rule.ID)
	b.WriteString("] ")
	if withObject {
		b.WriteString(v.Object)
		b.WriteString(": ")
	}
	b.WriteString(subject)
	b.WriteByte(' ')
	b.WriteString(v.Problem)
	b.WriteString(" (")
	b.WriteString(v.Path)
	b.WriteByte(')')
	if v.Fix != "" {
		b.WriteString(": ")
		b.WriteString(v.Fix)
	}
	return b.String()
}
