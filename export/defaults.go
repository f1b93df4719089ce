package export

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/plimsoll/plimsoll/admission"
	"github.com/plimsoll/plimsoll/mutate"
	"github.com/plimsoll/plimsoll/policy"
)

// The defaults' in-process form: one MutatingAdmissionPolicy that writes
// on a Pod's CREATE what /mutate writes, field for field, and records it
// in the plimsoll.dev/mutations annotation as /mutate does. It runs in
// the API server before the mutating webhooks (so, with both installed,
// the webhook finds nothing left to write), and is bound in enforce and
// warn only: in audit the webhook computes the defaults without applying
// them, which an admission policy cannot say.

// A defaulter is the in-process form of one family of defaults
// (default_<family>.go).
type defaulter struct {
	family mutate.Family
	// walks, when set, is the CEL condition over the container c that a
	// container of list l must meet for the family to write on it (nil:
	// every container).
	walks func(l mutationList) string
	// binds are CEL values of the container c computed once per
	// container, by name, for walks' condition and the leaves to use.
	binds []bind
	// leaves are the fields it writes on a container c; pod the fields
	// it writes on the pod spec itself.
	leaves, pod []leaf
}

// A bind names the value of a CEL expression (CEL has no let: bound as
// [expr].map(name, body)[0]).
type bind struct{ name, expr string }

// let is CEL: body with each of binds bound, in order.
func let(binds []bind, body string) string {
	for i := len(binds) - 1; i >= 0; i-- {
		body = fmt.Sprintf("[%s].map(%s, %s)[0]", binds[i].expr, binds[i].name, body)
	}
	return body
}

// A leaf is one field a default writes.
type leaf struct {
	// when is CEL over the container c (or the pod spec, through
	// variables.spec): the field is written.
	when string
	// path is the field's JSON pointer under the container or the pod
	// spec, without the leading slash ("resources/limits/cpu").
	path string
	// value is CEL: what is written.
	value string
	// stage orders the mutations a family's leaves are written in: one
	// mutation per stage, each with a CEL budget of its own, in
	// ascending order, each finding the Pod as the stages before left it
	// (a stage's condition must give the same on that Pod as on the Pod
	// as sent).
	stage int
}

// A mutationList is a container list that defaults are written on: init
// containers (sidecars among them) first, then containers, the order in
// which /mutate walks them and names them in its annotation. Ephemeral
// containers are never defaulted.
type mutationList struct {
	name     string // the variable and the list's field name
	sidecars bool   // its members may be restartable sidecars
}

var mutationLists = []mutationList{
	{name: "initContainers", sidecars: true},
	{name: "containers"},
}

// cond is CEL: d writes on the container c of list l.
func (d defaulter) cond(l mutationList) string {
	if d.walks == nil {
		return "true"
	}
	return d.walks(l)
}

// dueOn is CEL: d has something to write on the container c of list l.
func (d defaulter) dueOn(l mutationList) string {
	return let(d.binds, fmt.Sprintf("(%s) && (%s)", d.cond(l), tree(d.leaves).due()))
}

// defaulters are the families of defaults with an in-process form, in the
// order /mutate applies them, given the policy's defaults; and the
// families p turns on that stay with the webhook, with why.
func defaulters(d policy.Defaults) ([]defaulter, []Fallback) {
	var out []defaulter
	if d.Resources.Enabled {
		out = append(out, resourcesDefaulter(d.Resources))
	}
	if d.Probes.Enabled {
		out = append(out, probesDefaulter(d.Probes))
	}
	if d.SecurityContext.Enabled {
		out = append(out, securityContextDefaulter(d.SecurityContext))
	}
	var left []Fallback
	if t := d.ServiceAccountToken; t != nil && !*t {
		left = append(left, Fallback{string(mutate.ServiceAccountToken), "reads the Pod's ServiceAccount, which an admission policy cannot see"})
	}
	return out, left
}

