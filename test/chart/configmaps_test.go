package chart

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	rbacv1 "k8s.io/api/rbac/v1"
)

// TestConfigMapValidation: the webhook is sent ConfigMaps (CREATE and
// UPDATE, for configmap-secrets) only with configMapValidation.enabled,
// in every validating entry, beside what it always judges; the audit may
// read ConfigMaps (it judges them whatever that value says), never
// Secrets.
func TestConfigMapValidation(t *testing.T) {
	const fn = "plimsoll"
	entries := func(t *testing.T, objs []Object) []admissionregistrationv1.ValidatingWebhook {
		t.Helper()
		w := Find(objs, "ValidatingWebhookConfiguration", fn).Typed.(*admissionregistrationv1.ValidatingWebhookConfiguration).Webhooks
		if len(w) == 0 {
			t.Fatal("no validating entry")
		}
		return w
	}
	for _, c := range []struct {
		name  string
		flags []string
		want  []string
	}{
		{"off by default", nil, validatedRules()},
		{"on", []string{"--set", "configMapValidation.enabled=true"},
			func() []string {
				w := append(validatedRules(), "CREATE /configmaps", "UPDATE /configmaps")
				slices.Sort(w)
				return w
			}()},
		{"on with dryRun", []string{"--set", "configMapValidation.enabled=true", "--set", "dryRun=true"},
			func() []string {
				w := append(validatedRules(), "CREATE /configmaps", "UPDATE /configmaps")
				slices.Sort(w)
				return w
			}()},
	} {
		t.Run(c.name, func(t *testing.T) {
			objs := render(t, fn, "plimsoll-system", append([]string{"--set", "tls.mode=certManager"}, c.flags...)...)
			for _, w := range entries(t, objs) {
				if d := cmp.Diff(c.want, ruleStrings(w.Rules)); d != "" {
					t.Errorf("%s rules (-want +got):\n%s", w.Name, d)
				}
			}
			// Never the mutating entries: ConfigMaps are not defaulted.
			for _, w := range Find(objs, "MutatingWebhookConfiguration", fn).Typed.(*admissionregistrationv1.MutatingWebhookConfiguration).Webhooks {
				if d := cmp.Diff([]string{"CREATE /pods"}, ruleStrings(w.Rules)); d != "" {
					t.Errorf("%s rules (-want +got):\n%s", w.Name, d)
				}
			}
		})
	}

	t.Run("the audit reads ConfigMaps, never Secrets", func(t *testing.T) {
		objs := render(t, fn, "plimsoll-system", "--set", "audit.enabled=true")
		role := Find(objs, "ClusterRole", fn+"-audit").Typed.(*rbacv1.ClusterRole)
		if !slices.ContainsFunc(role.Rules, func(r rbacv1.PolicyRule) bool {
			return slices.Equal(r.APIGroups, []string{""}) && slices.Contains(r.Resources, "configmaps") &&
				slices.Equal(r.Verbs, []string{"get", "list", "watch"})
		}) {
			t.Errorf("the audit's ClusterRole does not let it get, list and watch configmaps: %+v", role.Rules)
		}
		for _, r := range role.Rules {
			if slices.Contains(r.Resources, "secrets") {
				t.Errorf("the audit's ClusterRole grants %v on secrets", r.Verbs)
			}
		}
	})
}
