package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/plimsoll/plimsoll/internal/certs/selfmanaged"
	"github.com/plimsoll/plimsoll/internal/kube"
	"github.com/plimsoll/plimsoll/test/chart"
	"github.com/plimsoll/plimsoll/test/harness"
)

// admissionPolicies returns the ValidatingAdmissionPolicies and their
// bindings among objs, failing unless each policy has a binding of its
// name that denies.
func admissionPolicies(t *testing.T, objs []chart.Object) ([]*admissionregistrationv1.ValidatingAdmissionPolicy, []*admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
	t.Helper()
	var policies []*admissionregistrationv1.ValidatingAdmissionPolicy
	var bindings []*admissionregistrationv1.ValidatingAdmissionPolicyBinding
	for _, o := range objs {
		switch p := o.Typed.(type) {
		case *admissionregistrationv1.ValidatingAdmissionPolicy:
			policies = append(policies, p.DeepCopy())
		case *admissionregistrationv1.ValidatingAdmissionPolicyBinding:
			bindings = append(bindings, p.DeepCopy())
		}
	}
	for _, p := range policies {
		if !slices.ContainsFunc(bindings, func(b *admissionregistrationv1.ValidatingAdmissionPolicyBinding) bool {
			return b.Spec.PolicyName == p.Name && slices.Equal(b.Spec.ValidationActions, []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny})
		}) {
			t.Fatalf("the chart renders ValidatingAdmissionPolicy %s without a binding that denies", p.Name)
		}
	}
	return policies, bindings
}

// installPolicies creates policies and bindings, and deletes them when the
// test ends.
func installPolicies(ctx context.Context, t *testing.T, policies []*admissionregistrationv1.ValidatingAdmissionPolicy, bindings []*admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
	t.Helper()
	adm := env.Client.AdmissionregistrationV1()
	install(ctx, t, "ValidatingAdmissionPolicy", adm.ValidatingAdmissionPolicies(), policies)
	install(ctx, t, "ValidatingAdmissionPolicyBinding", adm.ValidatingAdmissionPolicyBindings(), bindings)
}

// install creates objs of kind through c, each deleted when the test ends.
func install[T metav1.Object](ctx context.Context, t *testing.T, kind string, c harness.Creator[T], objs []T) {
	t.Helper()
	for _, o := range objs {
		if err := harness.CreateOrDelete(ctx, true, c, []T{o}); err != nil {
			t.Fatalf("the API server refuses %s %s: %v", kind, o.GetName(), err)
		}
		t.Cleanup(func() { _ = harness.CreateOrDelete(context.Background(), false, c, []T{o}) })
	}
}