// mutationVariables are the variables of the defaults' policy: the
// common ones, then per family the names of what it writes on, then what
// the annotation records.
func mutationVariables(p *policy.Policy, ds []defaulter) []admissionregistrationv1.Variable {
	vars := commonVariables(p)
	var fresh []string
	for _, d := range ds {
		var names []string
		for _, l := range mutationLists {
			if len(d.leaves) > 0 {
				names = append(names, fmt.Sprintf("variables.%s.transformList(i, c, %s, c.name)", l.name, d.dueOn(l)))
			}
		}
		containers := string(d.family) + "Containers"
		vars = append(vars, admissionregistrationv1.Variable{Name: containers, Expression: strings.Join(names, " + ")})
		// The names are the containers' (unique in a Pod), and "pod" for
		// the pod spec, once: a container may be called pod.
		namesExpr := "variables." + containers
		if len(d.pod) > 0 {
			namesExpr = fmt.Sprintf("variables.%s + ((%s) && !('pod' in variables.%s) ? ['pod'] : [])", containers, tree(d.pod).due(), containers)
		}
		vars = append(vars, admissionregistrationv1.Variable{Name: string(d.family) + "Names", Expression: namesExpr})
		fresh = append(fresh, fmt.Sprintf("'%s': variables.%sNames", d.family, d.family))
	}
	vars = append(vars,
		// What this call writes, by family: the names of the containers
		// (and "pod") it wrote on.
		admissionregistrationv1.Variable{Name: "fresh", Expression: "{" + strings.Join(fresh, ", ") + "}"},
		// What the annotation already records (an earlier call, or
		// whatever the Pod was sent with), as /mutate reads it: parts
		// separated by ';', each family=name,name. Merging it costs CEL
		// time in its size squared: one longer than mergeLimit is replaced
		// by what this call writes, so that no annotation a tenant writes
		// can run the policy out of its budget and the Pod out of its
		// defaults.
		admissionregistrationv1.Variable{Name: "recorded", Expression: fmt.Sprintf(
			"object.metadata.?annotations[?%[1]s].orValue('').size() > %[2]d ? [] : "+
				"object.metadata.?annotations[?%[1]s].orValue('').split(';').map(p, p.trim()).filter(p, p.indexOf('=') > 0)", celString(mutate.AnnotationKey), mergeLimit)},
		admissionregistrationv1.Variable{Name: "families", Expression: "(variables.recorded.map(p, p.substring(0, p.indexOf('='))) + " +
			"variables.fresh.filter(f, variables.fresh[f].size() > 0)).distinct().sort().filter(f, " + recordedOf("f") + ".size() > 0 || variables.fresh[?f].orValue([]).size() > 0)"},
		// Per family, the names recorded (each once), then those written
		// now that are not among them.
		admissionregistrationv1.Variable{Name: "annotation", Expression: "variables.families.map(f, [" + recordedOf("f") + ".distinct()].map(r, " +
			"f + '=' + (r + variables.fresh[?f].orValue([]).filter(n, !(n in r))).join(','))[0]).join('; ')"},
	)
	return vars
}

// anyDue is CEL: some family of ds has something to write on the Pod,
// with the common variables written out (a matchCondition has no
// variables). A Pod with nothing to default — most Pods, in a cluster
// that follows the policy — then costs the API server this expression
// alone, not the encoding and decoding of the Pod for every mutation.
func anyDue(p *policy.Policy, ds []defaulter) string {
	var terms []string
	for _, d := range ds {
		for _, l := range mutationLists {
			if len(d.leaves) > 0 {
				terms = append(terms, fmt.Sprintf("variables.%s.exists(c, %s)", l.name, d.dueOn(l)))
			}
		}
		if len(d.pod) > 0 {
			terms = append(terms, "("+tree(d.pod).due()+")")
		}
	}
	expr := strings.Join(terms, " || ")
	common := map[string]string{}
	for _, v := range commonVariables(p) {
		common[v.Name] = v.Expression
	}
	// A common variable may refer to an earlier one: written out until
	// none is left.
	for variableRef.MatchString(expr) {
		expr = variableRef.ReplaceAllStringFunc(expr, func(ref string) string {
			if e, ok := common[strings.TrimPrefix(ref, "variables.")]; ok {
				return "(" + e + ")"
			}
			panic("export: anyDue refers to " + ref + ", which is no common variable")
		})
	}
	return expr
}

