package export

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/plimsoll/plimsoll/admission"
	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/validate"
)

// forms are the in-process forms, by rule ID (rule_*.go register them);
// formsOf those of the rules that read the policy (its lists of labels,
// of registries), made for the policy exported.
var (
	forms   = map[string]form{}
	formsOf = map[string]func(*policy.Policy) form{}
)

func register(id string, f form) {
	if _, dup := forms[id]; dup {
		panic("export: two forms of rule " + id)
	}
	forms[id] = f
}

func registerOf(id string, f func(*policy.Policy) form) {
	if _, dup := formsOf[id]; dup {
		panic("export: two forms of rule " + id)
	}
	formsOf[id] = f
}

// formFor is the in-process form of rule id under p, if it has one.
func formFor(id string, p *policy.Policy) (form, bool) {
	if f, ok := forms[id]; ok {
		return f, true
	}
	if f, ok := formsOf[id]; ok {
		return f(p), true
	}
	return form{}, false
}

// Options say where the exported policies apply, as the chart's values say
// where its webhook entries do.
type Options struct {
	// Name prefixes every object's name (default "plimsoll", the chart's
	// release name).
	Name string
	// Modes are the modes to bind (default: enforce, warn and audit).
	Modes []admission.Mode
	// ModeLabel is the namespace label that selects the mode (default
	// plimsoll.dev/mode).
	ModeLabel string
	// ExcludedNamespaces are never judged, besides kube-system,
	// kube-public and kube-node-lease.
	ExcludedNamespaces []string
	// Scope says whether namespaces without the mode label are judged:
	// not in opt-in scope (the default), in DefaultMode (warn unless set)
	// in cluster scope — as the chart's values scope and defaultMode.
	Scope       admission.Scope
	DefaultMode admission.Mode
	// DryRun binds audit alone, in every namespace the scope selects
	// whatever its label, as the chart's dryRun.
	DryRun bool
}

// AlwaysExcluded are the namespaces no binding selects, as the chart's
// entries exclude them.
var AlwaysExcluded = []string{"kube-node-lease", "kube-public", "kube-system"}

// Result is what Export makes of a policy.
type Result struct {
	// Policies and Bindings implement the exported rules.
	Policies []*admissionregistrationv1.ValidatingAdmissionPolicy
	Bindings []*admissionregistrationv1.ValidatingAdmissionPolicyBinding
	// Exported are the IDs of the rules the policies carry.
	Exported []string
	// WebhookOnly are the rules the policy turns on that stay with the
	// webhook, each with why.
	WebhookOnly []Fallback
	// Mutating and MutatingBindings write the exported defaults (none
	// when the policy turns no family of defaults on).
	Mutating         []*admissionregistrationv1.MutatingAdmissionPolicy
	MutatingBindings []*admissionregistrationv1.MutatingAdmissionPolicyBinding
	// Defaults are the families of defaults the mutating policy writes,
	// in the order /mutate applies them.
	Defaults []string
	// DefaultsWebhookOnly are the families the policy turns on that only
	// the webhook writes, each with why.
	DefaultsWebhookOnly []Fallback
}

// A Fallback is a rule left to the webhook.
type Fallback struct {
	Rule   string
	Reason string
}

// The groups of validations, one policy each: error rules (Deny in
// enforce), their ratcheted violations (Warn), warning rules (Warn).
const (
	groupError       = "error"
	groupPreexisting = "preexisting"
	groupWarning     = "warning"
)