// untilRefused retries try (a dry run the policy must refuse) until it
// fails with an error containing want: the API server picks a new policy
// up a moment after it is stored. It returns that error.
func untilRefused(t *testing.T, what, want string, try func() error) error {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := try()
		if err != nil && strings.Contains(err.Error(), want) {
			return err
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: the policy never took effect; last answer: %v", what, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestModeLabelPolicy installs the chart's own mode-label policy and its
// binding, as `helm template` renders them with the default values, into
// the API server: a Namespace whose plimsoll.dev/mode is no mode is
// refused on CREATE and on an UPDATE that sets it, with a message naming
// the value and the four modes; the four modes are accepted; an UPDATE
// that leaves a bad value already there alone is let through.
func TestModeLabelPolicy(t *testing.T) {
	ctx := context.Background()
	out, err := chart.Template("plimsoll", plimsollNS)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := chart.Decode(out)
	if err != nil {
		t.Fatal(err)
	}
	var policies []*admissionregistrationv1.ValidatingAdmissionPolicy
	var bindings []*admissionregistrationv1.ValidatingAdmissionPolicyBinding
	all, allBindings := admissionPolicies(t, objs)
	for _, p := range all {
		if p.Name == "plimsoll-mode-label" {
			policies = append(policies, p)
		}
	}
	for _, b := range allBindings {
		if b.Spec.PolicyName == "plimsoll-mode-label" {
			bindings = append(bindings, b)
		}
	}
	if len(policies) != 1 || len(bindings) != 1 {
		t.Fatalf("the chart renders %d mode-label policies and %d bindings, want one of each", len(policies), len(bindings))
	}

	namespaces := env.Client.CoreV1().Namespaces()
	labelled := func(name, mode string) *corev1.Namespace {
		return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"plimsoll.dev/mode": mode}}}
	}
	// Labelled before the policy exists: an update that leaves the label
	// alone must go on working.
	if _, err := namespaces.Create(ctx, labelled("mode-typo-before", "enforced"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	installPolicies(ctx, t, policies, bindings)

	dryRun := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}
	err = untilRefused(t, "a Namespace labelled plimsoll.dev/mode=enforced", "is not a plimsoll mode", func() error {
		_, err := namespaces.Create(ctx, labelled("mode-typo", "enforced"), dryRun)
		return err
	})
	t.Logf("CREATE of a Namespace labelled plimsoll.dev/mode=enforced: %v", err)
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), `plimsoll.dev/mode="enforced"`) || !strings.Contains(err.Error(), "enforce, warn, audit, off") {
		t.Errorf("the refusal must be Invalid and name the value and the four modes: %v", err)
	}
	for _, bad := range []string{"Enforce", "", "strict"} {
		if _, err := namespaces.Create(ctx, labelled("mode-bad", bad), dryRun); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("plimsoll.dev/mode=%q", bad)) {
			t.Errorf("a Namespace labelled plimsoll.dev/mode=%q: %v", bad, err)
		}
	}
	for _, mode := range []string{"enforce", "warn", "audit", "off"} {
		if _, err := namespaces.Create(ctx, labelled("mode-"+mode, mode), dryRun); err != nil {
			t.Errorf("a Namespace labelled plimsoll.dev/mode=%s is refused: %v", mode, err)
		}
	}
	if _, err := namespaces.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "mode-unlabelled"}}, dryRun); err != nil {
		t.Errorf("an unlabelled Namespace is refused: %v", err)
	}

	// UPDATE: setting a bad value is refused; a mode, or no label, is not.
	ns, err := namespaces.Create(ctx, labelled("mode-updated", "enforce"), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("a Namespace labelled plimsoll.dev/mode=enforce is refused: %v", err)
	}
	update := func(ns *corev1.Namespace, edit func(map[string]string)) (*corev1.Namespace, error) {
		ns = ns.DeepCopy()
		if ns.Labels == nil {
			ns.Labels = map[string]string{}
		}
		edit(ns.Labels)
		return namespaces.Update(ctx, ns, metav1.UpdateOptions{})
	}
	_, err = update(ns, func(l map[string]string) { l["plimsoll.dev/mode"] = "enforced" })
	t.Logf("UPDATE of a Namespace to plimsoll.dev/mode=enforced: %v", err)
	if err == nil || !strings.Contains(err.Error(), `plimsoll.dev/mode="enforced" is not a plimsoll mode: use one of enforce, warn, audit, off`) {
		t.Errorf("an UPDATE to plimsoll.dev/mode=enforced: %v", err)
	}
	if ns, err = update(ns, func(l map[string]string) { l["plimsoll.dev/mode"] = "warn" }); err != nil {
		t.Fatalf("an UPDATE to plimsoll.dev/mode=warn is refused: %v", err)
	}
	if _, err = update(ns, func(l map[string]string) { delete(l, "plimsoll.dev/mode") }); err != nil {
		t.Errorf("removing the label is refused: %v", err)
	}

	// A bad value from before the policy: other updates go through, a
	// change to another bad value does not.
	before, err := namespaces.Get(ctx, "mode-typo-before", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if before, err = update(before, func(l map[string]string) { l["team"] = "payments" }); err != nil {
		t.Errorf("an UPDATE that leaves an existing bad value alone is refused: %v", err)
	} else if _, err := update(before, func(l map[string]string) { l["plimsoll.dev/mode"] = "enforcing" }); err == nil || !strings.Contains(err.Error(), `"enforcing"`) {
		t.Errorf("an UPDATE from one bad value to another: %v", err)
	}
}

