package chart

import (
	"fmt"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/plimsoll/plimsoll/admission"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	psaapi "k8s.io/pod-security-admission/api"
	psapolicy "k8s.io/pod-security-admission/policy"
)

// policyOf returns the ValidatingAdmissionPolicy name among objs and its
// binding, failing the test unless the binding exists, names it, denies
// and narrows nothing.
func policyOf(t *testing.T, what string, objs []Object, name string) *admissionregistrationv1.ValidatingAdmissionPolicy {
	t.Helper()
	p := Find(objs, "ValidatingAdmissionPolicy", name)
	b := Find(objs, "ValidatingAdmissionPolicyBinding", name)
	if p == nil || b == nil {
		t.Fatalf("%s: no ValidatingAdmissionPolicy and binding %s", what, name)
	}
	binding := b.Typed.(*admissionregistrationv1.ValidatingAdmissionPolicyBinding)
	if binding.Spec.PolicyName != name || !slices.Equal(binding.Spec.ValidationActions, []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny}) ||
		binding.Spec.MatchResources != nil || binding.Spec.ParamRef != nil {
		t.Errorf("%s: binding %s: %+v; want the policy %s, validationActions [Deny], nothing narrowed", what, name, binding.Spec, name)
	}
	policy := p.Typed.(*admissionregistrationv1.ValidatingAdmissionPolicy)
	if policy.Spec.FailurePolicy == nil || *policy.Spec.FailurePolicy != admissionregistrationv1.Fail {
		t.Errorf("%s: %s must fail closed: a policy that cannot be evaluated must not let the request through", what, name)
	}
	return policy
}

// kustomizeBuild builds config/<dir> and decodes it.
func kustomizeBuild(t *testing.T, dir string) []Object {
	t.Helper()
	root, _ := RepoRoot()
	out, err := Kustomize(filepath.Join(root, "config", dir))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := Decode(out)
	if err != nil {
		t.Fatalf("config/%s: %v", dir, err)
	}
	return objs
}

// The chart, in every TLS mode and scope, and both kustomize overlays ship
// the policy that refuses a plimsoll.dev/mode that is no mode, with a
// message naming the four; admissionPolicies.modeLabel=false leaves it out.
// (test/e2e TestModeLabelPolicy shows the API server refusing with it.)
func TestModeLabelPolicyIsShipped(t *testing.T) {
	modes := append(slices.Clone(admission.ServedModes), admission.Off)
	var quoted, plain []string
	for _, m := range modes {
		quoted = append(quoted, "'"+string(m)+"'")
		plain = append(plain, string(m))
	}
	check := func(what string, objs []Object, name string) {
		t.Helper()
		p := policyOf(t, what, objs, name)
		rules := p.Spec.MatchConstraints.ResourceRules
		if len(rules) != 1 || !slices.Equal(rules[0].APIGroups, []string{""}) || !slices.Equal(rules[0].Resources, []string{"namespaces"}) ||
			!slices.Equal(rules[0].Operations, []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update}) {
			t.Errorf("%s: %s matches %+v; want CREATE and UPDATE of namespaces", what, name, rules)
		}
		if len(p.Spec.Validations) != 1 {
			t.Fatalf("%s: %s has %d validations", what, name, len(p.Spec.Validations))
		}
		v := p.Spec.Validations[0]
		if !strings.Contains(v.Expression, "["+strings.Join(quoted, ", ")+"]") {
			t.Errorf("%s: %s does not accept exactly plimsoll's modes %v: %s", what, name, modes, v.Expression)
		}
		if !strings.Contains(v.MessageExpression, strings.Join(plain, ", ")) || !strings.Contains(v.MessageExpression, "variables.mode.value()") {
			t.Errorf("%s: %s's message does not name the bad value and the modes: %s", what, name, v.MessageExpression)
		}
		if !slices.ContainsFunc(p.Spec.Variables, func(x admissionregistrationv1.Variable) bool {
			return x.Name == "mode" && strings.Contains(x.Expression, "'"+admission.ModeLabel+"'")
		}) {
			t.Errorf("%s: %s does not read the label %s: %+v", what, name, admission.ModeLabel, p.Spec.Variables)
		}
	}
	for _, flags := range [][]string{
		nil,
		{"--set", "scope=cluster", "--set", "tls.mode=certManager"},
		{"--set", "dryRun=true", "--set", "tls.mode=existingSecret", "--set", "tls.existingSecret.name=x", "--set-file", "tls.existingSecret.caBundle=" + testCAFile(t)},
	} {
		check(fmt.Sprintf("the chart with %v", flags), render(t, "plimsoll", "plimsoll-system", flags...), "plimsoll-mode-label")
	}
	check("the chart as release acme", render(t, "acme", "guard"), "acme-plimsoll-mode-label")
	for _, overlay := range []string{"overlays/default", "overlays/cert-manager"} {
		check("config/"+overlay, kustomizeBuild(t, overlay), "plimsoll-mode-label")
	}
	off := render(t, "plimsoll", "plimsoll-system", "--set", "admissionPolicies.modeLabel=false")
	if Find(off, "ValidatingAdmissionPolicy", "plimsoll-mode-label") != nil || Find(off, "ValidatingAdmissionPolicyBinding", "plimsoll-mode-label") != nil {
		t.Error("admissionPolicies.modeLabel=false still renders the policy")
	}
}

