package export

import (
	"fmt"
	"strings"

	"github.com/plimsoll/plimsoll/policy"
)

// A form is a rule's in-process form: CEL over the variables of every
// exported policy (variables.go) that gives the webhook's verdict.
type form struct {
	// checks are the places the rule looks: each container of a kind, or
	// the pod spec. The rule is broken when any check finds something.
	checks []check
	// subject is what the rule judges: Pods and workloads (""), or
	// budgets or autoscalers, whose rules go in policies of their own.
	subject subject
}

// A subject is a family of kinds that exported policies match.
type subject string

const (
	podTemplates subject = ""
	budgets      subject = "budgets"
	autoscalers  subject = "autoscalers"
)

// A check finds one kind of violation of a rule.
type check struct {
	// list is the CEL list the check runs over ("variables.containers",
	// "variables.spec.volumes"...) and old the same list of the old object
	// on UPDATE; both empty for a check of the pod spec itself.
	list, old string
	// listPath is list's path under the pod spec ("containers").
	listPath string
	// subject names what is at fault in the message ("container", "init
	// container"...), followed by the item's name; "" for an item the
	// webhook reports as the pod spec's (a volume), whose problem then
	// names it.
	subject string
	// bad is true of an item (CEL variable x) that breaks the rule; for a
	// check of the pod spec, a CEL expression over variables.spec (x unused).
	bad func(x string) string
	// same is true when the old item o breaks the rule the same way as x
	// does (the webhook's ratchet: same rule, field and value); nil when
	// breaking it at all is the same way (a flag set to true).
	same func(o, x string) string
	// field is the path of the offending field under the item (or under
	// the pod spec), as the webhook names it.
	field string
	// problem is a CEL string expression over the item x (any CEL
	// expression of it): what is wrong, as the webhook says it ("runs
	// privileged").
	problem func(x string) string
	// fix says what to write instead (plain text); fixOf, when set, is
	// CEL instead: a string expression of the item x.
	fix   string
	fixOf func(x string) string
	// scope names the whole at fault when subject is "" ("pod spec" if
	// empty).
	scope string
	// path, when set, is a CEL string: the offending field's path, for
	// the first item at fault (an expression); by default the item's path
	// under the pod spec, then field.
	path func(first string) string
	// fieldOf, when set, is a CEL string: the offending field's path under
	// the item x, in place of field, where it depends on the item (the
	// port that binds a node's port, the volume's type).
	fieldOf func(x string) string
	// subjectOf, when set, is a CEL string naming the item x at fault as
	// the webhook does, in place of subject and its name (an AppArmor
	// annotation is said of the container it names, if there is one).
	subjectOf func(x string) string
	// severity, when set, is that of what the check finds in place of the
	// rule's (seccomp-profile: Unconfined is an error where unset is a
	// warning), as the webhook's Finding.Severity; a severity the policy
	// sets for the rule wins.
	severity policy.Severity
}

// The container lists of a pod spec, with the names the webhook gives
// their members.
var containerLists = []struct{ list, old, path, subject string }{
	{"variables.containers", "variables.oldContainers", "containers", "container"},
	{"variables.initContainers", "variables.oldInitContainers", "initContainers", "init container"},
	{"variables.ephemeralContainers", "variables.oldEphemeralContainers", "ephemeralContainers", "ephemeral container"},
}

// eachContainer is the checks of a rule that judges every container, init
// container and ephemeral container alone.
func eachContainer(c check) []check {
	out := make([]check, 0, len(containerLists))
	for _, l := range containerLists {
		k := c
		k.list, k.old, k.listPath, k.subject = l.list, l.old, l.path, l.subject
		if l.path == "initContainers" {
			k.subjectOf = func(x string) string { return containerKind(x) + " + ' \"' + " + x + ".name + '\"'" }
		}
		out = append(out, k)
	}
	return out
}

// containerKind is CEL: what the webhook calls init container x, a
// "sidecar container" when it restarts for the Pod's lifetime.
func containerKind(x string) string {
	return "(" + x + ".?restartPolicy.orValue('') == 'Always' ? 'sidecar container' : 'init container')"
}

// podSpec is the check of a rule that judges a field of the pod spec.
func podSpec(c check) check { c.list, c.old, c.listPath, c.subject = "", "", "", ""; return c }

// found is CEL: the check finds x (an item of its list) at fault, and, with
// ratchet, x is not as the old object already had it.
func (c check) found(x string, ratchet bool) string {
	e := c.bad(x)
	if ratchet {
		e = fmt.Sprintf("(%s) && !%s", e, c.preexisting(x))
	}
	return e
}