// TestWebhookConfigurationPolicy installs, from the chart rendered with
// tls.mode selfManaged, plimsoll's RBAC, its two empty Secrets, its two
// webhook configurations and the caBundle-only policies, and acts as
// plimsoll's service account (impersonated, with the groups a service
// account token carries):
//
//   - the real self-managed TLS manager, with nothing but that RBAC (no
//     right to create Secrets), fills in both Secrets, keeps the CA's key
//     out of the serving one, and writes the caBundle: the policies admit
//     what plimsoll does;
//   - a caBundle written by hand is admitted too;
//   - a change of the rules, the Service, a URL in its place, the failure
//     policy, the selectors, the order, the labels... is refused;
//   - anyone else may still change the configurations.
func TestWebhookConfigurationPolicy(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const (
		release = "guard"
		ns      = "guard-system"
		name    = "guard-plimsoll"
	)
	// Harmless to the rest of the suite while installed: nothing serves
	// these webhooks, so they ignore failures and give up fast.
	out, err := chart.Template(release, ns, "--set", "tls.mode=selfManaged", "--set", "scope=opt-in",
		"--set", "webhook.failurePolicy.enforce=Ignore", "--set", "webhook.timeoutSeconds=1")
	if err != nil {
		t.Fatal(err)
	}
	objs, err := chart.Decode(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := env.CreateNamespace(ctx, ns, ""); err != nil {
		t.Fatal(err)
	}
	dyn, mapper := chartClients(t)
	var policies []*admissionregistrationv1.ValidatingAdmissionPolicy
	var bindings []*admissionregistrationv1.ValidatingAdmissionPolicyBinding
	all, allBindings := admissionPolicies(t, objs)
	for _, p := range all {
		if strings.HasSuffix(p.Name, "-cabundle-only") {
			policies = append(policies, p)
		}
	}
	for _, b := range allBindings {
		if strings.HasSuffix(b.Name, "-cabundle-only") {
			bindings = append(bindings, b)
		}
	}
	if len(policies) != 2 || len(bindings) != 2 {
		t.Fatalf("the chart renders %d caBundle-only policies and %d bindings, want one of each per kind", len(policies), len(bindings))
	}
	// The service account, its RBAC, its Secrets and the configurations,
	// as the chart renders them.
	for _, o := range objs {
		switch o.GVK.Kind {
		case "ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding", "Secret",
			"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration":
		default:
			continue
		}
		if strings.HasSuffix(o.Name, "-cleanup") {
			continue
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(o.Raw); err != nil {
			t.Fatal(err)
		}
		res := chartResource(t, dyn, mapper, o)
		if _, err := res.Create(ctx, u, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating the chart's %s: %v", o.Key(), err)
		}
		t.Cleanup(func() { _ = res.Delete(context.Background(), o.Name, metav1.DeleteOptions{}) })
	}
	installPolicies(ctx, t, policies, bindings)

	// plimsoll's service account, as its token authenticates.
	cfg := rest.CopyConfig(env.Config)
	cfg.WarningHandler = rest.NoWarnings{}
	cfg.Impersonate = rest.ImpersonationConfig{
		UserName: "system:serviceaccount:" + ns + ":" + name,
		Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"},
	}
	sa, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mwcs := sa.AdmissionregistrationV1().MutatingWebhookConfigurations()
	vwcs := sa.AdmissionregistrationV1().ValidatingWebhookConfigurations()
	dryRun := metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}}
	changeRules := func(m *admissionregistrationv1.MutatingWebhookConfiguration) {
		m.Webhooks[0].Rules[0].Resources = append(m.Webhooks[0].Rules[0].Resources, "secrets")
	}
	const refusal = "may change only the clientConfig.caBundle"
	err = untilRefused(t, "the service account widening the rules", refusal, func() error {
		m, err := mwcs.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		changeRules(m)
		_, err = mwcs.Update(ctx, m, dryRun)
		return err
	})
	t.Logf("the service account widening the rules of its MutatingWebhookConfiguration: %v", err)
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "ValidatingAdmissionPolicy '"+name+"-mutating-cabundle-only'") {
		t.Errorf("the refusal must be Forbidden and come from the chart's policy: %v", err)
	}

	// The real manager, with the chart's RBAC and names, as plimsoll runs it.
	client, err := kube.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	o := selfmanaged.DefaultOptions()
	o.SecretName, o.CASecretName, o.SecretNamespace = name+"-tls", name+"-tls-ca", ns
	o.WebhookConfigName, o.ServiceName = name, name
	dir := t.TempDir()
	o.CertFile, o.KeyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	var logs strings.Builder
	m, err := selfmanaged.New(o, client, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- m.Run(runCtx) }()
	deadline := time.Now().Add(30 * time.Second)
	for m.Ready() != nil && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	ready := m.Ready()
	stop()
	if err := <-done; err != nil {
		t.Error(err)
	}
	if ready != nil {
		t.Fatalf("self-managed TLS as the service account, under the chart's RBAC and policies, is not ready: %v\n%s", ready, logs.String())
	}
	if strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("self-managed TLS logged errors as the service account:\n%s", logs.String())
	}
	secrets := env.Client.CoreV1().Secrets(ns)
	serving, err := secrets.Get(ctx, name+"-tls", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	caSecret, err := secrets.Get(ctx, name+"-tls-ca", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(caSecret.Data[selfmanaged.KeyCAKey]) == 0 || len(serving.Data[selfmanaged.KeyTLSKey]) == 0 {
		t.Error("the chart's empty Secrets were not filled in")
	}
	if _, ok := serving.Data[selfmanaged.KeyCAKey]; ok {
		t.Error("the serving Secret holds the CA's key")
	}
	bundle := caSecret.Data[selfmanaged.KeyCABundle]
	for what, b := range caBundlesOf(t, ctx, name) {
		if string(b) != string(bundle) || len(b) == 0 {
			t.Errorf("%s: the caBundle plimsoll wrote as its service account is not there", what)
		}
	}

	// A caBundle written by hand, as a rotation writes it, is admitted.
	if len(parsePEM(t, bundle)) == 0 {
		t.Fatal("no certificate in the bundle")
	}
	mwc, err := mwcs.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range mwc.Webhooks {
		mwc.Webhooks[i].ClientConfig.CABundle = append(append([]byte{}, bundle...), bundle...)
	}
	if _, err := mwcs.Update(ctx, mwc, metav1.UpdateOptions{}); err != nil {
		t.Errorf("the service account changing only the caBundle of its MutatingWebhookConfiguration is refused: %v", err)
	}
	vwc, err := vwcs.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	vwc.Webhooks[0].ClientConfig.CABundle = nil
	if _, err := vwcs.Update(ctx, vwc, metav1.UpdateOptions{}); err != nil {
		t.Errorf("the service account emptying the caBundle of one webhook of its ValidatingWebhookConfiguration is refused: %v", err)
	}

	// Everything else is refused.
	url := "https://attacker.example/collect"
	for _, c := range []struct {
		what string
		edit func(*admissionregistrationv1.MutatingWebhookConfiguration)
		want string
	}{
		{"widening the rules", changeRules, refusal},
		{"pointing the Service at another path", func(m *admissionregistrationv1.MutatingWebhookConfiguration) {
			m.Webhooks[0].ClientConfig.Service.Path = ptr("/mutate/off")
		}, refusal},
		{"replacing the Service by a URL", func(m *admissionregistrationv1.MutatingWebhookConfiguration) {
			m.Webhooks[0].ClientConfig.Service, m.Webhooks[0].ClientConfig.URL = nil, &url
		}, refusal},
		{"pointing the Service at another namespace", func(m *admissionregistrationv1.MutatingWebhookConfiguration) {
			m.Webhooks[1].ClientConfig.Service.Namespace = "default"
		}, refusal},
		{"changing the failure policy", func(m *admissionregistrationv1.MutatingWebhookConfiguration) {
			if *m.Webhooks[0].FailurePolicy == admissionregistrationv1.Fail {
				m.Webhooks[0].FailurePolicy = ptr(admissionregistrationv1.Ignore)
			} else {
				m.Webhooks[0].FailurePolicy = ptr(admissionregistrationv1.Fail)
			}
		}, refusal},
		{"changing a namespace selector", func(m *admissionregistrationv1.MutatingWebhookConfiguration) {
			m.Webhooks[0].NamespaceSelector = &metav1.LabelSelector{}
		}, refusal},
		{"adding an object selector", func(m *admissionregistrationv1.MutatingWebhookConfiguration) {
			m.Webhooks[0].ObjectSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"skip": "me"}}
		}, refusal},
		{"changing the timeout", func(m *admissionregistrationv1.MutatingWebhookConfiguration) {
			m.Webhooks[0].TimeoutSeconds = ptr(int32(30))
		}, refusal},
		{"changing the reinvocation policy", func(m *admissionregistrationv1.MutatingWebhookConfiguration) {
			m.Webhooks[0].ReinvocationPolicy = ptr(admissionregistrationv1.NeverReinvocationPolicy)
		}, refusal},
		{"adding a match condition", func(m *admissionregistrationv1.MutatingWebhookConfiguration) {
			m.Webhooks[0].MatchConditions = []admissionregistrationv1.MatchCondition{{Name: "never", Expression: "false"}}
		}, refusal},
		{"reordering the webhooks", func(m *admissionregistrationv1.MutatingWebhookConfiguration) {
			m.Webhooks[0], m.Webhooks[1] = m.Webhooks[1], m.Webhooks[0]
		}, refusal},
		{"removing a webhook", func(m *admissionregistrationv1.MutatingWebhookConfiguration) {
			m.Webhooks = m.Webhooks[1:]
		}, refusal},
		{"renaming a webhook", func(m *admissionregistrationv1.MutatingWebhookConfiguration) {
			m.Webhooks[0].Name = "enforce.mutate.attacker.example"
		}, refusal},
		{"adding a label", func(m *admissionregistrationv1.MutatingWebhookConfiguration) {
			m.Labels["app.kubernetes.io/managed-by"] = "someone-else"
		}, "may not change the labels"},
		{"adding an annotation", func(m *admissionregistrationv1.MutatingWebhookConfiguration) {
			m.Annotations = map[string]string{"note": "x"}
		}, "may not change the labels"},
	} {
		m, err := mwcs.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		c.edit(m)
		_, err = mwcs.Update(ctx, m, metav1.UpdateOptions{})
		if c.what == "replacing the Service by a URL" {
			t.Logf("the service account replacing the Service of its MutatingWebhookConfiguration by a URL: %v", err)
		}
		if err == nil || !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("the service account %s of its MutatingWebhookConfiguration: %v, want it refused saying %q", c.what, err, c.want)
		}
	}
	for _, c := range []struct {
		what string
		edit func(*admissionregistrationv1.ValidatingWebhookConfiguration)
	}{
		{"widening the rules", func(v *admissionregistrationv1.ValidatingWebhookConfiguration) {
			v.Webhooks[0].Rules = append(v.Webhooks[0].Rules, admissionregistrationv1.RuleWithOperations{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
				Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"secrets"}},
			})
		}},
		{"replacing the Service by a URL", func(v *admissionregistrationv1.ValidatingWebhookConfiguration) {
			v.Webhooks[0].ClientConfig.Service, v.Webhooks[0].ClientConfig.URL = nil, &url
		}},
		{"changing the side effects", func(v *admissionregistrationv1.ValidatingWebhookConfiguration) {
			v.Webhooks[0].SideEffects = ptr(admissionregistrationv1.SideEffectClassNoneOnDryRun)
		}},
		{"changing the match policy", func(v *admissionregistrationv1.ValidatingWebhookConfiguration) {
			v.Webhooks[0].MatchPolicy = ptr(admissionregistrationv1.Exact)
		}},
		{"changing the review versions", func(v *admissionregistrationv1.ValidatingWebhookConfiguration) {
			v.Webhooks[0].AdmissionReviewVersions = []string{"v1", "v1beta1"}
		}},
	} {
		v, err := vwcs.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		c.edit(v)
		_, err = vwcs.Update(ctx, v, metav1.UpdateOptions{})
		if err == nil || !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), refusal) {
			t.Errorf("the service account %s of its ValidatingWebhookConfiguration: %v, want it refused", c.what, err)
		}
	}

	// The policies bind plimsoll's service account only: an administrator
	// changes the rules as before, and may point a webhook at a URL (as a
	// plimsoll outside the cluster has it)...
	admin := env.Client.AdmissionregistrationV1().MutatingWebhookConfigurations()
	m2, err := admin.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	changeRules(m2)
	if _, err := admin.Update(ctx, m2, dryRun); err != nil {
		t.Errorf("an administrator changing the rules is refused: %v", err)
	}
	m2.Webhooks[0].Rules = mwc.Webhooks[0].Rules
	m2.Webhooks[0].ClientConfig.Service, m2.Webhooks[0].ClientConfig.URL = nil, ptr("https://plimsoll.example/mutate/enforce")
	if _, err := admin.Update(ctx, m2, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("an administrator pointing a webhook at a URL is refused: %v", err)
	}
	// ... which plimsoll's service account then cannot change.
	m3, err := mwcs.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m3.Webhooks[0].ClientConfig.URL = &url
	_, err = mwcs.Update(ctx, m3, metav1.UpdateOptions{})
	t.Logf("the service account changing the URL of a webhook of its MutatingWebhookConfiguration: %v", err)
	if err == nil || !strings.Contains(err.Error(), refusal) {
		t.Errorf("the service account changing the URL of a webhook: %v, want it refused", err)
	}
}