// jsonFields are the JSON names of the fields of the struct type of v.
func jsonFields(v any) []string {
	var out []string
	typ := reflect.TypeOf(v)
	for i := range typ.NumField() {
		name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
		out = append(out, name)
	}
	return out
}

// With self-managed TLS, the chart (and config/overlays/default) ship a
// policy per webhook configuration kind that binds plimsoll's own service
// account (the one its Deployment runs as and its RBAC names) and compares
// every field of every webhook of that kind in k8s.io/api — but caBundle —
// with the stored object: when a Kubernetes update adds a field, this test
// names it. (test/e2e TestWebhookConfigurationPolicy shows the API server
// refusing and admitting with them.)
func TestWebhookConfigurationPolicyIsShipped(t *testing.T) {
	kinds := map[string]any{
		"mutating":   admissionregistrationv1.MutatingWebhook{},
		"validating": admissionregistrationv1.ValidatingWebhook{},
	}
	check := func(what string, objs []Object, namespace, fullname string) {
		t.Helper()
		d := Find(objs, "Deployment", fullname).Typed.(*appsv1.Deployment)
		sa := d.Spec.Template.Spec.ServiceAccountName
		username := "system:serviceaccount:" + namespace + ":" + sa
		for _, kind := range []string{"RoleBinding", "ClusterRoleBinding"} {
			var subjects []rbacv1.Subject
			switch b := Find(objs, kind, fullname+"-tls").Typed.(type) {
			case *rbacv1.RoleBinding:
				subjects = b.Subjects
			case *rbacv1.ClusterRoleBinding:
				subjects = b.Subjects
			}
			if len(subjects) != 1 || subjects[0].Kind != "ServiceAccount" || subjects[0].Namespace+":"+subjects[0].Name != namespace+":"+sa {
				t.Errorf("%s: %s %s-tls binds %+v, not the Deployment's service account %s", what, kind, fullname, subjects, sa)
			}
		}
		for short, typ := range kinds {
			name := fullname + "-" + short + "-cabundle-only"
			p := policyOf(t, what, objs, name)
			rules := p.Spec.MatchConstraints.ResourceRules
			if len(rules) != 1 || !slices.Equal(rules[0].Resources, []string{short + "webhookconfigurations"}) ||
				!slices.Equal(rules[0].Operations, []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update, admissionregistrationv1.Delete}) {
				t.Errorf("%s: %s matches %+v; want CREATE, UPDATE and DELETE of %swebhookconfigurations", what, name, rules, short)
			}
			if len(p.Spec.MatchConditions) != 1 || p.Spec.MatchConditions[0].Expression != "request.userInfo.username == '"+username+"'" {
				t.Errorf("%s: %s binds %+v; want request.userInfo.username == '%s' alone", what, name, p.Spec.MatchConditions, username)
			}
			exprs := map[string]string{}
			for _, v := range p.Spec.Variables {
				exprs[v.Name] = v.Expression
			}
			var validations []string
			for _, v := range p.Spec.Validations {
				validations = append(validations, v.Expression)
			}
			want := []string{
				"request.operation == 'UPDATE' && request.name == '" + fullname + "'",
				"request.operation != 'UPDATE' || variables.onlyCABundleChanged",
				"request.operation != 'UPDATE' || variables.metadataUnchanged",
			}
			if !slices.Equal(validations, want) {
				t.Errorf("%s: %s validates %q, want %q", what, name, validations, want)
			}
			same := exprs["onlyCABundleChanged"]
			if !strings.HasPrefix(same, "variables.webhooks.map(w, w.name) == variables.oldWebhooks.map(w, w.name) && ") {
				t.Errorf("%s: %s does not hold the webhooks' names and order: %s", what, name, same)
			}
			var compared []string
			for _, m := range regexp.MustCompile(`w\.(clientConfig\.)?\?(\w+) == o\.(clientConfig\.)?\?(\w+)`).FindAllStringSubmatch(same, -1) {
				if m[1] != m[3] || m[2] != m[4] {
					t.Errorf("%s: %s compares %s with another field", what, name, m[0])
				}
				compared = append(compared, m[1]+m[2])
			}
			var fields []string
			for _, f := range jsonFields(typ) {
				switch f {
				case "name": // compared by the names' list
				case "clientConfig":
					for _, c := range jsonFields(admissionregistrationv1.WebhookClientConfig{}) {
						if c != "caBundle" {
							fields = append(fields, "clientConfig."+c)
						}
					}
				default:
					fields = append(fields, f)
				}
			}
			slices.Sort(fields)
			slices.Sort(compared)
			if !slices.Equal(fields, compared) {
				t.Errorf("%s: %s compares %v; the fields of %T but name and caBundle are %v", what, name, compared, typ, fields)
			}
			if strings.Contains(same, "caBundle") {
				t.Errorf("%s: %s compares the caBundle, which plimsoll must be able to write", what, name)
			}
			for _, f := range []string{"labels", "annotations", "ownerReferences", "finalizers"} {
				if !strings.Contains(exprs["metadataUnchanged"], "object.metadata.?"+f+" == oldObject.metadata.?"+f) {
					t.Errorf("%s: %s does not hold metadata.%s", what, name, f)
				}
			}
		}
	}
	check("the chart", render(t, "plimsoll", "plimsoll-system"), "plimsoll-system", "plimsoll")
	check("the chart as release acme", render(t, "acme", "guard", "--set", "scope=cluster"), "guard", "acme-plimsoll")
	check("config/overlays/default", kustomizeBuild(t, "overlays/default"), "plimsoll-system", "plimsoll")

	for what, objs := range map[string][]Object{
		"tls.mode certManager":                          render(t, "plimsoll", "plimsoll-system", "--set", "tls.mode=certManager"),
		"admissionPolicies.webhookConfigurations=false": render(t, "plimsoll", "plimsoll-system", "--set", "admissionPolicies.webhookConfigurations=false"),
		"config/overlays/cert-manager":                  kustomizeBuild(t, "overlays/cert-manager"),
	} {
		for _, o := range objs {
			if strings.HasSuffix(o.Name, "-cabundle-only") {
				t.Errorf("%s renders %s: plimsoll's service account writes no webhook configuration there", what, o.Key())
			}
		}
	}
}