// Export compiles p into admission policies: every rule it turns on that
// has an in-process form and whose exemptions CEL can express.
func Export(p *policy.Policy, o Options) (*Result, error) {
	if o.Name == "" {
		o.Name = "plimsoll"
	}
	if len(o.Modes) == 0 {
		o.Modes = admission.ServedModes
	}
	if o.ModeLabel == "" {
		o.ModeLabel = admission.ModeLabel
	}
	if o.Scope == "" {
		o.Scope = admission.ScopeOptIn
	}
	if _, err := admission.ParseScope(string(o.Scope)); err != nil {
		return nil, err
	}
	if o.DefaultMode == "" {
		o.DefaultMode = admission.Warn
	}
	if !slices.Contains(admission.ServedModes, o.DefaultMode) {
		return nil, fmt.Errorf("default mode %q: want enforce, warn or audit", o.DefaultMode)
	}
	if o.DryRun {
		if !slices.Contains(o.Modes, admission.Audit) {
			return nil, fmt.Errorf("dry run binds audit alone: leave the mode unset or audit, not %v", o.Modes)
		}
		o.Modes = []admission.Mode{admission.Audit}
	}
	for _, m := range o.Modes {
		if !slices.Contains(admission.ServedModes, m) {
			return nil, fmt.Errorf("mode %q: want enforce, warn or audit", m)
		}
	}
	res := &Result{}
	type key struct {
		group   string
		subject subject
	}
	groups := map[key][]admissionregistrationv1.Validation{}
	for _, r := range validate.Registry() {
		sev := p.Severity(r.ID, r.Severity)
		if sev == policy.Off {
			continue
		}
		f, ok := formFor(r.ID, p)
		if !ok {
			res.WebhookOnly = append(res.WebhookOnly, Fallback{r.ID, whyNot(r)})
			continue
		}
		exempt, why := exemptions(p, r.ID, f.subject)
		if why != "" {
			res.WebhookOnly = append(res.WebhookOnly, Fallback{r.ID, why})
			continue
		}
		res.Exported = append(res.Exported, r.ID)
		if len(f.checks) == 0 {
			continue // nothing to check under this policy (no labels required)
		}
		_, overridden := p.Rules[r.ID]
		errors, warnings := f.bySeverity(sev, overridden)
		if len(errors.checks) > 0 {
			groups[key{groupError, f.subject}] = append(groups[key{groupError, f.subject}],
				errors.split(func(f form) admissionregistrationv1.Validation { return f.validation(r.ID, exempt, true) })...)
			groups[key{groupPreexisting, f.subject}] = append(groups[key{groupPreexisting, f.subject}],
				errors.split(func(f form) admissionregistrationv1.Validation { return f.preexisting(r.ID, exempt) })...)
		}
		if len(warnings.checks) > 0 {
			groups[key{groupWarning, f.subject}] = append(groups[key{groupWarning, f.subject}],
				warnings.split(func(f form) admissionregistrationv1.Validation { return f.validation(r.ID, exempt, false) })...)
		}
	}
	for _, k := range []key{
		{groupError, podTemplates}, {groupPreexisting, podTemplates}, {groupWarning, podTemplates},
		{groupError, budgets}, {groupPreexisting, budgets}, {groupWarning, budgets},
		{groupError, autoscalers}, {groupPreexisting, autoscalers}, {groupWarning, autoscalers},
	} {
		g := k.group
		if len(groups[k]) == 0 {
			continue
		}
		name := o.Name + "-" + g
		if k.subject != podTemplates {
			name += "-" + string(k.subject)
		}
		var conditions []admissionregistrationv1.MatchCondition
		if g == groupPreexisting {
			// What the old object already broke: there is none on CREATE,
			// which then costs nothing here.
			conditions = []admissionregistrationv1.MatchCondition{{Name: "update", Expression: "request.operation == 'UPDATE'"}}
		}
		res.Policies = append(res.Policies, &admissionregistrationv1.ValidatingAdmissionPolicy{
			TypeMeta:   metav1.TypeMeta{APIVersion: "admissionregistration.k8s.io/v1", Kind: "ValidatingAdmissionPolicy"},
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels(o)},
			Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
				MatchConstraints: matchOf(k.subject),
				// An expression that cannot be evaluated (an object over
				// the cost budget: thousands of containers, an image name
				// of megabytes) fails as a violation would, and the
				// binding's action decides: denied in enforce, warned
				// about in warn, recorded in audit — the webhook's own
				// failure semantics. Failing open would let a tenant walk
				// around a rule with an object too costly to judge.
				FailurePolicy:   ptr(admissionregistrationv1.Fail),
				MatchConditions: conditions,
				Variables:       variablesOf(k.subject),
				Validations:     groups[k],
			},
		})
		for _, m := range o.Modes {
			res.Bindings = append(res.Bindings, binding(o, name, m, action(g, m)))
		}
	}
	ds, left := defaulters(p.Defaults)
	res.DefaultsWebhookOnly = left
	if len(ds) > 0 {
		for _, d := range ds {
			res.Defaults = append(res.Defaults, string(d.family))
		}
		pol, bindings := mutatingPolicy(p, o, ds)
		res.Mutating = append(res.Mutating, pol)
		res.MutatingBindings = bindings
	}
	return res, nil
}

