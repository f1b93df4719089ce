package chart

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/plimsoll/plimsoll/internal/clusterwatch"
	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/validate"
)

// TestContextRulesRBAC: with contextRules.enabled (the default) the
// server's ServiceAccount may get, list and watch exactly what the
// context rules' caches list and watch, and nothing more; turned off,
// there is no such RBAC, no token unless self-managed TLS needs one, and
// the policy turns the context rules off, so the server starts no cache.
func TestContextRulesRBAC(t *testing.T) {
	const fn = "plimsoll"
	t.Run("on by default: get, list and watch of what the caches read, bound to the server's ServiceAccount", func(t *testing.T) {
		objs := render(t, "plimsoll", "plimsoll-system", "--set", "tls.mode=certManager")
		role := Find(objs, "ClusterRole", fn+"-context")
		if role == nil {
			t.Fatal("no ClusterRole plimsoll-context")
		}
		got := map[string][]string{}
		for _, r := range role.Typed.(*rbacv1.ClusterRole).Rules {
			if !slices.Equal(r.Verbs, []string{"get", "list", "watch"}) {
				t.Errorf("rule %v grants %v, want get, list and watch only", r.Resources, r.Verbs)
			}
			if len(r.ResourceNames) > 0 || len(r.NonResourceURLs) > 0 || len(r.APIGroups) != 1 {
				t.Errorf("rule %+v: want one API group, no resourceNames, no URLs", r)
			}
			for _, g := range r.APIGroups {
				got[g] = append(got[g], r.Resources...)
			}
		}
		if d := cmp.Diff(clusterwatch.Resources, got); d != "" {
			t.Errorf("resources granted (-what the caches list +granted):\n%s", d)
		}
		binding := Find(objs, "ClusterRoleBinding", fn+"-context").Typed.(*rbacv1.ClusterRoleBinding)
		wantRef := rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: fn + "-context"}
		wantSubjects := []rbacv1.Subject{{Kind: "ServiceAccount", Name: fn, Namespace: "plimsoll-system"}}
		if d := cmp.Diff(wantRef, binding.RoleRef); d != "" {
			t.Errorf("roleRef (-want +got):\n%s", d)
		}
		if d := cmp.Diff(wantSubjects, binding.Subjects); d != "" {
			t.Errorf("subjects (-want +got):\n%s", d)
		}
		pod := Find(objs, "Deployment", fn).Typed.(*appsv1.Deployment).Spec.Template.Spec
		if pod.AutomountServiceAccountToken == nil || !*pod.AutomountServiceAccountToken {
			t.Error("the server mounts no token: its caches cannot list")
		}
		if p := renderedPolicy(t, objs); !p.ContextRulesOn() {
			t.Error("the rendered policy turns the context rules off")
		}
	})

	for _, tls := range []string{"certManager", "existingSecret", "selfManaged"} {
		t.Run("off with tls.mode "+tls+": no RBAC to read the cluster, and the policy says so", func(t *testing.T) {
			c := renderCase{release: "plimsoll", namespace: "plimsoll-system", tls: tls}
			objs := render(t, "plimsoll", "plimsoll-system", append(c.flags(t), "--set", "contextRules.enabled=false")...)
			for _, kind := range []string{"ClusterRole", "ClusterRoleBinding"} {
				if Find(objs, kind, fn+"-context") != nil {
					t.Errorf("%s %s-context is rendered with contextRules.enabled=false", kind, fn)
				}
			}
			for _, o := range objs {
				var rules []rbacv1.PolicyRule
				switch r := o.Typed.(type) {
				case *rbacv1.Role:
					rules = r.Rules
				case *rbacv1.ClusterRole:
					rules = r.Rules
				}
				for _, r := range rules {
					for _, res := range r.Resources {
						if slices.Contains([]string{"poddisruptionbudgets", "horizontalpodautoscalers", "deployments"}, res) && o.Name != fn+"-audit" && o.Name != fn+"-cleanup" {
							t.Errorf("%s grants %v on %s", o.Key(), r.Verbs, res)
						}
					}
				}
			}
			pod := Find(objs, "Deployment", fn).Typed.(*appsv1.Deployment).Spec.Template.Spec
			want := tls == "selfManaged"
			if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken != want {
				t.Errorf("automountServiceAccountToken = %v, want %t (only self-managed TLS needs the API then)", pod.AutomountServiceAccountToken, want)
			}
			if p := renderedPolicy(t, objs); p.ContextRulesOn() {
				t.Error("the rendered policy leaves the context rules on: the server would start caches it may not fill")
			}
			// The companions' own rules need no RBAC: they are still judged.
			for _, w := range Find(objs, "ValidatingWebhookConfiguration", fn).Typed.(*admissionregistrationv1.ValidatingWebhookConfiguration).Webhooks {
				if d := cmp.Diff(validatedRules(), ruleStrings(w.Rules)); d != "" {
					t.Errorf("%s rules (-want +got):\n%s", w.Name, d)
				}
			}
		})
	}
}

// renderedPolicy loads the policy of the chart's ConfigMap as plimsoll
// serve does.
func renderedPolicy(t *testing.T, objs []Object) *policy.Policy {
	t.Helper()
	cm := Find(objs, "ConfigMap", "plimsoll-policy").Typed.(*corev1.ConfigMap)
	p, err := policy.Load([]byte(cm.Data["policy.yaml"]), validate.IDs())
	if err != nil {
		t.Fatalf("the rendered policy does not load: %v\n%s", err, cm.Data["policy.yaml"])
	}
	return p
}