// With self-managed TLS the chart and config/overlays/default create both
// Secrets, empty (plimsoll fills them in, so it needs no create), under
// the names the server is told and its Role allows.
func TestSelfManagedSecretsAreShippedEmpty(t *testing.T) {
	check := func(what string, objs []Object, namespace, fullname string) {
		t.Helper()
		args := Find(objs, "Deployment", fullname).Typed.(*appsv1.Deployment).Spec.Template.Spec.Containers[0].Args
		role := Find(objs, "Role", fullname+"-tls").Typed.(*rbacv1.Role)
		for flag, name := range map[string]string{"--tls-secret-name": fullname + "-tls", "--tls-ca-secret-name": fullname + "-tls-ca"} {
			if !slices.Contains(args, flag+"="+name) {
				t.Errorf("%s: plimsoll serve is not given %s=%s: %q", what, flag, name, args)
			}
			o := Find(objs, "Secret", name)
			if o == nil {
				t.Errorf("%s: no Secret %s", what, name)
				continue
			}
			s := o.Typed.(*corev1.Secret)
			if o.Namespace != namespace && o.Namespace != "" || s.Type != corev1.SecretTypeOpaque || s.Data != nil || s.StringData != nil {
				t.Errorf("%s: Secret %s: namespace %q, type %q, data %v %v; want an empty Opaque Secret in %s (data in the manifest would be reset by every upgrade)",
					what, name, o.Namespace, s.Type, s.Data, s.StringData, namespace)
			}
			if !slices.ContainsFunc(role.Rules, func(r rbacv1.PolicyRule) bool {
				return slices.Contains(r.ResourceNames, name) && slices.Contains(r.Verbs, "update") && slices.Contains(r.Verbs, "watch")
			}) {
				t.Errorf("%s: the Role does not let plimsoll get, watch and update %s: %+v", what, name, role.Rules)
			}
		}
	}
	check("the chart", render(t, "plimsoll", "plimsoll-system"), "plimsoll-system", "plimsoll")
	check("the chart as release acme", render(t, "acme", "guard"), "guard", "acme-plimsoll")
	check("config/overlays/default", kustomizeBuild(t, "overlays/default"), "plimsoll-system", "plimsoll")
	for _, mode := range []string{"certManager", "existingSecret"} {
		objs := render(t, "plimsoll", "plimsoll-system", "--set", "tls.mode="+mode, "--set", "tls.existingSecret.name=x", "--set-file", "tls.existingSecret.caBundle="+testCAFile(t))
		for _, o := range objs {
			if o.GVK.Kind == "Secret" {
				t.Errorf("tls.mode %s renders %s", mode, o.Key())
			}
		}
	}
}

