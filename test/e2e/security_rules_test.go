package e2e

// The security rules of issue 17 that read only the object, at admission
// through the real API server: blockedRegistries (image-registry),
// image-digest, secret-env by value and configmap-secrets, with a plimsoll
// of their own whose policy blocks a registry path and raises image-digest
// to a warning, and whose webhook configuration sends ConfigMaps
// (configMapValidation.enabled, off in the chart by default).

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/plimsoll/plimsoll/admission"
	"github.com/plimsoll/plimsoll/check"
	"github.com/plimsoll/plimsoll/internal/fakesecrets"
	"github.com/plimsoll/plimsoll/test/chart"
	"github.com/plimsoll/plimsoll/test/harness"
)

const securityPolicy = `apiVersion: plimsoll.dev/v1alpha1
kind: Policy
rules:
  image-digest: warning
blockedRegistries: ["docker.io/untrusted"]
`

// digest is a well-formed image digest.
const digest = "@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// securityServer starts a plimsoll named name with securityPolicy, whose
// validating entries also receive ConfigMaps, and returns it with a
// namespace it judges in enforce.
func securityServer(t *testing.T, name string) (*harness.Extra, string) {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "policy.yaml")
	writeFile(t, cfg, securityPolicy)
	return extraServer(t, name, chart.WebhookValues{ConfigMapValidation: true}, "--config", cfg)
}

// compliantPod is the compliant Deployment's Pod, named name, in ns.
func compliantPod(t *testing.T, ns, name string) *corev1.Pod {
	d := load[*appsv1.Deployment](t, "compliant-deployment.yaml")
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: d.Spec.Template.Labels},
		Spec:       *d.Spec.Template.Spec.DeepCopy(),
	}
}

// auditJSON runs plimsoll audit -o json on namespace ns as the admin.
func auditJSON(t *testing.T, ns string) (results []check.Result, raw string) {
	t.Helper()
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	auditWriteKubeconfig(t, env.Config, kubeconfig)
	return runAuditJSON(t, kubeconfig, ns)
}

