package export

import (
	"fmt"
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
	// walks says whether the family writes on the containers of list l,
	// and the CEL condition over the container c that one must meet
	// ("true": every container of the list).
	walks func(l mutationList) (cond string, ok bool)
	// leaves are the fields it writes on a container c; pod the fields
	// it writes on the pod spec itself.
	leaves, pod []leaf
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
}

// A mutationList is a container list that defaults are written on: init
// containers (sidecars among them) first, then containers, the order in
// which /mutate walks them and names them in its annotation. Ephemeral
// containers are never defaulted.
type mutationList struct {
	name     string // the variable and the list's field name
	upper    string // name, capitalised, for variable names built on it
	sidecars bool   // its members may be restartable sidecars
}

var mutationLists = []mutationList{
	{name: "initContainers", upper: "InitContainers", sidecars: true},
	{name: "containers", upper: "Containers"},
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
// common ones, then per family and container list the patches each
// container gets, then what the annotation records.
func mutationVariables(p *policy.Policy, ds []defaulter) []admissionregistrationv1.Variable {
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
	var fresh []string
	var all []string
	for _, d := range ds {
		var names []string
		for _, l := range mutationLists {
			cond, ok := d.walks(l)
			if !ok || len(d.leaves) == 0 {
				continue
			}
			v := string(d.family) + "On" + l.upper
			base := fmt.Sprintf("'/spec/%s/' + string(i) + '/'", l.name)
			vars = append(vars, admissionregistrationv1.Variable{
				Name:       v,
				Expression: fmt.Sprintf("variables.%s.transformList(i, c, (%s) ? %s : [])", l.name, cond, patches(d.leaves, "c", base)),
			})
			all = append(all, "variables."+v+".flatten()")
			names = append(names, fmt.Sprintf("variables.%s.transformList(i, c, variables.%s[i].size() > 0, c.name)", l.name, v))
		}
		if len(d.pod) > 0 {
			v := string(d.family) + "OnPod"
			vars = append(vars, admissionregistrationv1.Variable{Name: v, Expression: patches(d.pod, "variables.spec", "'/spec/'")})
			all = append(all, "variables."+v)
			names = append(names, fmt.Sprintf("(variables.%s.size() > 0 ? ['pod'] : [])", v))
		}
		vars = append(vars, admissionregistrationv1.Variable{Name: string(d.family) + "Names", Expression: strings.Join(names, " + ")})
		fresh = append(fresh, fmt.Sprintf("'%s': variables.%sNames", d.family, d.family))
	}
	vars = append(vars,
		admissionregistrationv1.Variable{Name: "patches", Expression: strings.Join(all, " + ")},
		// What this call writes, by family: the names of the containers
		// (and "pod") it wrote on.
		admissionregistrationv1.Variable{Name: "fresh", Expression: "{" + strings.Join(fresh, ", ") + "}"},
		// What the annotation already records (an earlier call, or
		// whatever the Pod was sent with), as /mutate reads it: parts
		// separated by ';', each family=name,name.
		admissionregistrationv1.Variable{Name: "recorded", Expression: fmt.Sprintf(
			"object.metadata.?annotations[?%s].orValue('').split(';').map(p, p.trim()).filter(p, p.indexOf('=') > 0)", celString(mutate.AnnotationKey))},
		admissionregistrationv1.Variable{Name: "families", Expression: "(variables.recorded.map(p, p.substring(0, p.indexOf('='))) + " +
			"variables.fresh.filter(f, variables.fresh[f].size() > 0)).distinct().sort().filter(f, " + namesOf("f") + ".size() > 0)"},
		admissionregistrationv1.Variable{Name: "annotation", Expression: "variables.families.map(f, f + '=' + " + namesOf("f") + ".join(',')).join('; ')"},
	)
	return vars
}

// namesOf is CEL: the names family f (a CEL string) records, those
// recorded first, then those written now, each once.
func namesOf(f string) string {
	return fmt.Sprintf("(variables.recorded.filter(p, p.substring(0, p.indexOf('=')) == %[1]s).map(p, p.substring(p.indexOf('=') + 1).split(',')).flatten()"+
		".map(n, n.trim()).filter(n, n != '') + variables.fresh[?%[1]s].orValue([])).distinct()", f)
}

// mutationExpression is the JSON patch of the defaults' policy: every
// default written, then the annotation when anything was.
func mutationExpression() string {
	key := strings.NewReplacer("~", "~0", "/", "~1").Replace(mutate.AnnotationKey)
	return "variables.patches.map(p, JSONPatch{op: 'add', path: string(p.path), value: p.value}) + " +
		"(variables.patches.size() == 0 ? [] : (object.metadata.?annotations.hasValue() ? " +
		fmt.Sprintf("[JSONPatch{op: 'add', path: '/metadata/annotations/%s', value: variables.annotation}] : ", key) +
		fmt.Sprintf("[JSONPatch{op: 'add', path: '/metadata/annotations', value: {%s: variables.annotation} }]))", celString(mutate.AnnotationKey))
}

// patches is CEL: the JSON patch that writes leaves on item (CEL: a
// container, or the pod spec) at base (CEL: its JSON pointer, ending in
// '/'). An object a leaf is written into that the item lacks is added
// first, empty.
func patches(leaves []leaf, item, base string) string {
	var parents []string
	under := map[string][]string{}
	for _, l := range leaves {
		segs := strings.Split(l.path, "/")
		for n := 1; n < len(segs); n++ {
			parent := strings.Join(segs[:n], "/")
			if _, seen := under[parent]; !seen {
				parents = append(parents, parent)
			}
			under[parent] = append(under[parent], "("+l.when+")")
		}
	}
	var ops []string
	for _, parent := range parents {
		present := item + ".?" + strings.ReplaceAll(parent, "/", ".?") + ".hasValue()"
		ops = append(ops, fmt.Sprintf("((%s) && !%s ? [%s] : [])", strings.Join(slices.Compact(under[parent]), " || "), present, add(base+" + '"+parent+"'", "{}")))
	}
	for _, l := range leaves {
		ops = append(ops, fmt.Sprintf("((%s) ? [%s] : [])", l.when, add(base+" + '"+l.path+"'", l.value)))
	}
	return "(" + strings.Join(ops, " + ") + ")"
}

// add is CEL: the JSON patch operation that adds value at path (both
// CEL), as a map: the type JSONPatch exists only in the mutation's own
// expression, which makes each into one. (A literal's values must have
// one type: dyn.)
func add(path, value string) string {
	return fmt.Sprintf("{'path': dyn(%s), 'value': dyn(%s)}", path, value)
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
			// A Pod the CEL cannot be evaluated on (over the cost budget)
			// is admitted as sent: the webhook, where installed, still
			// defaults it.
			FailurePolicy: ptr(admissionregistrationv1.Ignore),
			Variables:     mutationVariables(p, ds),
			Mutations: []admissionregistrationv1.Mutation{{
				PatchType: admissionregistrationv1.PatchTypeJSONPatch,
				JSONPatch: &admissionregistrationv1.JSONPatch{Expression: mutationExpression()},
			}},
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