var variableRef = regexp.MustCompile(`\bvariables\.[A-Za-z_][A-Za-z0-9_]*`)

// commonVariables are the variables every family's expressions may use.
func commonVariables(p *policy.Policy) []admissionregistrationv1.Variable {
	vars := []admissionregistrationv1.Variable{
		{Name: "spec", Expression: "object.spec"},
		{Name: "initContainers", Expression: listOf("object.spec", "initContainers")},
		{Name: "containers", Expression: listOf("object.spec", "containers")},
		// Linux-only fields are never written on a Windows Pod.
		{Name: "windows", Expression: "object.spec.?os.?name.orValue('') == 'windows'"},
		// A Pod that runs to completion gets no probes: a Job's Pod, when
		// the request comes from the controller that makes Job Pods.
		{Name: "batch", Expression: batchOf(p)},
	}
	for _, r := range resourceNames {
		vars = append(vars, admissionregistrationv1.Variable{Name: podBudgetVariable(r), Expression: podBudget(r)})
	}
	return vars
}

// The largest Pod the defaults' policy writes on: containers (init
// containers among them), their ports and the capabilities they add, in
// all. Each mutation costs the API server's CEL a few hundred units a
// container, and a few a port or capability, against a budget of a
// million an expression: these keep it under half (measured: 3,000
// containers of one port each fit, 5,000 do not).
const (
	maxContainers   = 2000
	maxPorts        = 4000
	maxCapabilities = 4000
)

// withinBudget is CEL: the Pod is no larger than the defaults' policy
// writes on.
var withinBudget = fmt.Sprintf("[object.spec.?initContainers.orValue([]) + object.spec.?containers.orValue([])].all(cs, cs.size() <= %d && "+
	"cs.map(c, c.?ports.orValue([]).size()).sum() <= %d && cs.map(c, c.?securityContext.?capabilities.?add.orValue([]).size()).sum() <= %d)",
	maxContainers, maxPorts, maxCapabilities)

// mergeLimit is the longest plimsoll.dev/mutations annotation merged with
// what the defaults' policy writes (about a hundred names).
const mergeLimit = 1024

// recordedOf is CEL: the names family f (a CEL string) records, in order,
// repeats included.
func recordedOf(f string) string {
	return fmt.Sprintf("variables.recorded.filter(p, p.substring(0, p.indexOf('=')) == %s).map(p, p.substring(p.indexOf('=') + 1).split(',')).flatten()"+
		".map(n, n.trim()).filter(n, n != '')", f)
}

// mutations are the JSON patches of the defaults' policy: first the
// annotation, computed from the Pod as sent, then each family's fields,
// one mutation each. Each mutation has a CEL budget of its own (the
// families write fields disjoint from each other's and from the
// annotation, so each finds the Pod as the previous left it, and writes
// what it would have on the Pod as sent): a Pod of thousands of
// containers stays within it.
func mutations(ds []defaulter) []admissionregistrationv1.Mutation {
	key := strings.NewReplacer("~", "~0", "/", "~1").Replace(mutate.AnnotationKey)
	annotation := "variables.fresh.exists(f, variables.fresh[f].size() > 0) ? (object.metadata.?annotations.hasValue() ? " +
		fmt.Sprintf("[JSONPatch{op: 'add', path: '/metadata/annotations/%s', value: variables.annotation}] : ", key) +
		fmt.Sprintf("[JSONPatch{op: 'add', path: '/metadata/annotations', value: {%s: variables.annotation} }]) : []", celString(mutate.AnnotationKey))
	out := []admissionregistrationv1.Mutation{jsonPatch(annotation)}
	for _, d := range ds {
		var stages []int
		for _, l := range slices.Concat(d.leaves, d.pod) {
			stages = append(stages, l.stage)
		}
		slices.Sort(stages)
		for _, stage := range slices.Compact(stages) {
			in := func(ls []leaf) []leaf {
				return slices.DeleteFunc(slices.Clone(ls), func(l leaf) bool { return l.stage != stage })
			}
			var parts []string
			for _, l := range mutationLists {
				if len(in(d.leaves)) == 0 {
					continue
				}
				base := fmt.Sprintf("'/spec/%s/' + string(i) + '/'", l.name)
				parts = append(parts, fmt.Sprintf("variables.%s.transformList(i, c, %s).flatten()", l.name, let(d.binds, fmt.Sprintf("(%s) ? %s : []", d.cond(l), tree(in(d.leaves)).patches("c", base)))))
			}
			if len(in(d.pod)) > 0 {
				parts = append(parts, tree(in(d.pod)).patches("variables.spec", "'/spec/'"))
			}
			out = append(out, jsonPatch(strings.Join(parts, " + ")))
		}
	}
	return out
}