// podTemplates returns the pod template of every Deployment and Job.
func podTemplates(objs []Object) map[string]*corev1.PodTemplateSpec {
	out := map[string]*corev1.PodTemplateSpec{}
	for _, o := range objs {
		switch w := o.Typed.(type) {
		case *appsv1.Deployment:
			out[o.Key()] = &w.Spec.Template
		case *batchv1.Job:
			out[o.Key()] = &w.Spec.Template
		}
	}
	return out
}

// Every Pod the chart and config/ run passes Pod Security `restricted`,
// at the version config/base/namespace.yaml enforces and at the latest, so
// plimsoll's namespace can enforce it; the Namespace of config/ does, with
// audit and warn at the latest. (Kubernetes' own Pod Security library
// judges; test/e2e TestPlimsollPodsPassRestricted has the API server do it.)
func TestPodsPassRestricted(t *testing.T) {
	eval, err := psapolicy.NewEvaluator(psapolicy.DefaultChecks(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ns := Find(kustomizeBuild(t, "overlays/default"), "Namespace", "plimsoll-system").Typed.(*corev1.Namespace)
	nsPolicy, errs := psaapi.PolicyToEvaluate(ns.Labels, psaapi.Policy{})
	if len(errs) > 0 {
		t.Fatalf("config/base/namespace.yaml: %v", errs)
	}
	restricted := func(v psaapi.Version) psaapi.LevelVersion {
		return psaapi.LevelVersion{Level: psaapi.LevelRestricted, Version: v}
	}
	for mode, lv := range map[string]psaapi.LevelVersion{"enforce": nsPolicy.Enforce, "audit": nsPolicy.Audit, "warn": nsPolicy.Warn} {
		if lv.Level != psaapi.LevelRestricted {
			t.Errorf("config/base/namespace.yaml: Pod Security %s is %s, want restricted", mode, lv)
		}
	}
	if nsPolicy.Enforce.Latest() || !nsPolicy.Audit.Latest() || !nsPolicy.Warn.Latest() {
		t.Errorf("config/base/namespace.yaml: enforce %s (want a pinned version), audit %s and warn %s (want latest)", nsPolicy.Enforce, nsPolicy.Audit, nsPolicy.Warn)
	}
	levels := []psaapi.LevelVersion{nsPolicy.Enforce, restricted(psaapi.LatestVersion())}

	sets := map[string][]Object{
		"config/overlays/default":      kustomizeBuild(t, "overlays/default"),
		"config/overlays/cert-manager": kustomizeBuild(t, "overlays/cert-manager"),
		"config/audit":                 kustomizeBuild(t, "audit"),
	}
	for _, mode := range []string{"selfManaged", "certManager", "existingSecret"} {
		sets["the chart with tls.mode "+mode] = render(t, "plimsoll", "plimsoll-system", "--set", "tls.mode="+mode, "--set", "audit.enabled=true",
			"--set", "tls.existingSecret.name=x", "--set-file", "tls.existingSecret.caBundle="+testCAFile(t))
	}
	for what, objs := range sets {
		pods := podTemplates(objs)
		if len(pods) == 0 {
			t.Errorf("%s runs no Pod", what)
		}
		for key, tmpl := range pods {
			for _, lv := range levels {
				if r := psapolicy.AggregateCheckResults(eval.EvaluatePod(lv, &tmpl.ObjectMeta, &tmpl.Spec)); !r.Allowed {
					t.Errorf("%s: %s breaks Pod Security %s: %s", what, key, lv, r.ForbiddenDetail())
				}
			}
		}
	}
}