// action is what a violation of group g does in mode m.
func action(g string, m admission.Mode) admissionregistrationv1.ValidationAction {
	switch {
	case m == admission.Audit:
		return admissionregistrationv1.Audit
	case m == admission.Enforce && g == groupError:
		return admissionregistrationv1.Deny
	default:
		return admissionregistrationv1.Warn
	}
}

func labels(o Options) map[string]string {
	return map[string]string{"app.kubernetes.io/name": "plimsoll", "app.kubernetes.io/instance": o.Name, "app.kubernetes.io/component": "admission-policy"}
}

// binding binds policy name in the namespaces of mode m.
func binding(o Options, name string, m admission.Mode, a admissionregistrationv1.ValidationAction) *admissionregistrationv1.ValidatingAdmissionPolicyBinding {
	return &admissionregistrationv1.ValidatingAdmissionPolicyBinding{
		TypeMeta:   metav1.TypeMeta{APIVersion: "admissionregistration.k8s.io/v1", Kind: "ValidatingAdmissionPolicyBinding"},
		ObjectMeta: metav1.ObjectMeta{Name: name + "-" + string(m), Labels: labels(o)},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        name,
			MatchResources:    &admissionregistrationv1.MatchResources{NamespaceSelector: namespaceSelector(o, m)},
			ValidationActions: []admissionregistrationv1.ValidationAction{a},
		},
	}
}

// namespaceSelector selects the namespaces of mode m, but those never
// judged, as the chart's webhook entry of that mode selects them: those
// labelled m; in cluster scope, those without the label too when m is
// the default mode; with dry run, every namespace the scope selects.
func namespaceSelector(o Options, m admission.Mode) *metav1.LabelSelector {
	excluded := slices.Concat(AlwaysExcluded, o.ExcludedNamespaces)
	slices.Sort(excluded)
	excluded = slices.Compact(excluded)
	mode := metav1.LabelSelectorRequirement{Key: o.ModeLabel, Operator: metav1.LabelSelectorOpIn, Values: []string{string(m)}}
	switch {
	case o.DryRun && o.Scope == admission.ScopeCluster:
		mode.Operator, mode.Values = metav1.LabelSelectorOpNotIn, []string{string(admission.Off)}
	case o.DryRun:
		mode.Values = []string{string(admission.Enforce), string(admission.Warn), string(admission.Audit)}
	case o.Scope == admission.ScopeCluster && m == o.DefaultMode:
		// NotIn matches a namespace without the label
		mode.Operator, mode.Values = metav1.LabelSelectorOpNotIn, nil
		for _, other := range []admission.Mode{admission.Enforce, admission.Warn, admission.Audit, admission.Off} {
			if other != m {
				mode.Values = append(mode.Values, string(other))
			}
		}
	}
	return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
		{Key: "kubernetes.io/metadata.name", Operator: metav1.LabelSelectorOpNotIn, Values: excluded},
		mode,
	}}
}

// variablesOf are the variables of the policies of subject s.
func variablesOf(s subject) []admissionregistrationv1.Variable {
	if s == podTemplates {
		return variables()
	}
	return nil
}

// matchOf matches what the chart's validating entries send of subject s:
// CREATE and UPDATE of Pods, their ephemeral containers and every kind
// with a pod template; of PodDisruptionBudgets; of HorizontalPodAutoscalers
// (v2, the version plimsoll decodes, others converted to it).
func matchOf(s subject) *admissionregistrationv1.MatchResources {
	rule := func(group, version string, resources ...string) admissionregistrationv1.NamedRuleWithOperations {
		return admissionregistrationv1.NamedRuleWithOperations{RuleWithOperations: admissionregistrationv1.RuleWithOperations{
			Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
			Rule:       admissionregistrationv1.Rule{APIGroups: []string{group}, APIVersions: []string{version}, Resources: resources, Scope: ptr(admissionregistrationv1.NamespacedScope)},
		}}
	}
	rules := []admissionregistrationv1.NamedRuleWithOperations{
		rule("", "v1", "pods", "pods/ephemeralcontainers", "replicationcontrollers"),
		rule("apps", "v1", "deployments", "statefulsets", "daemonsets", "replicasets"),
		rule("batch", "v1", "jobs", "cronjobs"),
	}
	switch s {
	case budgets:
		rules = []admissionregistrationv1.NamedRuleWithOperations{rule("policy", "v1", "poddisruptionbudgets")}
	case autoscalers:
		rules = []admissionregistrationv1.NamedRuleWithOperations{rule("autoscaling", "v2", "horizontalpodautoscalers")}
	}
	return &admissionregistrationv1.MatchResources{ResourceRules: rules, MatchPolicy: ptr(admissionregistrationv1.Equivalent)}
}