func jsonPatch(expr string) admissionregistrationv1.Mutation {
	return admissionregistrationv1.Mutation{PatchType: admissionregistrationv1.PatchTypeJSONPatch, JSONPatch: &admissionregistrationv1.JSONPatch{Expression: expr}}
}

// tree is leaves as the objects they are written into. Its patches
// (CEL: on item, a container or the pod spec, at base, its JSON pointer
// ending in '/') write an object the item lacks whole, with just the
// fields due (one operation where a bare container needs several: the
// API server's CEL budget counts each); into an object the item has,
// each field due is added on its own.
func tree(leaves []leaf) *node {
	root := &node{}
	for _, l := range leaves {
		root.add(strings.Split(l.path, "/"), l)
	}
	return root
}

// A node is an object leaves are written into: the item itself (the
// root), or a field of it.
type node struct {
	path   string // under the item, "" for the root
	key    string // its field name
	leaves []leaf // the leaves written right in it, by their last segment
	kids   []*node
}

func (n *node) add(segs []string, l leaf) {
	if len(segs) == 1 {
		n.leaves = append(n.leaves, l)
		return
	}
	for _, k := range n.kids {
		if k.key == segs[0] {
			k.add(segs[1:], l)
			return
		}
	}
	k := &node{path: strings.TrimPrefix(n.path+"/"+segs[0], "/"), key: segs[0]}
	n.kids = append(n.kids, k)
	k.add(segs[1:], l)
}

// due is CEL: a leaf under n is to be written.
func (n *node) due() string {
	var terms []string
	for _, l := range n.leaves {
		terms = append(terms, "("+l.when+")")
	}
	for _, k := range n.kids {
		terms = append(terms, k.due())
	}
	return strings.Join(terms, " || ")
}

// whole is CEL: n as a map of the leaves due under it.
func (n *node) whole() string {
	var entries []string
	for _, l := range n.leaves {
		key := l.path[strings.LastIndex(l.path, "/")+1:]
		entries = append(entries, fmt.Sprintf("?%s: (%s) ? optional.of(dyn(%s)) : optional.none()", celString(key), l.when, l.value))
	}
	for _, k := range n.kids {
		entries = append(entries, fmt.Sprintf("?%s: (%s) ? optional.of(dyn(%s)) : optional.none()", celString(k.key), k.due(), k.whole()))
	}
	return "{" + strings.Join(entries, ", ") + "}"
}

// patches is CEL: the operations that write the leaves under n, which
// the item has.
func (n *node) patches(item, base string) string {
	var ops []string
	for _, l := range n.leaves {
		ops = append(ops, fmt.Sprintf("((%s) ? [%s] : [])", l.when, add(base+" + '"+l.path+"'", l.value)))
	}
	for _, k := range n.kids {
		present := item + ".?" + strings.ReplaceAll(k.path, "/", ".?") + ".hasValue()"
		ops = append(ops, fmt.Sprintf("(%s ? %s : ((%s) ? [%s] : []))", present, k.patches(item, base), k.due(), add(base+" + '"+k.path+"'", k.whole())))
	}
	return "(" + strings.Join(ops, " + ") + ")"
}

