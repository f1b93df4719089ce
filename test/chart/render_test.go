package chart

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plimsoll/plimsoll/admission"

	cmv1 "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	"github.com/google/go-cmp/cmp"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"

	"github.com/plimsoll/plimsoll/workload"
)

// A renderCase is one combination of the values that shape the webhook
// configurations and the TLS objects.
type renderCase struct {
	release, namespace string
	scope              admission.Scope
	defaultMode        admission.Mode
	dryRun             bool
	tls                string
	excluded           []string
	failurePolicy      map[admission.Mode]admissionregistrationv1.FailurePolicyType
	timeout            int32
}

func (c renderCase) name() string {
	n := fmt.Sprintf("%s/%s", c.tls, c.scope)
	if c.scope == admission.ScopeCluster {
		n += "-" + string(c.defaultMode)
	}
	if c.dryRun {
		n += "/dryRun"
	}
	if len(c.excluded) > 0 {
		n += "/excluding-" + strings.Join(c.excluded, ",")
	}
	if c.release != "plimsoll" {
		n += "/release-" + c.release
	}
	return n
}

func (c renderCase) fullname() string {
	if strings.Contains(c.release, "plimsoll") {
		return c.release
	}
	return c.release + "-plimsoll"
}

// flags set the case's values with WebhookValues.Flags, the flags the
// test harness renders the chart's webhooks with, and its TLS mode.
func (c renderCase) flags(t *testing.T) []string {
	v := WebhookValues{
		Namespace:          c.namespace,
		Scope:              c.scope,
		DefaultMode:        c.defaultMode,
		DryRun:             c.dryRun,
		ExcludedNamespaces: c.excluded,
		FailurePolicy:      c.failurePolicy,
		TimeoutSeconds:     c.timeout,
	}
	f := append(v.Flags(), "--set", "tls.mode="+c.tls)
	if c.tls == "existingSecret" {
		f = append(f, "--set", "tls.existingSecret.name=my-tls", "--set-file", "tls.existingSecret.caBundle="+testCAFile(t))
	}
	return f
}

// modes are the modes that get an entry: audit only with dryRun.
func (c renderCase) modes() []string {
	if c.dryRun {
		return []string{"audit"}
	}
	return []string{"enforce", "warn", "audit"}
}

// wantFailurePolicy is the failure policy of a mode's entries: the
// override, else Fail where a namespace chose enforce and Ignore where it
// only warns or audits.
func (c renderCase) wantFailurePolicy(mode string) admissionregistrationv1.FailurePolicyType {
	if fp, ok := c.failurePolicy[admission.Mode(mode)]; ok {
		return fp
	}
	if mode == "enforce" {
		return admissionregistrationv1.Fail
	}
	return admissionregistrationv1.Ignore
}

// renderCases covers every scope, default mode, dryRun and TLS mode, plus
// extra exclusions, overridden failure policies and another release name.
func renderCases() []renderCase {
	var cases []renderCase
	for _, tls := range []string{"selfManaged", "certManager", "existingSecret"} {
		for _, dry := range []bool{false, true} {
			cases = append(cases, renderCase{release: "plimsoll", namespace: "plimsoll-system", scope: admission.ScopeOptIn, dryRun: dry, tls: tls})
			for _, m := range admission.ServedModes {
				cases = append(cases, renderCase{release: "plimsoll", namespace: "plimsoll-system", scope: admission.ScopeCluster, defaultMode: m, dryRun: dry, tls: tls})
			}
		}
	}
	return append(cases,
		renderCase{release: "acme", namespace: "guard", scope: admission.ScopeCluster, defaultMode: admission.Enforce, tls: "selfManaged",
			excluded: []string{"monitoring", "kube-system", "ingress"}, timeout: 3},
		renderCase{release: "plimsoll", namespace: "plimsoll-system", scope: admission.ScopeOptIn, tls: "certManager",
			failurePolicy: map[admission.Mode]admissionregistrationv1.FailurePolicyType{admission.Enforce: admissionregistrationv1.Ignore, admission.Warn: admissionregistrationv1.Fail}},
	)
}

var caOnce = sync.OnceValues(func() (string, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "plimsoll-chart-ca-")
	if err != nil {
		return "", err
	}
	file := filepath.Join(dir, "ca.crt")
	return file, os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
})

// testCAFile is a PEM CA certificate for tls.existingSecret.caBundle.
func testCAFile(t *testing.T) string {
	t.Helper()
	f, err := caOnce()
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestHelmLint(t *testing.T) {
	dir, err := Dir()
	if err != nil {
		t.Fatal(err)
	}
	ci, _ := filepath.Glob(filepath.Join(dir, "ci", "*-values.yaml"))
	if len(ci) == 0 {
		t.Fatal("no ci/*-values.yaml")
	}
	for _, major := range HelmMajors {
		t.Run(fmt.Sprintf("helm%d", major), func(t *testing.T) {
			if _, err := HelmOf(major, nil, "lint", "--strict", dir); err != nil {
				t.Errorf("the chart with its default values: %v", err)
			}
			for _, f := range ci {
				t.Run(filepath.Base(f), func(t *testing.T) {
					t.Parallel()
					if _, err := HelmOf(major, nil, "lint", "--strict", dir, "-f", f); err != nil {
						t.Error(err)
					}
				})
			}
		})
	}
}

// Helm 4 renders exactly the objects Helm 3 renders, with the default
// values and with every ci/ values file: the chart means the same to both.
func TestHelm4RendersLikeHelm3(t *testing.T) {
	dir, _ := Dir()
	ci, _ := filepath.Glob(filepath.Join(dir, "ci", "*-values.yaml"))
	sets := map[string][]string{"defaults": nil}
	for _, f := range ci {
		sets[filepath.Base(f)] = []string{"-f", f}
	}
	for name, flags := range sets {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			objects := map[int]map[string]string{}
			for _, major := range HelmMajors {
				out, err := TemplateOf(major, "plimsoll", "plimsoll-system", flags...)
				if err != nil {
					t.Fatal(err)
				}
				objs, err := Decode(out)
				if err != nil {
					t.Fatalf("helm%d: %v", major, err)
				}
				objects[major] = map[string]string{}
				for _, o := range objs {
					objects[major][o.Key()] = string(o.Raw)
				}
			}
			if len(objects[3]) < 8 {
				t.Fatalf("helm 3 rendered only %d objects", len(objects[3]))
			}
			if diff := cmp.Diff(objects[3], objects[4]); diff != "" {
				t.Errorf("helm 4 renders differently from helm 3 (-helm3 +helm4):\n%s", diff)
			}
		})
	}
}