// runAuditJSON runs plimsoll audit -o json on namespace ns through
// kubeconfig (context e2e), failing the test unless it exits 0 or 1, and
// returns its results and all it printed.
func runAuditJSON(t *testing.T, kubeconfig, ns string) (results []check.Result, raw string) {
	t.Helper()
	cmd := exec.CommandContext(context.Background(), filepath.Join(env.BinDir, "plimsoll"), "audit", "--kubeconfig", kubeconfig, "--context", "e2e", "--namespace", ns, "-o", "json")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if code := cmd.ProcessState.ExitCode(); code != 0 && code != 1 {
		t.Fatalf("plimsoll audit exited %d (%v): %s", code, err, stderr.String())
	}
	var got struct {
		Results []check.Result `json:"results"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("plimsoll audit -o json: %v\n%s", err, stdout.String())
	}
	return got.Results, stdout.String() + stderr.String()
}

// leaked returns the fragments of secret that text holds.
func leaked(text, secret string) []string {
	var out []string
	for _, f := range fakesecrets.Fragments(secret) {
		if strings.Contains(text, f) {
			out = append(out, f)
		}
	}
	return out
}

// A blocked registry path is refused in enforce however the image spells
// the registry (Docker Hub's other host names, upper case, a digest
// instead of a tag); a registry beside it is not. image-digest, raised to a
// warning, warns about a tag and not about a digest.
func TestImageProvenanceAtAdmission(t *testing.T) {
	ctx := context.Background()
	_, ns := securityServer(t, "provenance")
	client, warnings, err := env.ClientWithWarnings()
	if err != nil {
		t.Fatal(err)
	}
	for _, image := range []string{
		"untrusted/miner:1.0",
		"docker.io/untrusted/miner:1.0",
		"index.docker.io/untrusted/miner:1.0",
		"registry-1.docker.io/untrusted/miner:1.0",
		"DOCKER.IO/untrusted/miner:1.0",
		"untrusted/miner" + digest,
	} {
		pod := compliantPod(t, ns, "blocked")
		pod.Spec.Containers[0].Image = image
		_, err := client.CoreV1().Pods(ns).Create(ctx, pod, dryRun())
		if err == nil || !strings.Contains(err.Error(), "[image-registry]") || !strings.Contains(err.Error(), "docker.io/untrusted") {
			t.Errorf("image %q from the blocked docker.io/untrusted: %v, want a denial by image-registry naming the blocked entry", image, err)
		}
	}
	for _, c := range []struct {
		image      string
		digestWarn bool
	}{
		{"docker.io/trusted/tool:1.0", true},
		{"docker.io/untrustedness/tool:1.0", true}, // a path beside the blocked one, not under it
		{"registry.example.com/team/api:2.4.1" + digest, false},
		{"registry.example.com/team/api" + digest, false},
	} {
		pod := compliantPod(t, ns, "allowed")
		pod.Spec.Containers[0].Image = c.image
		warnings.Take()
		if _, err := client.CoreV1().Pods(ns).Create(ctx, pod, dryRun()); err != nil {
			t.Errorf("image %q is refused: %v", c.image, err)
			continue
		}
		ws := withRule(warnings.Take(), "image-digest")
		if c.digestWarn && (len(ws) != 1 || !strings.Contains(ws[0], "@sha256:")) {
			t.Errorf("image %q, pinned by tag: image-digest warnings %q, want one saying to pin by @sha256:", c.image, ws)
		}
		if !c.digestWarn && len(ws) != 0 {
			t.Errorf("image %q, pinned by digest: image-digest warnings %q", c.image, ws)
		}
	}
}

// The Polaris case: a private key in a variable whose name says nothing
// (the_good_stuff) is reported at admission and by plimsoll audit, by the
// variable's name and the key's format, and the key appears in no warning,
// no log line and no report. The Pod is admitted in enforce: secret-env is
// a warning.
func TestPrivateKeyInAnInnocentVariable(t *testing.T) {
	ctx := context.Background()
	x, ns := securityServer(t, "secret-env")
	key := fakesecrets.Examples()["a PEM private key"]
	client, warnings, err := env.ClientWithWarnings()
	if err != nil {
		t.Fatal(err)
	}
	pod := compliantPod(t, ns, "keyholder")
	pod.Spec.Containers[0].Image += digest
	pod.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "LOG_LEVEL", Value: "info"}, {Name: "the_good_stuff", Value: key}}
	warnings.Take()
	if _, err := client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatalf("a Pod with a literal private key is refused in enforce (secret-env is a warning): %v", err)
	}
	all := warnings.Take()
	ws := withRule(all, "secret-env")
	if len(ws) != 1 || !strings.Contains(ws[0], "the_good_stuff") || !strings.Contains(ws[0], "a PEM private key") {
		t.Errorf("secret-env warnings %q, want one naming the_good_stuff and the format (a PEM private key)", ws)
	}
	if strings.Contains(strings.Join(ws, "\n"), "LOG_LEVEL") {
		t.Errorf("LOG_LEVEL=info is reported as a secret: %q", ws)
	}
	results, raw := auditJSON(t, ns)
	i := slices.IndexFunc(results, func(r check.Result) bool {
		return r.Rule == "secret-env" && r.Kind == "Pod" && r.Name == "keyholder"
	})
	if i < 0 || !strings.Contains(results[i].Message, "the_good_stuff") {
		t.Errorf("plimsoll audit does not report the_good_stuff of Pod keyholder; results:\n%+v", results)
	}
	for where, text := range map[string]string{
		"the admission warnings":  strings.Join(all, "\n"),
		"plimsoll serve's log":    x.Process.Log(),
		"plimsoll audit's output": raw,
	} {
		if l := leaked(text, key); len(l) > 0 {
			t.Errorf("%s carry the private key (%d fragments, such as %q)", where, len(l), l[0])
		}
	}
}

// configmap-secrets at admission where the webhook configuration sends
// ConfigMaps: a ConfigMap with an access key is warned about (not refused:
// a warning) by key name and format, one without is not, and the key is in
// no warning, log line or audit report. Where the configuration does not
// send ConfigMaps (the chart's default, the shared plimsoll), nothing is
// said at admission, and plimsoll audit still reports it.
func TestConfigMapSecretsAtAdmission(t *testing.T) {
	ctx := context.Background()
	x, ns := securityServer(t, "configmaps")
	secret := fakesecrets.Examples()["an AWS access key ID"]
	client, warnings, err := env.ClientWithWarnings()
	if err != nil {
		t.Fatal(err)
	}
	withKey := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "app-settings", Namespace: ns},
		Data:       map[string]string{"settings.ini": "[storage]\nbucket = reports\naccess = " + secret + "\n", "mode": "production"},
	}
	plain := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "feature-flags", Namespace: ns},
		Data:       map[string]string{"flags.yaml": "checkout: true\nsearch: false\n"},
	}
	warnings.Take()
	if _, err := client.CoreV1().ConfigMaps(ns).Create(ctx, plain, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if ws := warnings.Take(); len(ws) != 0 {
		t.Errorf("a ConfigMap without secrets is warned about: %q", ws)
	}
	if _, err := client.CoreV1().ConfigMaps(ns).Create(ctx, withKey, metav1.CreateOptions{}); err != nil {
		t.Fatalf("a ConfigMap with a secret is refused in enforce (configmap-secrets is a warning): %v", err)
	}
	all := warnings.Take()
	ws := withRule(all, "configmap-secrets")
	if len(ws) != 1 || !strings.Contains(ws[0], `"settings.ini"`) || !strings.Contains(ws[0], "an AWS access key ID") {
		t.Errorf("configmap-secrets warnings %q, want one naming key settings.ini and the format", ws)
	}

	// The shared plimsoll, installed with the chart's defaults, is not sent
	// ConfigMaps.
	shared := "configmaps-by-default"
	if err := env.CreateNamespace(ctx, shared, admission.Enforce); err != nil {
		t.Fatal(err)
	}
	waitJudged(t, shared)
	other := withKey.DeepCopy()
	other.Namespace = shared
	warnings.Take()
	if _, err := client.CoreV1().ConfigMaps(shared).Create(ctx, other, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if ws := withRule(warnings.Take(), "configmap-secrets"); len(ws) != 0 {
		t.Errorf("the chart's defaults send ConfigMaps to plimsoll: %q", ws)
	}

	// plimsoll audit judges ConfigMaps whatever the webhook is sent.
	for _, n := range []string{ns, shared} {
		results, raw := auditJSON(t, n)
		i := slices.IndexFunc(results, func(r check.Result) bool {
			return r.Rule == "configmap-secrets" && r.Kind == "ConfigMap" && r.Name == "app-settings"
		})
		if i < 0 {
			t.Errorf("plimsoll audit -n %s does not report ConfigMap app-settings; results:\n%+v", n, results)
		}
		if slices.ContainsFunc(results, func(r check.Result) bool { return r.Name == "feature-flags" }) {
			t.Errorf("plimsoll audit -n %s reports ConfigMap feature-flags", n)
		}
		if l := leaked(raw, secret); len(l) > 0 {
			t.Errorf("plimsoll audit -n %s carries the access key", n)
		}
	}
	for where, text := range map[string]string{"the admission warnings": strings.Join(all, "\n"), "plimsoll serve's log": x.Process.Log()} {
		if l := leaked(text, secret); len(l) > 0 {
			t.Errorf("%s carry the access key", where)
		}
	}
}

// service-account-token on the real API server, with the ServiceAccounts
// read from plimsoll's cache. Without defaulting: a Pod whose
// ServiceAccount leaves automountServiceAccountToken unset is warned
// about, naming the account; one whose account sets false, or that sets
// the field itself, is not. With defaults.serviceAccountToken: false:
// /mutate writes false into the first Pod and never over the Pod's own
// true or the account's false.
func TestServiceAccountTokenAtAdmission(t *testing.T) {
	ctx := context.Background()
	plain, plainNS := contextServer(t, "tokens", "")

	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := env.WriteKubeconfig(kubeconfig, ""); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "policy.yaml")
	writeFile(t, cfg, "apiVersion: plimsoll.dev/v1alpha1\nkind: Policy\ndefaults:\n  serviceAccountToken: false\n")
	x, defaultedNS := extraServer(t, "tokens-defaulted", chart.WebhookValues{}, "--kubeconfig", kubeconfig, "--config", cfg)

	no := false
	for _, ns := range []string{plainNS, defaultedNS} {
		for _, sa := range []*corev1.ServiceAccount{
			{ObjectMeta: metav1.ObjectMeta{Name: "api-caller", Namespace: ns}},
			{ObjectMeta: metav1.ObjectMeta{Name: "quiet", Namespace: ns}, AutomountServiceAccountToken: &no},
		} {
			if _, err := env.Client.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, p := range []*harness.Extra{plain, x} {
		waitFor(t, 2*time.Minute, p.Name+"'s caches to sync", func() bool {
			return strings.Contains(p.Process.Log(), "the caches of the cluster are synced")
		})
	}
	client, warnings, err := env.ClientWithWarnings()
	if err != nil {
		t.Fatal(err)
	}
	pod := func(ns, account string, automount *bool) *corev1.Pod {
		p := compliantPod(t, ns, "token-"+account)
		p.Spec.ServiceAccountName = account
		p.Spec.AutomountServiceAccountToken = automount
		return p
	}
	create := func(p *corev1.Pod) (*corev1.Pod, []string) {
		t.Helper()
		warnings.Take()
		got, err := client.CoreV1().Pods(p.Namespace).Create(ctx, p, dryRun())
		if err != nil {
			t.Fatalf("Pod %s/%s is refused (service-account-token only warns): %v", p.Namespace, p.Name, err)
		}
		return got, withRule(warnings.Take(), "service-account-token")
	}
	yes := true

	// Without defaulting. The ServiceAccounts reach the cache through its
	// watch.
	var ws []string
	waitFor(t, time.Minute, "ServiceAccount api-caller to reach plimsoll's cache", func() bool {
		_, ws = create(pod(plainNS, "api-caller", nil))
		return len(ws) == 1 && !strings.Contains(ws[0], "is not in the cluster")
	})
	if !strings.Contains(ws[0], `ServiceAccount "api-caller"`) || !strings.Contains(ws[0], "automountServiceAccountToken: false") {
		t.Errorf("warning %q does not name the ServiceAccount and what to write", ws[0])
	}
	for _, c := range []struct {
		account   string
		automount *bool
	}{{"quiet", nil}, {"api-caller", &no}, {"api-caller", &yes}} {
		if _, ws := create(pod(plainNS, c.account, c.automount)); len(ws) != 0 {
			t.Errorf("ServiceAccount %s, Pod's automountServiceAccountToken %v: warned %q", c.account, c.automount, ws)
		}
	}

	// With defaults.serviceAccountToken: false.
	var got *corev1.Pod
	waitFor(t, time.Minute, "ServiceAccount api-caller to reach the defaulting plimsoll's cache", func() bool {
		got, _ = create(pod(defaultedNS, "api-caller", nil))
		return got.Spec.AutomountServiceAccountToken != nil
	})
	if a := got.Spec.AutomountServiceAccountToken; *a {
		t.Errorf("defaulting wrote automountServiceAccountToken: %v, want false", *a)
	}
	if got, ws := create(pod(defaultedNS, "api-caller", &yes)); got.Spec.AutomountServiceAccountToken == nil || !*got.Spec.AutomountServiceAccountToken || len(ws) != 0 {
		t.Errorf("a Pod that sets automountServiceAccountToken: true: stored %v, warned %q; want true kept, no warning", got.Spec.AutomountServiceAccountToken, ws)
	}
	if got, ws := create(pod(defaultedNS, "quiet", nil)); got.Spec.AutomountServiceAccountToken != nil || len(ws) != 0 {
		t.Errorf("a Pod of ServiceAccount quiet (false): stored %v, warned %q; want the field left to the account, no warning", got.Spec.AutomountServiceAccountToken, ws)
	}
}