// caBundlesOf returns the caBundle of each webhook of the configurations
// named name.
func caBundlesOf(t *testing.T, ctx context.Context, name string) map[string][]byte {
	t.Helper()
	adm := env.Client.AdmissionregistrationV1()
	out := map[string][]byte{}
	mwc, err := adm.MutatingWebhookConfigurations().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range mwc.Webhooks {
		out["MutatingWebhookConfiguration "+w.Name] = w.ClientConfig.CABundle
	}
	vwc, err := adm.ValidatingWebhookConfigurations().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range vwc.Webhooks {
		out["ValidatingWebhookConfiguration "+w.Name] = w.ClientConfig.CABundle
	}
	return out
}

// TestPlimsollPodsPassRestricted has the API server's Pod Security
// admission judge, in enforce mode, a Pod from every pod template of the
// chart (each TLS mode, the background audit, the cleanup hook) and of
// config/: in a namespace labelled by the command the chart's NOTES give
// (rendered by `helm install --dry-run=server`), and in the Namespace of
// config/base. Each Pod must be admitted.
func TestPlimsollPodsPassRestricted(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const chartNS = "psa-chart-system"
	dir, err := chart.Dir()
	if err != nil {
		t.Fatal(err)
	}
	out, err := chart.Helm(nil, "install", "psa", dir, "--dry-run=server", "--namespace", chartNS, "--kubeconfig", chartKubeconfig(t))
	if err != nil {
		t.Fatal(err)
	}
	notes := string(out[strings.Index(string(out), "NOTES:"):])
	if !strings.Contains(notes, "kubectl label namespace "+chartNS+" --overwrite") {
		t.Fatalf("the NOTES do not say how to label the release namespace for Pod Security:\n%s", notes)
	}
	if !strings.Contains(notes, "plimsoll.dev/mode=enforced") || !strings.Contains(notes, "psa-plimsoll-mode-label") {
		t.Errorf("the NOTES do not tell of the mode-label policy:\n%s", notes)
	}
	labels := map[string]string{}
	for _, m := range regexp.MustCompile(`(pod-security\.kubernetes\.io/[a-z-]+)=([a-z0-9.]+)`).FindAllStringSubmatch(notes, -1) {
		labels[m[1]] = m[2]
	}
	if len(labels) != 6 || labels["pod-security.kubernetes.io/enforce"] != "restricted" {
		t.Fatalf("the NOTES' command sets %v; want enforce, audit and warn restricted, each with a version", labels)
	}
	namespaces := env.Client.CoreV1().Namespaces()
	if _, err := namespaces.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: chartNS, Labels: labels}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	root, err := chart.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	kustomized := func(dir string) []chart.Object {
		out, err := chart.Kustomize(filepath.Join(root, "config", dir))
		if err != nil {
			t.Fatal(err)
		}
		objs, err := chart.Decode(out)
		if err != nil {
			t.Fatal(err)
		}
		return objs
	}
	base := kustomized("overlays/default")
	var kustomizeNS *corev1.Namespace
	for _, o := range base {
		if ns, ok := o.Typed.(*corev1.Namespace); ok {
			kustomizeNS = ns.DeepCopy()
		}
	}
	if kustomizeNS == nil || kustomizeNS.Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
		t.Fatalf("config/ labels its namespace %v; want Pod Security restricted enforced", kustomizeNS)
	}
	kustomizeNS.Name = "psa-kustomize-system" // plimsoll-system is this suite's own
	if _, err := namespaces.Create(ctx, kustomizeNS, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	sets := map[string][]chart.Object{"config/overlays/default": base, "config/overlays/cert-manager": kustomized("overlays/cert-manager"), "config/audit": kustomized("audit")}
	for _, mode := range []string{"selfManaged", "certManager", "existingSecret"} {
		out, err := chart.Template("psa", chartNS, "--set", "tls.mode="+mode, "--set", "audit.enabled=true",
			"--set", "tls.existingSecret.name=x", "--set", "tls.existingSecret.caBundle="+string(env.Certs.CAPEM))
		if err != nil {
			t.Fatal(err)
		}
		if sets["the chart with tls.mode "+mode], err = chart.Decode(out); err != nil {
			t.Fatal(err)
		}
	}
	pods := 0
	for what, objs := range sets {
		ns := chartNS
		if strings.HasPrefix(what, "config/") {
			ns = kustomizeNS.Name
		}
		for _, o := range objs {
			var tmpl corev1.PodTemplateSpec
			switch w := o.Typed.(type) {
			case *appsv1.Deployment:
				tmpl = w.Spec.Template
			case *batchv1.Job:
				tmpl = w.Spec.Template
			default:
				continue
			}
			pod := &corev1.Pod{ObjectMeta: tmpl.ObjectMeta, Spec: tmpl.Spec}
			pod.Name, pod.Namespace = "psa-"+o.Name, ns
			pods++
			if _, err := env.Client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
				t.Errorf("%s: a Pod of %s is refused in a namespace enforcing Pod Security restricted: %v", what, o.Key(), err)
			}
		}
	}
	if pods < 10 {
		t.Errorf("only %d Pods judged", pods)
	}
	// The namespace does enforce: a privileged Pod is refused.
	bad := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "privileged"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "registry.k8s.io/pause:3.10",
		SecurityContext: &corev1.SecurityContext{Privileged: ptr(true)}}}}}
	for _, ns := range []string{chartNS, kustomizeNS.Name} {
		if _, err := env.Client.CoreV1().Pods(ns).Create(ctx, bad, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err == nil || !strings.Contains(err.Error(), "violates PodSecurity") {
			t.Errorf("namespace %s does not enforce Pod Security: a privileged Pod got %v", ns, err)
		}
	}
}