// bySeverity splits f into what it finds as errors and what as warnings:
// at the rule's severity sev, or at a check's own unless the policy sets
// the rule's (overridden), as the webhook weighs a finding.
func (f form) bySeverity(sev policy.Severity, overridden bool) (errors, warnings form) {
	errors.subject, warnings.subject = f.subject, f.subject
	for _, c := range f.checks {
		s := sev
		if c.severity != "" && !overridden {
			s = c.severity
		}
		if s == policy.Error {
			errors.checks = append(errors.checks, c)
		} else {
			warnings.checks = append(warnings.checks, c)
		}
	}
	return errors, warnings
}

// maxExpression is the size past which a rule's validation is split in
// two, each half of its checks: the API server refuses an expression of
// more than 100,000 code points, and a rule of many checks (probe-port's
// eighteen) ratcheted at error severity writes a message larger than
// that. Each half denies and warns on its own, with a message of its own
// first finding: the verdict is the same, and every message is still one
// the webhook writes.
const maxExpression = 80_000

// split is the validations that build makes of f: one, or, while one would be
// too large, those of each half of its checks.
func (f form) split(build func(form) admissionregistrationv1.Validation) []admissionregistrationv1.Validation {
	v := build(f)
	if len(f.checks) < 2 || (len(v.Expression) <= maxExpression && len(v.MessageExpression) <= maxExpression) {
		return []admissionregistrationv1.Validation{v}
	}
	a, b := f, f
	a.checks, b.checks = f.checks[:len(f.checks)/2], f.checks[len(f.checks)/2:]
	return append(a.split(build), b.split(build)...)
}

// validation is f as the validation of rule id: broken (with ratchet: in
// a way the old object was not) unless exempt.
func (f form) validation(id, exempt string, ratchet bool) admissionregistrationv1.Validation {
	message := "''"
	for i := len(f.checks) - 1; i >= 0; i-- {
		c := f.checks[i]
		which := "x"
		if c.list != "" {
			which = c.found("x", ratchet)
		}
		message = fmt.Sprintf("%s ? %s : %s", c.broken(ratchet), c.message(id, which), message)
	}
	broken := f.any(func(c check) string { return c.found("x", ratchet) })
	return admissionregistrationv1.Validation{
		Expression:        guard(exempt) + "!(" + broken + ")",
		MessageExpression: onlyIf(broken, message),
		Reason:            ptr(metav1.StatusReasonForbidden),
	}
}

// onlyIf is CEL: message where broken holds, else the empty string. The
// API server evaluates every messageExpression of a policy on every
// request, before it looks at which validations failed, and within what
// the validations left of the policy's CEL budget: a message that looked
// for its words check by check, one pass over a list for each, would cost
// a compliant object more than the validation, whose expression looks
// once for all the checks.
func onlyIf(broken, message string) string {
	return "!(" + broken + ") ? '' : (" + message + ")"
}

// preexisting is the validation of the violations of error rule id that
// the old object already had: warned about, never denied.
func (f form) preexisting(id, exempt string) admissionregistrationv1.Validation {
	message := "''"
	// was is CEL: c finds x (or the pod spec) at fault as the old object was.
	was := func(c check) string {
		if c.list == "" {
			return fmt.Sprintf("(%s) && %s", c.bad(""), c.preexisting(""))
		}
		return fmt.Sprintf("(%s) && %s", c.bad("x"), c.preexisting("x"))
	}
	for i := len(f.checks) - 1; i >= 0; i-- {
		c := f.checks[i]
		found := was(c)
		if c.list != "" {
			found = fmt.Sprintf("%s.exists(x, %s)", c.list, was(c))
		}
		message = fmt.Sprintf("%s ? %s + ' (already there before this update, so not denied; please fix)' : %s", found, c.message(id, was(c)), message)
	}
	only := f.any(was)
	return admissionregistrationv1.Validation{
		Expression:        guard(exempt) + "!(" + only + ")",
		MessageExpression: onlyIf(only, message),
	}
}