// Every combination of scope, dryRun and TLS mode has a ci/ values file,
// so CI lints each of them.
func TestCIValuesCoverEveryCombination(t *testing.T) {
	dir, _ := Dir()
	ci, _ := filepath.Glob(filepath.Join(dir, "ci", "*-values.yaml"))
	type combo struct {
		scope, tls string
		dryRun     bool
	}
	seen := map[combo]string{}
	for _, f := range ci {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		v := struct {
			Scope  string `json:"scope"`
			DryRun bool   `json:"dryRun"`
			TLS    struct {
				Mode string `json:"mode"`
			} `json:"tls"`
		}{Scope: "opt-in"}
		v.TLS.Mode = "selfManaged"
		if err := yaml.Unmarshal(data, &v); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		seen[combo{v.Scope, v.TLS.Mode, v.DryRun}] = filepath.Base(f)
	}
	for _, scope := range []string{"opt-in", "cluster"} {
		for _, tls := range []string{"selfManaged", "certManager", "existingSecret"} {
			for _, dry := range []bool{false, true} {
				if _, ok := seen[combo{scope, tls, dry}]; !ok {
					t.Errorf("no ci/*-values.yaml for scope %s, tls.mode %s, dryRun %t", scope, tls, dry)
				}
			}
		}
	}
}

// TestRender renders every case, decodes every document strictly into its
// Go type (cert-manager's for Certificate and Issuer) and checks what each
// object says.
func TestRender(t *testing.T) {
	for _, c := range renderCases() {
		t.Run(c.name(), func(t *testing.T) {
			t.Parallel()
			objs := render(t, c.release, c.namespace, c.flags(t)...)
			checkObjectSet(t, c, objs)
			checkWebhooks(t, c, objs)
			checkSelectors(t, c, objs)
			checkDeployment(t, c, objs)
			checkTLS(t, c, objs)
		})
	}
}