// add is CEL: the JSON patch operation that adds value at path (both
// CEL).
func add(path, value string) string {
	return fmt.Sprintf("JSONPatch{op: 'add', path: %s, value: %s }", path, value)
}

// batchOf is CEL: the Pod runs to completion as /mutate tells it — its
// controller is a Job, and the request comes from a controller p trusts
// to say so. Anyone else's ownerReference is believed about nothing.
func batchOf(p *policy.Policy) string {
	users := p.TrustedFor(metav1.OwnerReference{APIVersion: "batch/v1", Kind: "Job"})
	quoted := make([]string, 0, len(users))
	for _, u := range users {
		quoted = append(quoted, celString(u))
	}
	return "object.metadata.?ownerReferences.orValue([]).filter(r, r.?controller.orValue(false))" +
		".exists_one(r, true) && " + // no admission without exactly one controller: the API server refuses more
		"object.metadata.ownerReferences.filter(r, r.?controller.orValue(false))[0].kind == 'Job' && " +
		"object.metadata.ownerReferences.filter(r, r.?controller.orValue(false))[0].apiVersion.startsWith('batch/') && " +
		"request.userInfo.username in [" + strings.Join(quoted, ", ") + "]"
}

// mutatingPolicy is the defaults' policy of p, named name, and its
// bindings in the modes of o that apply defaults (enforce and warn).
func mutatingPolicy(p *policy.Policy, o Options, ds []defaulter) (*admissionregistrationv1.MutatingAdmissionPolicy, []*admissionregistrationv1.MutatingAdmissionPolicyBinding) {
	name := o.Name + "-defaults"
	pol := &admissionregistrationv1.MutatingAdmissionPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: "admissionregistration.k8s.io/v1", Kind: "MutatingAdmissionPolicy"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels(o)},
		Spec: admissionregistrationv1.MutatingAdmissionPolicySpec{
			// Pods on CREATE only, as the chart's mutating entries: never
			// a workload's template.
			MatchConstraints: &admissionregistrationv1.MatchResources{
				ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{RuleWithOperations: admissionregistrationv1.RuleWithOperations{
					Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
					Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}, Scope: ptr(admissionregistrationv1.NamespacedScope)},
				}}},
				MatchPolicy: ptr(admissionregistrationv1.Equivalent),
			},
			// A Pod the CEL cannot be evaluated on is admitted as sent:
			// the webhook, where installed, still defaults it.
			FailurePolicy: ptr(admissionregistrationv1.Ignore),
			// All or nothing: the API server keeps the mutations of a
			// policy that ran before one that failed, so a Pod whose
			// defaults could run any of them out of its CEL budget is
			// left as sent, not half defaulted under an annotation that
			// says otherwise.
			MatchConditions: []admissionregistrationv1.MatchCondition{
				{Name: "within-budget", Expression: withinBudget},
				{Name: "something-to-default", Expression: anyDue(p, ds)},
			},
			Variables: mutationVariables(p, ds),
			Mutations: mutations(ds),
			// Writing only what is unset, it is idempotent: safe to call
			// again after another plugin or webhook changed the Pod.
			ReinvocationPolicy: admissionregistrationv1.IfNeededReinvocationPolicy,
		},
	}
	var bindings []*admissionregistrationv1.MutatingAdmissionPolicyBinding
	for _, m := range o.Modes {
		if m == admission.Audit {
			continue // computed, not applied: the webhook's audit annotation says what
		}
		bindings = append(bindings, &admissionregistrationv1.MutatingAdmissionPolicyBinding{
			TypeMeta:   metav1.TypeMeta{APIVersion: "admissionregistration.k8s.io/v1", Kind: "MutatingAdmissionPolicyBinding"},
			ObjectMeta: metav1.ObjectMeta{Name: name + "-" + string(m), Labels: labels(o)},
			Spec: admissionregistrationv1.MutatingAdmissionPolicyBindingSpec{
				PolicyName:     name,
				MatchResources: &admissionregistrationv1.MatchResources{NamespaceSelector: namespaceSelector(o, m)},
			},
		})
	}
	return pol, bindings
}