// any is CEL: one of f's checks finds something, by find (CEL over x, an
// item of the check's list; over the pod spec for a check without one).
// The checks of one list share one pass over it: a rule of ten checks on
// containers costs one loop per container list, not ten.
func (f form) any(find func(c check) string) string {
	var terms []string
	byList := map[string][]string{}
	var lists []string
	for _, c := range f.checks {
		if c.list == "" {
			terms = append(terms, "("+find(c)+")")
			continue
		}
		if _, seen := byList[c.list]; !seen {
			lists = append(lists, c.list)
		}
		byList[c.list] = append(byList[c.list], "("+find(c)+")")
	}
	for _, l := range lists {
		terms = append(terms, fmt.Sprintf("%s.exists(x, %s)", l, strings.Join(byList[l], " || ")))
	}
	return strings.Join(terms, " || ")
}

// guard is exempt as the start of an expression that passes when it holds.
func guard(exempt string) string {
	if exempt == "" {
		return ""
	}
	return "(" + exempt + ") || "
}

// exemptions is CEL that holds when p exempts the object (of the kinds
// of subject of) from rule id, and
// why the rule must stay with the webhook if an exemption that lifts it
// selects what CEL cannot see as the webhook does.
func exemptions(p *policy.Policy, id string, of subject) (cel, why string) {
	var terms []string
	for i, e := range p.Exemptions {
		if len(e.Rules) > 0 && !slices.Contains(e.Rules, id) {
			continue
		}
		switch {
		case e.Expires != nil:
			return "", fmt.Sprintf("exemption %d (%s) expires, and an admission policy cannot tell the time", i, e.Reason)
		case len(e.Names) > 0 || len(e.Kinds) > 0:
			return "", fmt.Sprintf("exemption %d (%s) selects by name or kind, which a Pod answers to through the workload that made it, as only the webhook can tell", i, e.Reason)
		case len(e.Images) > 0:
			return "", fmt.Sprintf("exemption %d (%s) lifts findings by image, container by container", i, e.Reason)
		case len(e.Namespaces) == 0:
			return "true", "" // every object
		}
		re := make([]string, 0, len(e.Namespaces))
		for _, g := range e.Namespaces {
			re = append(re, globRegexp(g))
		}
		terms = append(terms, fmt.Sprintf("request.namespace.matches(%s)", celString("^(?:"+strings.Join(re, "|")+")$")))
	}
	// The annotation is read on Pods and pod templates only, as the
	// webhook reads it: a budget or an autoscaler has no Pods to carry it.
	if p.AllowAnnotationExemptions && of == podTemplates {
		terms = append(terms, fmt.Sprintf("(%s in variables.podAnnotations && variables.podAnnotations[%s].split(',').exists(r, r.trim() == '*' || r.trim() == %s))",
			celString(policy.ExemptAnnotation), celString(policy.ExemptAnnotation), celString(id)))
	}
	return strings.Join(terms, " || "), ""
}

// globRegexp is the RE2 of path.Match's glob g (on a name without '/').
func globRegexp(g string) string {
	var b strings.Builder
	for i := 0; i < len(g); i++ {
		switch c := g[i]; c {
		case '*':
			b.WriteString("[^/]*")
		case '?':
			b.WriteString("[^/]")
		case '[':
			j := strings.IndexByte(g[i:], ']')
			if j < 0 {
				b.WriteString(`\[`)
				continue
			}
			// path.Match's classes ([a-z], [^0-9], \ escapes) are RE2's
			b.WriteString(g[i : i+j+1])
			i += j
		case '\\':
			if i+1 < len(g) {
				i++
			}
			b.WriteString(regexp.QuoteMeta(string(g[i])))
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	return b.String()
}

// whyNot says why rule r has no in-process form.
func whyNot(r *validate.Rule) string {
	switch {
	case r.Context():
		return "reads other objects (a context rule): an admission policy sees only the object, its old version and its namespace"
	case r.InContext != nil:
		return "judged with the objects around it where the webhook knows them (an autoscaler, a budget), which an admission policy cannot see"
	default:
		if why, ok := notYet[r.ID]; ok {
			return why
		}
		return "no in-process form yet: judged by the webhook"
	}
}

// notYet says why some rules of a single object have no in-process form.
var notYet = map[string]string{
	"secret-env":        "finds secrets by decoding values (a JSON Web Token's header is base64 JSON) and reads at most 64 KiB of each, which CEL cannot do alike",
	"configmap-secrets": "finds secrets by decoding values (a JSON Web Token's header is base64 JSON) and reads at most 64 KiB of each, which CEL cannot do alike",
}

func ptr[T any](v T) *T { return &v }