// checkObjectSet: exactly the expected objects, each in the release
// namespace unless cluster-scoped.
func checkObjectSet(t *testing.T, c renderCase, objs []Object) {
	t.Helper()
	fn := c.fullname()
	want := []string{
		"ServiceAccount/" + fn, "ConfigMap/" + fn + "-policy", "Service/" + fn, "Deployment/" + fn,
		"PodDisruptionBudget/" + fn, "MutatingWebhookConfiguration/" + fn, "ValidatingWebhookConfiguration/" + fn,
		"NetworkPolicy/" + fn,
		"ServiceAccount/" + fn + "-cleanup", "ClusterRole/" + fn + "-cleanup", "ClusterRoleBinding/" + fn + "-cleanup", "Job/" + fn + "-cleanup",
		"ValidatingAdmissionPolicy/" + fn + "-mode-label", "ValidatingAdmissionPolicyBinding/" + fn + "-mode-label",
		"ClusterRole/" + fn + "-context", "ClusterRoleBinding/" + fn + "-context",
	}
	switch c.tls {
	case "selfManaged":
		want = append(want, "Role/"+fn+"-tls", "RoleBinding/"+fn+"-tls", "ClusterRole/"+fn+"-tls", "ClusterRoleBinding/"+fn+"-tls",
			"Role/"+fn+"-cleanup", "RoleBinding/"+fn+"-cleanup", "Secret/"+fn+"-tls", "Secret/"+fn+"-tls-ca",
			"ValidatingAdmissionPolicy/"+fn+"-mutating-cabundle-only", "ValidatingAdmissionPolicyBinding/"+fn+"-mutating-cabundle-only",
			"ValidatingAdmissionPolicy/"+fn+"-validating-cabundle-only", "ValidatingAdmissionPolicyBinding/"+fn+"-validating-cabundle-only")
	case "certManager":
		want = append(want, "Issuer/"+fn+"-selfsigned", "Certificate/"+fn+"-ca", "Issuer/"+fn+"-ca", "Certificate/"+fn+"-tls")
	}
	var got []string
	for _, o := range objs {
		got = append(got, o.GVK.Kind+"/"+o.Name)
		clusterScoped := slices.Contains([]string{"ClusterRole", "ClusterRoleBinding", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
			"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"}, o.GVK.Kind)
		if clusterScoped && o.Namespace != "" || !clusterScoped && o.Namespace != c.namespace {
			t.Errorf("%s: namespace %q, want %q", o.Key(), o.Namespace, map[bool]string{true: "", false: c.namespace}[clusterScoped])
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("rendered objects (-want +got):\n%s", d)
	}
}

// checkWebhooks: one entry per mode in each configuration, each calling
// the path of its mode on the release's Service, with the failure policy of
// its mode and the settings every entry shares; the mutating entries
// default Pods on CREATE, the validating ones judge every kind workload
// knows. checkSelectors checks which namespaces each entry selects.
func checkWebhooks(t *testing.T, c renderCase, objs []Object) {
	t.Helper()
	gotM := Find(objs, "MutatingWebhookConfiguration", c.fullname()).Typed.(*admissionregistrationv1.MutatingWebhookConfiguration)
	gotV := Find(objs, "ValidatingWebhookConfiguration", c.fullname()).Typed.(*admissionregistrationv1.ValidatingWebhookConfiguration)

	timeout := int32(5)
	if c.timeout > 0 {
		timeout = c.timeout
	}
	checkEntry := func(name, kind string, cc admissionregistrationv1.WebhookClientConfig, rules []admissionregistrationv1.RuleWithOperations,
		fp *admissionregistrationv1.FailurePolicyType, mp *admissionregistrationv1.MatchPolicyType, se *admissionregistrationv1.SideEffectClass,
		ts *int32, versions []string, objectSelector *metav1.LabelSelector, matchConditions []admissionregistrationv1.MatchCondition) string {
		mode, rest, _ := strings.Cut(name, ".")
		if rest != kind+".plimsoll.dev" {
			t.Errorf("entry %s: want <mode>.%s.plimsoll.dev", name, kind)
		}
		want := admissionregistrationv1.WebhookClientConfig{Service: &admissionregistrationv1.ServiceReference{
			Name: c.fullname(), Namespace: c.namespace, Path: ptr("/" + kind + "/" + mode), Port: ptr(int32(443)),
		}}
		if c.tls == "existingSecret" {
			ca, _ := os.ReadFile(testCAFile(t))
			want.CABundle = ca
		}
		if d := cmp.Diff(want, cc); d != "" {
			t.Errorf("%s clientConfig (-want +got):\n%s", name, d)
		}
		wantRules := []string{"CREATE /pods"}
		if kind == "validate" {
			wantRules = validatedRules()
		}
		if d := cmp.Diff(wantRules, ruleStrings(rules)); d != "" {
			t.Errorf("%s rules (-want +got):\n%s", name, d)
		}
		if wantFP := c.wantFailurePolicy(mode); fp == nil || *fp != wantFP {
			t.Errorf("%s: failurePolicy %v, want %s", name, fp, wantFP)
		}
		if mp == nil || *mp != admissionregistrationv1.Equivalent {
			t.Errorf("%s: matchPolicy %v, want Equivalent (older API versions converted, not skipped)", name, mp)
		}
		if se == nil || *se != admissionregistrationv1.SideEffectClassNone {
			t.Errorf("%s: sideEffects %v, want None (dry-run requests must reach plimsoll)", name, se)
		}
		if ts == nil || *ts != timeout {
			t.Errorf("%s: timeoutSeconds %v, want %d", name, ts, timeout)
		}
		if d := cmp.Diff([]string{"v1"}, versions); d != "" {
			t.Errorf("%s: admissionReviewVersions (-want +got):\n%s", name, d)
		}
		if objectSelector != nil || len(matchConditions) > 0 {
			t.Errorf("%s: objectSelector %v, matchConditions %v; want none (labels and conditions a tenant controls must not decide)", name, objectSelector, matchConditions)
		}
		return mode
	}
	var modesM, modesV []string
	for _, w := range gotM.Webhooks {
		modesM = append(modesM, checkEntry(w.Name, "mutate", w.ClientConfig, w.Rules, w.FailurePolicy, w.MatchPolicy, w.SideEffects,
			w.TimeoutSeconds, w.AdmissionReviewVersions, w.ObjectSelector, w.MatchConditions))
		if w.ReinvocationPolicy == nil || *w.ReinvocationPolicy != admissionregistrationv1.IfNeededReinvocationPolicy {
			t.Errorf("%s: reinvocationPolicy %v, want IfNeeded (another webhook may add containers after plimsoll)", w.Name, w.ReinvocationPolicy)
		}
	}
	for _, w := range gotV.Webhooks {
		modesV = append(modesV, checkEntry(w.Name, "validate", w.ClientConfig, w.Rules, w.FailurePolicy, w.MatchPolicy, w.SideEffects,
			w.TimeoutSeconds, w.AdmissionReviewVersions, w.ObjectSelector, w.MatchConditions))
	}
	if d := cmp.Diff(c.modes(), modesM); d != "" {
		t.Errorf("mutating entries (-want +got):\n%s", d)
	}
	if d := cmp.Diff(c.modes(), modesV); d != "" {
		t.Errorf("validating entries (-want +got):\n%s", d)
	}
	inject := fmt.Sprintf("%s/%s-tls", c.namespace, c.fullname())
	for _, a := range []map[string]string{gotM.Annotations, gotV.Annotations} {
		if got := a["cert-manager.io/inject-ca-from"]; (c.tls == "certManager") != (got == inject) {
			t.Errorf("annotation cert-manager.io/inject-ca-from = %q with tls.mode %s (want %q only with certManager)", got, c.tls, inject)
		}
	}
}

// ruleStrings flattens rules into "OPERATION group/resource", sorted, with
// " (apiVersions ...)" after those whose API versions are not exactly v1,
// and a line for each rule whose scope is not Namespaced.
func ruleStrings(rules []admissionregistrationv1.RuleWithOperations) []string {
	var out []string
	for _, r := range rules {
		if r.Scope == nil || *r.Scope != admissionregistrationv1.NamespacedScope {
			out = append(out, "scope not Namespaced")
		}
		versions := ""
		if !slices.Equal(r.APIVersions, []string{"v1"}) {
			versions = " (apiVersions " + strings.Join(r.APIVersions, ",") + ")"
		}
		for _, op := range r.Operations {
			for _, g := range r.APIGroups {
				for _, res := range r.Resources {
					out = append(out, string(op)+" "+g+"/"+res+versions)
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

// validatedRules are CREATE and UPDATE of every kind workload knows (its
// resource the lower-cased plural of its kind) and of the companions the
// webhook judges (PodDisruptionBudget, HorizontalPodAutoscaler at the
// version plimsoll decodes; not Namespace, judged by check and audit
// only, nor ConfigMap, sent only with configMapValidation.enabled), and
// of the subresource kubectl debug uses.
func validatedRules() []string {
	var out []string
	for _, op := range []string{"CREATE", "UPDATE"} {
		for _, k := range workload.Kinds {
			out = append(out, op+" "+k.Group+"/"+strings.ToLower(k.Kind)+"s")
		}
		for _, k := range workload.Companions {
			if k.Kind == "Namespace" || k.Kind == "ConfigMap" {
				continue
			}
			line := op + " " + k.Group + "/" + strings.ToLower(k.Kind) + "s"
			if k.Version != "v1" {
				line += " (apiVersions " + k.Version + ")"
			}
			out = append(out, line)
		}
		out = append(out, op+" /pods/ephemeralcontainers")
	}
	slices.Sort(out)
	return out
}

// checkSelectors evaluates every entry's namespaceSelector against
// namespaces as the API server sees them (with kubernetes.io/metadata.name)
// and checks which mode each lands in, as DESIGN.md and README.md promise.
func checkSelectors(t *testing.T, c renderCase, objs []Object) {
	t.Helper()
	vwc := Find(objs, "ValidatingWebhookConfiguration", c.fullname()).Typed.(*admissionregistrationv1.ValidatingWebhookConfiguration)
	mwc := Find(objs, "MutatingWebhookConfiguration", c.fullname()).Typed.(*admissionregistrationv1.MutatingWebhookConfiguration)

	type ns struct {
		name, label string // label "" = unlabelled
	}
	namespaces := []ns{{"team-a", "enforce"}, {"team-b", "warn"}, {"team-c", "audit"}, {"team-d", "off"}, {"team-e", ""}, {"team-f", "bogus"}}
	protected := append([]string{"kube-system", "kube-public", "kube-node-lease", c.namespace}, c.excluded...)
	for _, p := range protected {
		namespaces = append(namespaces, ns{p, "enforce"}, ns{p, ""})
	}
	for _, n := range namespaces {
		set := labels.Set{"kubernetes.io/metadata.name": n.name}
		if n.label != "" {
			set["plimsoll.dev/mode"] = n.label
		}
		selected := func(name string, sel *metav1.LabelSelector) string {
			s, err := metav1.LabelSelectorAsSelector(sel)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if s.Matches(set) {
				return strings.SplitN(name, ".", 2)[0]
			}
			return ""
		}
		var gotV, gotM []string
		for _, w := range vwc.Webhooks {
			if m := selected(w.Name, w.NamespaceSelector); m != "" {
				gotV = append(gotV, m)
			}
		}
		for _, w := range mwc.Webhooks {
			if m := selected(w.Name, w.NamespaceSelector); m != "" {
				gotM = append(gotM, m)
			}
		}
		// What the namespace should get.
		var want []string
		switch {
		case slices.Contains(protected, n.name):
		case n.label == "off":
		case c.dryRun && c.scope == admission.ScopeCluster:
			want = []string{"audit"}
		case c.dryRun:
			if slices.Contains([]string{"enforce", "warn", "audit"}, n.label) {
				want = []string{"audit"}
			}
		case slices.Contains([]string{"enforce", "warn", "audit"}, n.label):
			want = []string{n.label}
		case c.scope == admission.ScopeCluster:
			// Unlabelled, or a value that is no mode (a typo): the default
			// mode, never two entries and never none.
			want = []string{string(c.defaultMode)}
		}
		what := fmt.Sprintf("namespace %s labelled %q", n.name, n.label)
		if d := cmp.Diff(want, gotV); d != "" {
			t.Errorf("%s: validating entries that select it (-want +got):\n%s", what, d)
		}
		if d := cmp.Diff(want, gotM); d != "" {
			t.Errorf("%s: mutating entries that select it (-want +got):\n%s", what, d)
		}
	}
}

func checkDeployment(t *testing.T, c renderCase, objs []Object) {
	t.Helper()
	d := Find(objs, "Deployment", c.fullname()).Typed.(*appsv1.Deployment)
	pod := d.Spec.Template.Spec
	ctr := pod.Containers[0]
	selfManaged := c.tls == "selfManaged"
	// Every case renders contextRules.enabled (the default), whose caches
	// read the API: TestContextRulesRBAC checks the token without them.
	if pod.AutomountServiceAccountToken == nil || !*pod.AutomountServiceAccountToken {
		t.Errorf("automountServiceAccountToken = %v, want true (the context rules' caches read the API)", pod.AutomountServiceAccountToken)
	}
	sa := Find(objs, "ServiceAccount", c.fullname()).Typed.(*corev1.ServiceAccount)
	if sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
		t.Errorf("the ServiceAccount must not mount a token by default")
	}
	wantSelfManaged := []string{
		"--tls-self-managed",
		"--tls-secret-name=" + c.fullname() + "-tls",
		"--tls-ca-secret-name=" + c.fullname() + "-tls-ca",
		"--tls-secret-namespace=" + c.namespace,
		"--tls-service-name=" + c.fullname(),
		"--webhook-config-name=" + c.fullname(),
	}
	for _, a := range wantSelfManaged {
		if slices.Contains(ctr.Args, a) != selfManaged {
			t.Errorf("arg %s present = %t with tls.mode %s", a, !selfManaged, c.tls)
		}
	}
	hasNS := slices.ContainsFunc(ctr.Env, func(e corev1.EnvVar) bool {
		return e.Name == "POD_NAMESPACE" && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.namespace"
	})
	if hasNS != selfManaged {
		t.Errorf("env POD_NAMESPACE from the downward API present = %t with tls.mode %s", hasNS, c.tls)
	}
	if slices.Contains(ctr.Args, "--dry-run") != c.dryRun {
		t.Errorf("--dry-run present = %t, dryRun %t", !c.dryRun, c.dryRun)
	}
	var tlsVol *corev1.Volume
	for i := range pod.Volumes {
		if pod.Volumes[i].Name == "tls" {
			tlsVol = &pod.Volumes[i]
		}
	}
	switch {
	case tlsVol == nil:
		t.Fatal("no tls volume")
	case selfManaged && tlsVol.EmptyDir == nil:
		t.Errorf("self-managed TLS writes its certificate into an emptyDir; got %+v", tlsVol.VolumeSource)
	case c.tls == "certManager" && (tlsVol.Secret == nil || tlsVol.Secret.SecretName != c.fullname()+"-tls"):
		t.Errorf("cert-manager's Secret %s-tls must be mounted; got %+v", c.fullname(), tlsVol.VolumeSource)
	case c.tls == "existingSecret" && (tlsVol.Secret == nil || tlsVol.Secret.SecretName != "my-tls"):
		t.Errorf("the existing Secret my-tls must be mounted; got %+v", tlsVol.VolumeSource)
	}

	// RBAC that writes only with self-managed TLS, every verb limited by
	// resourceNames, and no create (the chart creates the Secrets empty).
	// The context rules' read-only ClusterRole is TestContextRulesRBAC's.
	for _, o := range objs {
		if o.Name == c.fullname()+"-context" {
			continue
		}
		var rules []rbacv1.PolicyRule
		switch r := o.Typed.(type) {
		case *rbacv1.Role:
			rules = r.Rules
		case *rbacv1.ClusterRole:
			rules = r.Rules
		default:
			continue
		}
		for _, r := range rules {
			if len(r.ResourceNames) == 0 {
				t.Errorf("%s: rule %v is not limited by resourceNames", o.Key(), r)
			}
			if slices.Contains(r.Verbs, "*") || slices.Contains(r.Resources, "*") || slices.Contains(r.Verbs, "create") {
				t.Errorf("%s: rule %v grants a wildcard or create", o.Key(), r)
			}
		}
	}
	if selfManaged {
		role := Find(objs, "Role", c.fullname()+"-tls").Typed.(*rbacv1.Role)
		want := []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"},
			ResourceNames: []string{c.fullname() + "-tls", c.fullname() + "-tls-ca"}, Verbs: []string{"get", "list", "watch", "update"}}}
		if d := cmp.Diff(want, role.Rules); d != "" {
			t.Errorf("the self-managed TLS Role (-want +got):\n%s", d)
		}
	}

	// The pre-delete hook deletes exactly the release's configurations.
	job := Find(objs, "Job", c.fullname()+"-cleanup").Typed.(*batchv1.Job)
	if job.Annotations["helm.sh/hook"] != "pre-delete" {
		t.Errorf("the cleanup Job is not a pre-delete hook: %v", job.Annotations)
	}
	args := job.Spec.Template.Spec.Containers[0].Args
	for _, want := range []string{"mutatingwebhookconfiguration/" + c.fullname(), "validatingwebhookconfiguration/" + c.fullname()} {
		if !slices.Contains(args, want) {
			t.Errorf("the cleanup Job does not delete %s: %v", want, args)
		}
	}
	for _, want := range []string{"secret/" + c.fullname() + "-tls", "secret/" + c.fullname() + "-tls-ca"} {
		if slices.Contains(args, want) != selfManaged {
			t.Errorf("the cleanup Job deletes %s = %t with tls.mode %s: %v", want, !selfManaged, c.tls, args)
		}
	}
}

func checkTLS(t *testing.T, c renderCase, objs []Object) {
	t.Helper()
	if c.tls != "certManager" {
		return
	}
	cert := Find(objs, "Certificate", c.fullname()+"-tls").Typed.(*cmv1.Certificate)
	for _, dns := range []string{c.fullname() + "." + c.namespace + ".svc", c.fullname() + "." + c.namespace + ".svc.cluster.local"} {
		if !slices.Contains(cert.Spec.DNSNames, dns) {
			t.Errorf("Certificate dnsNames %v lack %s, the name the API server calls", cert.Spec.DNSNames, dns)
		}
	}
	if cert.Spec.SecretName != c.fullname()+"-tls" || cert.Spec.IssuerRef.Name != c.fullname()+"-ca" {
		t.Errorf("Certificate secretName %q issuer %q", cert.Spec.SecretName, cert.Spec.IssuerRef.Name)
	}
	ca := Find(objs, "Certificate", c.fullname()+"-ca").Typed.(*cmv1.Certificate)
	if !ca.Spec.IsCA || ca.Spec.IssuerRef.Name != c.fullname()+"-selfsigned" {
		t.Errorf("CA Certificate isCA %t issuer %q", ca.Spec.IsCA, ca.Spec.IssuerRef.Name)
	}
	if iss := Find(objs, "Issuer", c.fullname()+"-selfsigned").Typed.(*cmv1.Issuer); iss.Spec.SelfSigned == nil {
		t.Error("the self-signed Issuer is not selfSigned")
	}
	if iss := Find(objs, "Issuer", c.fullname()+"-ca").Typed.(*cmv1.Issuer); iss.Spec.CA == nil || iss.Spec.CA.SecretName != c.fullname()+"-ca" {
		t.Error("the CA Issuer does not sign with the CA's Secret")
	}
}

// A given issuerRef replaces the chart's own CA.
func TestCertManagerIssuerRef(t *testing.T) {
	objs := render(t, "plimsoll", "plimsoll-system", "--set", "tls.mode=certManager",
		"--set", "tls.certManager.issuerRef.name=corp-ca", "--set", "tls.certManager.issuerRef.kind=ClusterIssuer", "--set", "tls.certManager.issuerRef.group=cert-manager.io")
	var kinds []string
	for _, o := range objs {
		if o.GVK.Group == "cert-manager.io" {
			kinds = append(kinds, o.Key())
		}
	}
	if d := cmp.Diff([]string{"Certificate/plimsoll-system/plimsoll-tls"}, kinds); d != "" {
		t.Errorf("cert-manager objects (-want +got):\n%s", d)
	}
	cert := Find(objs, "Certificate", "plimsoll-tls").Typed.(*cmv1.Certificate)
	if cert.Spec.IssuerRef.Name != "corp-ca" || cert.Spec.IssuerRef.Kind != "ClusterIssuer" {
		t.Errorf("issuerRef %+v", cert.Spec.IssuerRef)
	}
}

// The optional objects render and decode strictly when turned on.
func TestOptionalObjects(t *testing.T) {
	objs := render(t, "plimsoll", "plimsoll-system",
		"--set", "networkPolicy.enabled=true", "--set", "serviceMonitor.enabled=true", "--set", "policyChecksumAnnotation=true",
		"--set", "prometheusRule.enabled=true", "--set", "grafanaDashboard.enabled=true",
		"--set-json", `networkPolicy.metricsFrom=[{"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"monitoring"}}}]`)
	for _, k := range []string{"NetworkPolicy", "ServiceMonitor"} {
		if Find(objs, k, "plimsoll") == nil {
			t.Errorf("no %s", k)
		}
	}
	rule := Find(objs, "PrometheusRule", "plimsoll")
	if rule == nil || len(rule.Typed.(*PrometheusRule).Spec.Groups) == 0 || len(rule.Typed.(*PrometheusRule).Spec.Groups[0].Rules) < 5 {
		t.Errorf("the PrometheusRule does not carry the alerts of files/prometheus-rules.yaml: %+v", rule)
	} else if expr := rule.Typed.(*PrometheusRule).Spec.Groups[0].Rules[0].Annotations["description"]; !strings.Contains(expr, "{{ $value") {
		t.Errorf("alert templates must reach Prometheus unrendered by Helm, got %q", expr)
	}
	dash := Find(objs, "ConfigMap", "plimsoll-dashboard")
	if dash == nil || dash.Typed.(*corev1.ConfigMap).Labels["grafana_dashboard"] != "1" || !json.Valid([]byte(dash.Typed.(*corev1.ConfigMap).Data["plimsoll.json"])) {
		t.Errorf("the dashboard ConfigMap is missing, unlabelled or not JSON: %+v", dash)
	}
	d := Find(objs, "Deployment", "plimsoll").Typed.(*appsv1.Deployment)
	if d.Spec.Template.Annotations["checksum/policy"] == "" {
		t.Error("policyChecksumAnnotation=true puts no checksum/policy annotation on the Pods")
	}
	if Find(render(t, "plimsoll", "plimsoll-system"), "ServiceMonitor", "plimsoll") != nil {
		t.Errorf("ServiceMonitor is rendered by default; it must be off")
	}
}

// The NetworkPolicy, on by default, isolates every Pod the chart runs
// (plimsoll's network-policy rule asks it of every workload) and lets
// in what each serves: the webhook port, health, metrics.
func TestTheNetworkPolicySelectsEveryPodOfTheRelease(t *testing.T) {
	objs := render(t, "plimsoll", "plimsoll-system", "--set", "audit.enabled=true")
	np := Find(objs, "NetworkPolicy", "plimsoll")
	if np == nil {
		t.Fatal("no NetworkPolicy by default")
	}
	spec := np.Typed.(*networkingv1.NetworkPolicy).Spec
	sel, err := metav1.LabelSelectorAsSelector(&spec.PodSelector)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []struct{ kind, name string }{{"Deployment", "plimsoll"}, {"Deployment", "plimsoll-audit"}, {"Job", "plimsoll-cleanup"}} {
		o := Find(objs, w.kind, w.name)
		if o == nil {
			t.Fatalf("no %s %s", w.kind, w.name)
		}
		var podLabels map[string]string
		switch x := o.Typed.(type) {
		case *appsv1.Deployment:
			podLabels = x.Spec.Template.Labels
		case *batchv1.Job:
			podLabels = x.Spec.Template.Labels
		}
		if !sel.Matches(labels.Set(podLabels)) {
			t.Errorf("the NetworkPolicy does not select the Pods of %s %s (%v)", w.kind, w.name, podLabels)
		}
	}
	var ports []string
	for _, rule := range spec.Ingress {
		for _, p := range rule.Ports {
			ports = append(ports, p.Port.String())
		}
	}
	if !slices.Equal(ports, []string{"https", "health", "metrics"}) || len(spec.PolicyTypes) != 1 || spec.PolicyTypes[0] != networkingv1.PolicyTypeIngress {
		t.Errorf("ingress ports %v, policy types %v: want https, health and metrics let in, ingress isolated", ports, spec.PolicyTypes)
	}
}

// audit.enabled adds the background audit: its own Deployment, read-only
// ClusterRole, ServiceAccount and metrics Service, whose Pods the webhook's
// Service, PodDisruptionBudget and topology spread never select.
func TestAuditObjects(t *testing.T) {
	auditObjects := []struct{ kind, name string }{
		{"Deployment", "plimsoll-audit"}, {"ServiceAccount", "plimsoll-audit"}, {"ClusterRole", "plimsoll-audit"},
		{"ClusterRoleBinding", "plimsoll-audit"}, {"Service", "plimsoll-audit-metrics"},
	}
	defaults := render(t, "plimsoll", "plimsoll-system")
	for _, o := range auditObjects {
		if Find(defaults, o.kind, o.name) != nil {
			t.Errorf("%s/%s is rendered by default; audit.enabled must be off", o.kind, o.name)
		}
	}

	objs := render(t, "plimsoll", "plimsoll-system", "--set", "audit.enabled=true", "--set", "serviceMonitor.enabled=true")
	for _, o := range auditObjects {
		if Find(objs, o.kind, o.name) == nil {
			t.Fatalf("audit.enabled=true renders no %s/%s", o.kind, o.name)
		}
	}
	audit := Find(objs, "Deployment", "plimsoll-audit").Typed.(*appsv1.Deployment)
	auditPods := labels.Set(audit.Spec.Template.Labels)
	server := Find(objs, "Deployment", "plimsoll").Typed.(*appsv1.Deployment)
	selectors := map[string]map[string]string{
		"the webhook's Service":             Find(objs, "Service", "plimsoll").Typed.(*corev1.Service).Spec.Selector,
		"the webhook's Deployment":          server.Spec.Selector.MatchLabels,
		"the webhook's topology spread":     server.Spec.Template.Spec.TopologySpreadConstraints[0].LabelSelector.MatchLabels,
		"the webhook's PodDisruptionBudget": Find(objs, "PodDisruptionBudget", "plimsoll").Typed.(*policyv1.PodDisruptionBudget).Spec.Selector.MatchLabels,
	}
	for what, sel := range selectors {
		if labels.SelectorFromSet(sel).Matches(auditPods) {
			t.Errorf("%s selects the audit's Pods (%v)", what, auditPods)
		}
	}
	if svc := Find(objs, "Service", "plimsoll-audit-metrics").Typed.(*corev1.Service); !labels.SelectorFromSet(svc.Spec.Selector).Matches(auditPods) ||
		labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(server.Spec.Template.Labels)) {
		t.Errorf("the audit's metrics Service selects %v: want the audit's Pods only", svc.Spec.Selector)
	}
	// The ServiceMonitor scrapes both Services.
	sm := Find(objs, "ServiceMonitor", "plimsoll").Typed.(*ServiceMonitor)
	smSel, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"plimsoll", "plimsoll-audit-metrics"} {
		if svc := Find(objs, "Service", name).Typed.(*corev1.Service); !smSel.Matches(labels.Set(svc.Labels)) {
			t.Errorf("the ServiceMonitor does not select the Service %s (labels %v)", name, svc.Labels)
		}
	}

	// Read-only, except PolicyReports.
	role := Find(objs, "ClusterRole", "plimsoll-audit").Typed.(*rbacv1.ClusterRole)
	for _, r := range role.Rules {
		writes := slices.ContainsFunc(r.Verbs, func(v string) bool { return v != "get" && v != "list" && v != "watch" })
		if writes && !slices.Equal(r.APIGroups, []string{"wgpolicyk8s.io"}) {
			t.Errorf("the audit's ClusterRole may %v %v in %v: it must write nothing but PolicyReports", r.Verbs, r.Resources, r.APIGroups)
		}
		if slices.Contains(r.Resources, "secrets") || slices.Contains(r.Verbs, "*") {
			t.Errorf("the audit's ClusterRole grants %v on %v", r.Verbs, r.Resources)
		}
	}
	// What the context rules read (docs/audit.md), only while they run.
	contextReads := [][2]string{{"policy", "poddisruptionbudgets"}, {"autoscaling", "horizontalpodautoscalers"}, {"", "resourcequotas"}, {"", "limitranges"}}
	grants := func(role *rbacv1.ClusterRole, group, resource string) bool {
		return slices.ContainsFunc(role.Rules, func(r rbacv1.PolicyRule) bool {
			return slices.Contains(r.APIGroups, group) && slices.Contains(r.Resources, resource) &&
				slices.Contains(r.Verbs, "list") && slices.Contains(r.Verbs, "watch")
		})
	}
	noContext := Find(render(t, "plimsoll", "plimsoll-system", "--set", "audit.enabled=true", "--set", "contextRules.enabled=false"),
		"ClusterRole", "plimsoll-audit").Typed.(*rbacv1.ClusterRole)
	for _, gr := range contextReads {
		if !grants(role, gr[0], gr[1]) {
			t.Errorf("the audit's ClusterRole does not let it list and watch %s in %q: the context rules read them", gr[1], gr[0])
		}
		if grants(noContext, gr[0], gr[1]) {
			t.Errorf("with contextRules.enabled=false the audit's ClusterRole still grants %s in %q", gr[1], gr[0])
		}
	}
	off := render(t, "plimsoll", "plimsoll-system", "--set", "audit.enabled=true", "--set", "audit.policyReports=false")
	for _, r := range Find(off, "ClusterRole", "plimsoll-audit").Typed.(*rbacv1.ClusterRole).Rules {
		if slices.Contains(r.APIGroups, "wgpolicyk8s.io") {
			t.Error("audit.policyReports=false still grants access to PolicyReports")
		}
	}
	args := Find(off, "Deployment", "plimsoll-audit").Typed.(*appsv1.Deployment).Spec.Template.Spec.Containers[0].Args
	if !slices.Contains(args, "--policy-reports=false") {
		t.Errorf("audit.policyReports=false is not passed on: %q", args)
	}
}

// The schema refuses a misspelled or mistyped value, naming it.
func TestSchemaRefusesTypos(t *testing.T) {
	for _, c := range []struct {
		name  string
		flags []string
		want  string
	}{
		{"an unknown top-level value", []string{"--set", "tpyo=1"}, "tpyo"},
		{"a misspelled nested value", []string{"--set", "webhook.failurPolicy.enforce=Fail"}, "failurPolicy"},
		{"a misspelled mode", []string{"--set", "webhook.failurePolicy.enfroce=Fail"}, "enfroce"},
		{"a wrongly cased TLS mode", []string{"--set", "tls.mode=selfmanaged"}, "/tls/mode"},
		{"an unknown scope", []string{"--set", "scope=everything"}, "/scope"},
		{"an empty scope", []string{"--set", "scope="}, "/scope"},
		{"a failure policy in lower case", []string{"--set", "webhook.failurePolicy.warn=ignore"}, "/webhook/failurePolicy/warn"},
		{"a string for a number", []string{"--set", "replicaCount=two"}, "/replicaCount"},
		{"a timeout above 30s", []string{"--set", "webhook.timeoutSeconds=31"}, "/webhook/timeoutSeconds"},
		{"the latest image tag", []string{"--set", "image.tag=latest"}, "/image/tag"},
		{"a misspelled policy field", []string{"--set", "policy.rulez.image-tag=off"}, "rulez"},
		{"an unknown rule severity", []string{"--set", "policy.rules.image-tag=critical"}, "/policy/rules/image-tag"},
		{"an invalid excluded namespace", []string{"--set", "excludedNamespaces[0]=Not_A_Namespace"}, "/excludedNamespaces/0"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := Template("plimsoll", "plimsoll-system", c.flags...)
			if err == nil {
				t.Fatalf("helm template %v rendered", c.flags)
			}
			if !strings.Contains(err.Error(), "schema") || !strings.Contains(err.Error(), c.want) {
				t.Errorf("the error does not come from the schema or does not name %q:\n%v", c.want, err)
			}
		})
	}
}