// preexisting is CEL: on UPDATE, the old object broke the rule the same
// way as x does. Items are matched by name (volumes and containers have
// unique names; the webhook matches by path, which is the same but for a
// list reordered in the update).
func (c check) preexisting(x string) string {
	if c.list == "" {
		return fmt.Sprintf("(request.operation == 'UPDATE' && oldObject != null && %s)", asOld.Replace(c.bad(x)))
	}
	// the old item, judged in the old object (its pod spec, labels,
	// replicas), as the webhook judges the old object whole
	same := asOld.Replace(c.bad("o"))
	if c.same != nil {
		same += " && " + c.same("o", x)
	}
	return fmt.Sprintf("%s.exists(o, o.name == %s.name && %s)", c.old, x, same)
}

// asOld rewrites CEL over the object — its own fields, and the variables
// of its pod spec, containers, volumes, labels and annotations — to read
// the old object's. (Budgets' and autoscalers' policies have no
// variables: their checks read object, and oldObject once rewritten.)
var asOld = strings.NewReplacer(
	"object.", "oldObject.",
	"variables.spec", "variables.oldSpec",
	"variables.containers", "variables.oldContainers",
	"variables.initContainers", "variables.oldInitContainers",
	"variables.ephemeralContainers", "variables.oldEphemeralContainers",
	"variables.volumes", "variables.oldVolumes",
	"variables.podLabels", "variables.oldPodLabels",
	"variables.podAnnotations", "variables.oldPodAnnotations",
)

// broken is CEL: the check finds a violation (with ratchet: one the old
// object did not have).
func (c check) broken(ratchet bool) string {
	if c.list == "" {
		return c.found("", ratchet)
	}
	return fmt.Sprintf("%s.exists(x, %s)", c.list, c.found("x", ratchet))
}

// message is a CEL string: the first violation the check finds (with
// ratchet: that is new; preexisting: that is not), as the webhook writes
// it — [rule] container "name" problem (field): fix.
func (c check) message(rule string, which string) string {
	head := "'[" + rule + "] "
	if c.list == "" {
		scope, path := c.scope, "variables.prefix + '."+c.field+"'"
		if scope == "" {
			scope = "pod spec"
		}
		if c.path != nil {
			path = c.path("")
		}
		return fmt.Sprintf("%s%s ' + %s + ' (' + %s + '): ' + %s", head, scope, c.problem(""), path, c.fixExpr(""))
	}
	// The items at fault, each named f in the message, of which the
	// first is said.
	first := "f"
	scope := c.scope
	if scope == "" {
		scope = "pod spec"
	}
	subject := scope + " '"
	switch {
	case c.subjectOf != nil:
		subject = "' + " + c.subjectOf(first) + " + ' '"
	case c.subject != "":
		subject = fmt.Sprintf("%s \"' + %s.name + '\" '", c.subject, first)
	}
	// the item's path, then its field: written out, or an expression
	field := under(c.field) + "'"
	if c.fieldOf != nil {
		field = ".' + " + c.fieldOf(first)
	}
	path := fmt.Sprintf("variables.prefix + '.%s[' + string(%s.map(x, x.name).indexOf(%s.name)) + ']%s", c.listPath, c.list, first, field)
	if c.path != nil {
		path = c.path(first)
	}
	// Only the first is said, so only the first is put into words: a
	// message of every item at fault, each looking its index up, would
	// cost the square of the list's length.
	return fmt.Sprintf("[%s.filter(x, %s)[0]].map(f, %s%s + %s + ' (' + %s + '): ' + %s)[0]",
		c.list, which, head, subject, c.problem(first), path, c.fixExpr(first))
}

// fixExpr is CEL: what the message says to write instead, for item x.
func (c check) fixExpr(x string) string {
	if c.fixOf != nil {
		return c.fixOf(x)
	}
	return celString(c.fix)
}

// under is ".field", or "" for the item itself.
func under(field string) string {
	if field == "" {
		return ""
	}
	return "." + field
}

// celText escapes s for a single-quoted CEL string.
func celText(s string) string {
	return strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`).Replace(s)
}

// sprintf is fmt.Sprintf, for CEL templates.
func sprintf(format string, a ...any) string { return fmt.Sprintf(format, a...) }

// celString is s as a single-quoted CEL string literal.
func celString(s string) string { return "'" + celText(s) + "'" }