// The guards fail rendering on dangerous combinations, even with the
// schema skipped, and let the safe ones through.
func TestGuards(t *testing.T) {
	for _, c := range []struct {
		name  string
		flags []string
		want  string // "" renders
	}{
		{"one replica with enforce failing closed", []string{"--set", "replicaCount=1"}, "replicaCount 1 with webhook.failurePolicy.enforce Fail"},
		{"one replica with warn failing closed", []string{"--set", "replicaCount=1", "--set", "webhook.failurePolicy.enforce=Ignore", "--set", "webhook.failurePolicy.warn=Fail", "--set", "podDisruptionBudget.enabled=false"}, "webhook.failurePolicy.warn Fail"},
		{"one replica failing open", []string{"--set", "replicaCount=1", "--set", "webhook.failurePolicy.enforce=Ignore", "--set", "podDisruptionBudget.enabled=false"}, ""},
		{"one replica in dry run (audit only, failing open)", []string{"--set", "replicaCount=1", "--set", "dryRun=true", "--set", "podDisruptionBudget.enabled=false"}, ""},
		{"a PodDisruptionBudget that blocks every drain", []string{"--set", "replicaCount=2", "--set", "podDisruptionBudget.minAvailable=2"}, "no drain could ever evict"},
		{"cluster scope enforcing by default with no extra exclusions", []string{"--set", "scope=cluster", "--set", "defaultMode=enforce"}, ""},
		{"an empty scope, schema skipped", []string{"--skip-schema-validation", "--set", "scope="}, `scope "": use opt-in`},
		{"an unknown scope, schema skipped", []string{"--skip-schema-validation", "--set", "scope=all"}, `scope "all"`},
		{"an unknown default mode, schema skipped", []string{"--skip-schema-validation", "--set", "scope=cluster", "--set", "defaultMode=off"}, `defaultMode "off"`},
		{"an unknown TLS mode, schema skipped", []string{"--skip-schema-validation", "--set", "tls.mode=vault"}, `tls.mode "vault"`},
		{"an unknown TLS mode", []string{"--set", "tls.mode=vault"}, "/tls/mode"},
		{"a failure policy in lower case, schema skipped", []string{"--skip-schema-validation", "--set", "webhook.failurePolicy.enforce=fail"}, "webhook.failurePolicy.enforce"},
		{"existingSecret without a Secret", []string{"--set", "tls.mode=existingSecret"}, "needs tls.existingSecret.name"},
		{"existingSecret without a CA", []string{"--set", "tls.mode=existingSecret", "--set", "tls.existingSecret.name=x"}, "needs tls.existingSecret.caBundle"},
		{"a grace period shorter than the drain", []string{"--set", "terminationGracePeriodSeconds=20"}, "must exceed shutdownDelaySeconds + shutdownTimeoutSeconds"},
		{"a ServiceMonitor without metrics", []string{"--set", "serviceMonitor.enabled=true", "--set", "metrics.enabled=false"}, "needs metrics.enabled"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := Template("plimsoll", "plimsoll-system", c.flags...)
			switch {
			case c.want == "" && err != nil:
				t.Errorf("should render: %v", err)
			case c.want != "" && err == nil:
				t.Errorf("rendered; want a failure saying %q", c.want)
			case c.want != "" && !strings.Contains(err.Error(), c.want):
				t.Errorf("the failure does not say %q:\n%v", c.want, err)
			}
		})
	}
}
