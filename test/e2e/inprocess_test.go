package e2e

// plimsoll export's admission policies on the real API server: the same
// verdicts as the webhook on every fixture of the rules they carry, in
// each mode, and a privileged Pod still refused in enforce while the
// webhook is down.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/plimsoll/plimsoll/admission"
	"github.com/plimsoll/plimsoll/internal/fixtures"
	"github.com/plimsoll/plimsoll/mutate"
	"github.com/plimsoll/plimsoll/test/chart"
	"github.com/plimsoll/plimsoll/test/harness"
)

// exported runs plimsoll export with args, installs what it prints and
// returns the IDs of the rules it carries. The objects are removed when
// the test ends.
func exported(t *testing.T, args ...string) []string {
	t.Helper()
	ctx := context.Background()
	cmd := exec.CommandContext(ctx, filepath.Join(env.BinDir, "plimsoll"), append([]string{"export"}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("plimsoll export %v: %v\n%s", args, err, stderr.String())
	}
	var rules []string
	for _, line := range strings.Split(stdout.String(), "\n") {
		if rest, ok := strings.CutPrefix(line, "# In-process ("); ok {
			_, list, _ := strings.Cut(rest, "): ")
			rules = strings.Split(list, ", ")
		}
	}
	if len(rules) == 0 {
		t.Fatalf("plimsoll export names no in-process rule:\n%s", stdout.String())
	}
	installStream(t, stdout.Bytes(), "plimsoll export")
	return rules
}

// installStream installs the ValidatingAdmissionPolicies and bindings of
// a YAML stream (from where, for messages) with installPolicies, and
// returns how many policies it held. Anything else in it fails the test.
func installStream(t *testing.T, stream []byte, from string) int {
	t.Helper()
	objs, err := chart.Decode(stream)
	if err != nil {
		t.Fatalf("%s: %v", from, err)
	}
	var policies []*admissionregistrationv1.ValidatingAdmissionPolicy
	var bindings []*admissionregistrationv1.ValidatingAdmissionPolicyBinding
	var mutating []*admissionregistrationv1.MutatingAdmissionPolicy
	var mutatingBindings []*admissionregistrationv1.MutatingAdmissionPolicyBinding
	for _, o := range objs {
		switch v := o.Typed.(type) {
		case *admissionregistrationv1.ValidatingAdmissionPolicy:
			policies = append(policies, v)
		case *admissionregistrationv1.ValidatingAdmissionPolicyBinding:
			bindings = append(bindings, v)
		case *admissionregistrationv1.MutatingAdmissionPolicy:
			mutating = append(mutating, v)
		case *admissionregistrationv1.MutatingAdmissionPolicyBinding:
			mutatingBindings = append(mutatingBindings, v)
		default:
			t.Fatalf("%s holds a %T", from, o.Typed)
		}
	}
	installPolicies(context.Background(), t, policies, bindings)
	installMutating(context.Background(), t, mutating, mutatingBindings)
	return len(policies) + len(mutating)
}

// installMutating creates MutatingAdmissionPolicies and their bindings,
// removed when the test ends.
func installMutating(ctx context.Context, t *testing.T, policies []*admissionregistrationv1.MutatingAdmissionPolicy, bindings []*admissionregistrationv1.MutatingAdmissionPolicyBinding) {
	t.Helper()
	adm := env.Client.AdmissionregistrationV1()
	install(ctx, t, "MutatingAdmissionPolicy", adm.MutatingAdmissionPolicies(), policies)
	install(ctx, t, "MutatingAdmissionPolicyBinding", adm.MutatingAdmissionPolicyBindings(), bindings)
}

// waitDenied waits until a dry-run create of the privileged Pod in ns is
// denied by a ValidatingAdmissionPolicy (policies and bindings reach the
// API server's admission through an informer).
func waitDenied(t *testing.T, ns string) {
	t.Helper()
	waitFor(t, time.Minute, "the exported policies to judge namespace "+ns, func() bool {
		_, err := env.Client.CoreV1().Pods(ns).Create(context.Background(), in(load[*corev1.Pod](t, "privileged-pod.yaml"), ns), dryRun())
		return err != nil && strings.Contains(err.Error(), "ValidatingAdmissionPolicy")
	})
}

// waitBound waits until both the error and the warning policies that
// plimsoll export --name name printed judge namespace ns of mode m: a
// privileged Pod is refused (enforce) or warned about (warn) by
// name-error, and a Pod without probes is warned about by name-warning.
// Each policy and each binding reaches the API server's admission through
// an informer of its own: that one answers says nothing of the others.
func waitBound(t *testing.T, name, ns string, m admission.Mode) {
	t.Helper()
	client, warnings, err := env.ClientWithWarnings()
	if err != nil {
		t.Fatal(err)
	}
	unprobed := benchPod(t)
	unprobed.Namespace = ns
	unprobed.Spec.Containers[0].LivenessProbe, unprobed.Spec.Containers[0].ReadinessProbe, unprobed.Spec.Containers[0].Ports = nil, nil, nil
	by := func(policy string) string { return "ValidatingAdmissionPolicy '" + name + "-" + policy + "'" }
	waitFor(t, time.Minute, "the exported policies "+name+"-error and "+name+"-warning to judge namespace "+ns, func() bool {
		warnings.Take()
		_, err := client.CoreV1().Pods(ns).Create(context.Background(), in(load[*corev1.Pod](t, "privileged-pod.yaml"), ns), dryRun())
		refused := err != nil && strings.Contains(err.Error(), by("error"))
		warned := strings.Contains(strings.Join(warnings.Take(), "\n"), by("error"))
		if (m == admission.Enforce && !refused) || (m == admission.Warn && !warned) {
			return false
		}
		// (warned about even where another rule refuses it: the API
		// server returns the warnings with the refusal)
		_, _ = client.CoreV1().Pods(ns).Create(context.Background(), unprobed.DeepCopy(), dryRun())
		return strings.Contains(strings.Join(warnings.Take(), "\n"), by("warning"))
	})
}

// benchPod is the Pod that breaks no rule of the built-in policy
// (internal/fixtures, the benchmarks' own).
func benchPod(t *testing.T) *corev1.Pod {
	t.Helper()
	var p corev1.Pod
	if err := json.Unmarshal(fixtures.Get(fixtures.CompliantPod).JSON, &p); err != nil {
		t.Fatal(err)
	}
	return &p
}

// podKinds are the resources of the kinds the fixtures hold: Pods,
// workloads, budgets and autoscalers.
var podKinds = map[string]schema.GroupVersionResource{
	"Pod":                     {Version: "v1", Resource: "pods"},
	"ReplicationController":   {Version: "v1", Resource: "replicationcontrollers"},
	"Deployment":              {Group: "apps", Version: "v1", Resource: "deployments"},
	"StatefulSet":             {Group: "apps", Version: "v1", Resource: "statefulsets"},
	"DaemonSet":               {Group: "apps", Version: "v1", Resource: "daemonsets"},
	"ReplicaSet":              {Group: "apps", Version: "v1", Resource: "replicasets"},
	"Job":                     {Group: "batch", Version: "v1", Resource: "jobs"},
	"CronJob":                 {Group: "batch", Version: "v1", Resource: "cronjobs"},
	"PodDisruptionBudget":     {Group: "policy", Version: "v1", Resource: "poddisruptionbudgets"},
	"HorizontalPodAutoscaler": {Group: "autoscaling", Version: "v2", Resource: "horizontalpodautoscalers"},
}

// verdict is what a dry-run create came to, by rule ID among the rules
// compared.
type verdict struct {
	denied   []string // rules named in the denial
	warned   []string // rules named in warnings
	admitted bool
	// invalid: the API server's own validation refused the object, which
	// runs before validating admission (an ephemeral container on create,
	// say): nothing to compare.
	invalid bool
	detail  string
	// said are the messages of the exported policies' denial and
	// warnings, by the rules compared (what their messageExpressions
	// wrote).
	said []string
}

// policyMessage finds what a ValidatingAdmissionPolicy's messageExpression
// wrote, in a denial or a warning of the API server.
var policyMessage = regexp.MustCompile(`ValidatingAdmissionPolicy '[^']+' with binding '[^']+'(?: denied request)?: (\[[a-z][a-z0-9-]*\] .*)$`)

var ruleRef = regexp.MustCompile(`\[([a-z][a-z0-9-]*)\]`)

// ruleIDs are the rule IDs among among that text names as [id].
func ruleIDs(text string, among []string) []string {
	var out []string
	for _, m := range ruleRef.FindAllStringSubmatch(text, -1) {
		if slices.Contains(among, m[1]) && !slices.Contains(out, m[1]) {
			out = append(out, m[1])
		}
	}
	slices.Sort(out)
	return out
}

// judge dry-run creates obj in ns and returns the verdict on the rules
// among.
func judge(t *testing.T, dyn dynamic.Interface, warnings *harness.Warnings, obj *unstructured.Unstructured, ns string, among []string) verdict {
	t.Helper()
	gvr, ok := podKinds[obj.GetKind()]
	if !ok {
		t.Fatalf("no resource known for kind %s", obj.GetKind())
	}
	o := obj.DeepCopy()
	o.SetNamespace(ns)
	warnings.Take()
	_, err := dyn.Resource(gvr).Namespace(ns).Create(context.Background(), o, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	if err != nil && !apierrors.IsForbidden(err) && !apierrors.IsInvalid(err) {
		t.Fatalf("%s %s in %s: %v", obj.GetKind(), obj.GetName(), ns, err)
	}
	v := verdictOf(err, warnings.Take(), among)
	return v
}

// verdictOf is the verdict on the rules among of a request that returned
// err (nil, a refusal, or the API server's own validation failing) and
// the warnings ws.
func verdictOf(err error, ws []string, among []string) verdict {
	v := verdict{admitted: err == nil}
	said := func(text string) {
		if m := policyMessage.FindStringSubmatch(text); m != nil && len(ruleIDs(m[1], among)) > 0 {
			v.said = append(v.said, m[1])
		}
	}
	for _, w := range ws {
		v.warned = append(v.warned, ruleIDs(w, among)...)
		v.detail += "\n  warning: " + w
		said(w)
	}
	slices.Sort(v.warned)
	v.warned = slices.Compact(v.warned)
	if err != nil {
		v.invalid = apierrors.IsInvalid(err)
		v.denied = ruleIDs(err.Error(), among)
		v.detail += "\n  denied: " + err.Error()
		said(err.Error())
	}
	return v
}

// same reports whether the webhook's verdict w and the policies' p agree
// on the rules compared: the object is refused for one of them by both
// or by neither, every rule the policies refuse it for is one the webhook
// refuses it for (the API server names only the first validation that
// fails, the webhook every rule), and the same of them are warned about.
func same(w, p verdict) bool {
	refusedW := !w.admitted && len(w.denied) > 0
	refusedP := !p.admitted && len(p.denied) > 0
	if !p.admitted && len(p.denied) == 0 {
		return false // refused for something else than the rules compared
	}
	for _, r := range p.denied {
		if !slices.Contains(w.denied, r) {
			return false
		}
	}
	return refusedW == refusedP && slices.Equal(w.warned, p.warned)
}

// unsaid are the messages of the policies' verdict p that the webhook's w
// does not hold word for word: the messageExpressions write a finding as
// the webhook writes it (container, problem, field and fix).
func unsaid(w, p verdict) []string {
	var out []string
	for _, said := range p.said {
		if !strings.Contains(w.detail, said) {
			out = append(out, said)
		}
	}
	return out
}

// Every pass and fail fixture of every rule plimsoll export carries, in
// enforce, warn and audit, gives the same verdict and the same warnings
// (by rule ID, among those rules) through the exported policies alone as
// through the webhook.
func TestExportedPoliciesJudgeAsTheWebhook(t *testing.T) {
	ctx := context.Background()
	const label = "plimsoll-e2e/inprocess"
	rules := exported(t, "--name", "inprocess", "--mode-label", label)
	t.Logf("in-process rules: %s", strings.Join(rules, ", "))
	dyn, warnings := dynamicWithWarnings(t)
	for _, m := range admission.ServedModes {
		if err := env.CreateNamespace(ctx, "webhook-"+string(m), m); err != nil {
			t.Fatal(err)
		}
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "inprocess-" + string(m), Labels: map[string]string{label: string(m)}}}
		if _, err := env.Client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	waitJudged(t, "webhook-enforce")
	waitBound(t, "inprocess", "inprocess-enforce", admission.Enforce)
	waitBound(t, "inprocess", "inprocess-warn", admission.Warn)
	compareVerdicts(t, rules, rules, dyn, warnings, admission.ServedModes, func(m admission.Mode) (string, string) {
		return "webhook-" + string(m), "inprocess-" + string(m)
	})
}

// The same for the rules that read the policy's lists (requiredLabels,
// allowedRegistries and blockedRegistries) and those it leaves off unless
// told (image-digest, priority-class: turned on at warning, whose
// warnings are compared exactly, where a refusal names only the first
// rule the API server finds broken): a plimsoll serve runs a policy that
// sets them, and plimsoll export --config exports it.
func TestExportedPoliciesOfAConfiguredPolicyJudgeAsTheWebhook(t *testing.T) {
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "policy.yaml")
	policy := "apiVersion: plimsoll.dev/v1alpha1\nkind: Policy\nrequiredLabels: [app.kubernetes.io/name, team]\n" +
		"allowedRegistries: [ghcr.io/acme, registry.local:5000]\nblockedRegistries: [ghcr.io/acme/forbidden]\n" +
		"rules: {image-digest: warning, priority-class: warning}\n"
	if err := os.WriteFile(file, []byte(policy), 0o600); err != nil {
		t.Fatal(err)
	}
	x, _ := extraServer(t, "configured", chart.WebhookValues{}, "--config", file)
	const label = "plimsoll-e2e/configured-policies"
	rules := exported(t, "--config", file, "--name", "configured", "--mode-label", label)
	for _, m := range admission.ServedModes {
		if m != admission.Enforce {
			if err := x.Namespace(ctx, "configured-"+string(m), m); err != nil {
				t.Fatal(err)
			}
		}
		labelled(t, "configured-policies-"+string(m), label, m)
	}
	waitBound(t, "configured", "configured-policies-enforce", admission.Enforce)
	waitBound(t, "configured", "configured-policies-warn", admission.Warn)
	dyn, warnings := dynamicWithWarnings(t)
	// priority-class's fixtures name this class, which the API server's
	// Priority admission plugin looks up before either judge sees a Pod.
	pc := &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "business-critical"}, Value: 1000}
	if _, err := env.Client.SchedulingV1().PriorityClasses().Create(ctx, pc, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = env.Client.SchedulingV1().PriorityClasses().Delete(context.Background(), pc.Name, metav1.DeleteOptions{})
	})
	for _, want := range []string{"image-digest", "priority-class"} {
		if !slices.Contains(rules, want) {
			t.Fatalf("plimsoll export carries no %s where the policy turns it on: %v", want, rules)
		}
	}
	compareVerdicts(t, []string{"required-labels", "image-registry", "image-digest", "priority-class"}, rules, dyn, warnings, admission.ServedModes, func(m admission.Mode) (string, string) {
		return "configured-" + string(m), "configured-policies-" + string(m)
	})
	// A tenant's other spellings of a blocked or an unlisted image are
	// resolved alike: the host in capitals, Docker Hub's other names, a
	// digest, a port, a one-part name; and digests that are not quite one
	// are not taken for one.
	const hex64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	refused, pinned := 0, 0
	for i, img := range []string{
		"GHCR.IO/acme/forbidden/tool:1", "ghcr.io/acme/forbidden/tool@sha256:0f", "ghcr.io/acme/forbidden:1", "ghcr.io/acme/forbiddenx/tool:1",
		"ghcr.io/acme/app:1", "ghcr.io/acme2/app:1", "registry.local:5000/app:2", "REGISTRY.local:5000/app:2", "registry.local:5001/app:2",
		"nginx:1.27", "docker.io/library/nginx:1.27", "index.docker.io/nginx:1.27", "Docker.io/ghcr.io/acme/app:1", "localhost/ghcr.io/acme/app:1",
		"ghcr.io/acme", "ghcr.io:443/acme/app:1",
		// and of a digest: pinned with or without a tag, or not quite
		"ghcr.io/acme/app@sha256:" + hex64, "ghcr.io/acme/app:1@sha256:" + hex64, "ghcr.io/acme/app:@sha256:" + hex64,
		"ghcr.io/acme/app@sha256:" + strings.ToUpper(hex64), "ghcr.io/acme/app@sha256:" + hex64[1:], "ghcr.io/acme/app@sha512:" + hex64 + hex64,
		"ghcr.io/acme/app@sha256:" + hex64 + "@sha256:" + hex64, "ghcr.io/acme/app:sha256:" + hex64,
	} {
		pod := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "v1", "kind": "Pod",
			"metadata": map[string]any{"name": fmt.Sprintf("image-%d", i), "labels": map[string]any{"app.kubernetes.io/name": "x", "team": "y"}},
			"spec":     map[string]any{"containers": []any{map[string]any{"name": "c", "image": img}}},
		}}
		w := judge(t, dyn, warnings, pod, "configured-enforce", []string{"image-registry", "image-digest"})
		p := judge(t, dyn, warnings, pod, "configured-policies-enforce", []string{"image-registry", "image-digest"})
		if !same(w, p) || len(unsaid(w, p)) > 0 {
			t.Errorf("image %q: the webhook and the exported policies disagree\nwebhook:%s\npolicies:%s", img, w.detail, p.detail)
		}
		if !p.admitted {
			refused++
		}
		if p.admitted && !slices.Contains(p.warned, "image-digest") {
			pinned++
		}
	}
	if refused < 8 || pinned < 2 {
		t.Errorf("only %d of the images refused, %d pinned by digest: the spellings were not judged", refused, pinned)
	}
}

// dynamicWithWarnings is a dynamic client whose admission warnings are
// collected into the returned recorder.
func dynamicWithWarnings(t *testing.T) (dynamic.Interface, *harness.Warnings) {
	t.Helper()
	cfg := rest.CopyConfig(env.Config)
	warnings := &harness.Warnings{}
	cfg.WarningHandler = warnings
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return dyn, warnings
}

// compareVerdicts creates every pass and fail fixture of the rules of
// fixtures, in each mode, in the namespace the webhook judges and in the
// one the exported policies judge (namespaces gives both), and fails the
// test on any difference in verdict or in the rules warned about, among
// the rules compared, and on any message of the policies that the
// webhook does not write word for word.
func compareVerdicts(t *testing.T, fixtures, compared []string, dyn dynamic.Interface, warnings *harness.Warnings, modes []admission.Mode, namespaces func(admission.Mode) (webhook, policies string)) {
	t.Helper()
	root := filepath.Join("..", "..", "validate", "testdata")
	count := map[admission.Mode]int{}
	differences, invalid, refused, warned, messages := 0, 0, 0, 0, 0
	for _, rule := range fixtures {
		files, err := filepath.Glob(filepath.Join(root, rule, "*", "*.yaml"))
		if err != nil || len(files) == 0 {
			t.Fatalf("rule %s: no fixtures under %s (%v)", rule, filepath.Join(root, rule), err)
		}
		for _, file := range files {
			for _, obj := range fixtureObjects(t, file) {
				for _, m := range modes {
					wns, pns := namespaces(m)
					w := judge(t, dyn, warnings, obj, wns, compared)
					p := judge(t, dyn, warnings, obj, pns, compared)
					if w.invalid && p.invalid && w.detail == p.detail {
						invalid++
						continue
					}
					count[m]++
					if m == admission.Enforce && !p.admitted {
						refused++
					}
					if m == admission.Warn && len(p.warned) > 0 {
						warned++
					}
					if !same(w, p) {
						differences++
						t.Errorf("%s %s (%s) in %s: the webhook and the exported policies disagree\nwebhook:%s\npolicies:%s",
							obj.GetKind(), obj.GetName(), strings.TrimPrefix(file, root+"/"), m, w.detail, p.detail)
					}
					messages += len(p.said)
					for _, said := range unsaid(w, p) {
						differences++
						t.Errorf("%s %s (%s) in %s: the exported policies say %q, which the webhook does not\nwebhook:%s",
							obj.GetKind(), obj.GetName(), strings.TrimPrefix(file, root+"/"), m, said, w.detail)
					}
				}
			}
		}
	}
	t.Logf("fixtures compared: enforce %d, warn %d, audit %d; %d differences; %d refused alike by the API server's own validation, before admission",
		count[admission.Enforce], count[admission.Warn], count[admission.Audit], differences, invalid)
	t.Logf("refused in enforce: %d; warned about in warn: %d; messages of the policies found word for word in the webhook's: %d", refused, warned, messages)
	if refused == 0 || warned == 0 || messages == 0 {
		t.Error("no fixture was refused in enforce, or none warned about in warn: nothing was compared")
	}
	if count[admission.Enforce] < len(fixtures) {
		t.Errorf("only %d fixtures compared in enforce, for %d rules", count[admission.Enforce], len(fixtures))
	}
}

// fixtureObjects are the objects of a fixture file of a kind with pods.
func fixtureObjects(t *testing.T, file string) []*unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			t.Fatalf("%s: %v", file, err)
		}
		if _, ok := podKinds[u.GetKind()]; ok {
			out = append(out, u)
		}
	}
	return out
}

// With the exported policies installed beside a webhook whose entries
// fail open (failurePolicy Ignore), stopping plimsoll serve leaves an
// enforce namespace refusing a privileged Pod and defaulting a bare one:
// the API server judges and defaults them itself.
func TestRulesHoldWhileTheWebhookIsDown(t *testing.T) {
	ctx := context.Background()
	x, err := env.StartExtra(ctx, "outage", map[admission.Mode]admissionregistrationv1.FailurePolicyType{admission.Enforce: admissionregistrationv1.Ignore})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Remove(context.Background()) })
	ns := "outage-enforce"
	if err := x.Namespace(ctx, ns, admission.Enforce); err != nil {
		t.Fatal(err)
	}
	waitJudged(t, ns)
	exported(t, "--name", "outage", "--mode", "enforce", "--mode-label", x.Label)
	waitDenied(t, ns)
	if err := x.Process.Stop(); err != nil {
		t.Fatal(err)
	}
	pods := env.Client.CoreV1().Pods(ns)
	// The webhook is gone: a bare Pod is admitted (the webhook's entries
	// fail open) and still defaulted, by the API server...
	bare := in(load[*corev1.Pod](t, "bare-nginx-pod.yaml"), ns)
	got, err := pods.Create(ctx, bare, dryRun())
	if err != nil {
		t.Fatalf("with the webhook down and failing open, a bare Pod is refused: %v", err)
	}
	limits := got.Spec.Containers[0].Resources.Limits
	if limits.Cpu().IsZero() || limits.Memory().IsZero() || got.Spec.Containers[0].ReadinessProbe == nil || got.Spec.SecurityContext.SeccompProfile == nil {
		t.Fatalf("with the webhook down, a bare Pod in enforce is not defaulted: limits %v, readinessProbe %v, annotation %q",
			limits, got.Spec.Containers[0].ReadinessProbe, got.Annotations[mutate.AnnotationKey])
	}
	t.Logf("with the webhook down, the bare Pod got limits cpu %s, memory %s; %s: %q",
		limits.Cpu(), limits.Memory(), mutate.AnnotationKey, got.Annotations[mutate.AnnotationKey])
	// ...and the privileged Pod is still refused, by the API server.
	_, err = pods.Create(ctx, in(load[*corev1.Pod](t, "privileged-pod.yaml"), ns), dryRun())
	if err == nil || !strings.Contains(err.Error(), "[privileged]") || !strings.Contains(err.Error(), "ValidatingAdmissionPolicy") {
		t.Fatalf("with the webhook down, a privileged Pod in enforce: %v, want a denial by the exported policy naming [privileged]", err)
	}
	t.Logf("with the webhook down: %v", err)
}

// auditedThenEnforced creates namespace ns in audit (its mode label key),
// runs create, which makes there what audit admits and enforce would
// refuse, then moves ns to enforce: objects that already break a rule,
// as a namespace holds them when it turns to enforce.
func auditedThenEnforced(t *testing.T, ns, key string, create func()) {
	t.Helper()
	ctx := context.Background()
	n := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{key: string(admission.Audit)}}}
	if _, err := env.Client.CoreV1().Namespaces().Create(ctx, n, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	create()
	n.Labels[key] = string(admission.Enforce)
	if _, err := env.Client.CoreV1().Namespaces().Update(ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// On UPDATE the policies ratchet as the webhook does: a Deployment that
// already ran privileged (admitted while its namespace audited) may still
// be relabelled in enforce, with a warning; adding a second privileged
// container is refused. Both through the webhook and through the
// exported policies alone.
func TestExportedPoliciesRatchetAsTheWebhook(t *testing.T) {
	ctx := context.Background()
	const label = "plimsoll-e2e/ratchet"
	rules := exported(t, "--name", "ratchet", "--mode-label", label)
	client, warnings, err := env.ClientWithWarnings()
	if err != nil {
		t.Fatal(err)
	}
	spaces := map[string]string{"ratchet-webhook": admission.ModeLabel, "ratchet-inprocess": label}
	for ns, key := range spaces {
		auditedThenEnforced(t, ns, key, func() {
			dep := workloadNamed(t, ns, "legacy")
			privileged := true
			dep.Spec.Template.Spec.Containers[0].SecurityContext.Privileged = &privileged
			dep.Spec.Template.Spec.Containers[0].SecurityContext.AllowPrivilegeEscalation = nil
			if _, err := client.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
				t.Fatalf("%s, audited: %v", ns, err)
			}
		})
	}
	for ns := range spaces {
		waitFor(t, time.Minute, ns+" to be judged in enforce", func() bool {
			pod := in(load[*corev1.Pod](t, "privileged-pod.yaml"), ns)
			_, err := client.CoreV1().Pods(ns).Create(ctx, pod, dryRun())
			return err != nil && strings.Contains(err.Error(), "[privileged]")
		})
	}
	// what each judge answered, by namespace, to compare the messages
	relabelled, added := map[string]verdict{}, map[string]verdict{}
	for ns := range spaces {
		deps := client.AppsV1().Deployments(ns)
		dep, err := deps.Get(ctx, "legacy", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		dep.Labels = map[string]string{"team": "payments"}
		warnings.Take()
		if _, err := deps.Update(ctx, dep, metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
			t.Errorf("%s: relabelling a Deployment that already ran privileged is refused: %v", ns, err)
		}
		ws := warnings.Take()
		if got := ruleIDs(strings.Join(ws, "\n"), rules); !slices.Equal(got, []string{"privileged"}) || !strings.Contains(strings.Join(ws, "\n"), "already there before this update") {
			t.Errorf("%s: warnings %q, want one of privileged saying it was already there", ns, ws)
		}
		relabelled[ns] = verdictOf(nil, ws, rules)
		second := dep.Spec.Template.Spec.Containers[0].DeepCopy()
		second.Name = "sidecar"
		second.Ports = nil
		dep.Spec.Template.Spec.Containers = append(dep.Spec.Template.Spec.Containers, *second)
		warnings.Take()
		_, err = deps.Update(ctx, dep, metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}})
		if err == nil || !strings.Contains(err.Error(), "[privileged]") || !strings.Contains(err.Error(), `"sidecar"`) {
			t.Errorf("%s: adding a second privileged container: %v, want a denial naming container sidecar", ns, err)
		}
		added[ns] = verdictOf(err, warnings.Take(), rules)
	}
	for what, v := range map[string]map[string]verdict{"relabelling it": relabelled, "adding a privileged container": added} {
		w, p := v["ratchet-webhook"], v["ratchet-inprocess"]
		if len(p.said) == 0 || len(unsaid(w, p)) > 0 {
			t.Errorf("%s: the exported policies say %q, the webhook%s", what, p.said, w.detail)
		}
	}
}

// A tenant cannot hide a privileged container among thousands: the
// exported policies find the last of 3,000 containers and name it, in
// enforce (denied) and in warn (admitted). Nor get past them with an
// object whose CEL runs over its cost budget: the rules' policies fail as
// a violation would (failurePolicy Fail), shown here with an image name
// of megabytes (a Pod of 20,000 containers takes a minute per create,
// too slow to run here).
func TestExportedPoliciesFindTheLastOfThousands(t *testing.T) {
	ctx := context.Background()
	const label = "plimsoll-e2e/outrun"
	exported(t, "--name", "outrun", "--mode-label", label)
	for _, m := range []admission.Mode{admission.Enforce, admission.Warn} {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "outrun-" + string(m), Labels: map[string]string{label: string(m)}}}
		if _, err := env.Client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	waitBound(t, "outrun", "outrun-enforce", admission.Enforce)
	waitBound(t, "outrun", "outrun-warn", admission.Warn)
	huge := func(ns string) *corev1.Pod {
		p := in(load[*corev1.Pod](t, "privileged-pod.yaml"), ns)
		base := p.Spec.Containers[0]
		p.Spec.Containers = nil
		// Each states its resources and a restricted securityContext:
		// a Pod this large is past what the defaults' policy writes on
		// (it is left as sent), and the privileged container is the one
		// thing wrong with it.
		no, yes := false, true
		p.Spec.SecurityContext = &corev1.PodSecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}}
		for i := range 3000 {
			c := *base.DeepCopy()
			c.Name = fmt.Sprintf("c%04d", i)
			c.Resources = corev1.ResourceRequirements{Requests: cpuMemory("10m", "16Mi"), Limits: cpuMemory("100m", "64Mi")}
			if i != 2999 {
				c.SecurityContext = &corev1.SecurityContext{AllowPrivilegeEscalation: &no, RunAsNonRoot: &yes,
					Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}
			} else {
				c.SecurityContext.RunAsNonRoot = &yes
			}
			p.Spec.Containers = append(p.Spec.Containers, c)
		}
		return p
	}
	_, err := env.Client.CoreV1().Pods("outrun-enforce").Create(ctx, huge("outrun-enforce"), dryRun())
	if err == nil {
		t.Fatal("a Pod of 3,000 containers, the last privileged, is admitted in enforce by the exported policies")
	}
	if !strings.Contains(err.Error(), `[privileged] container "c2999"`) || !strings.Contains(err.Error(), "spec.containers[2999]") {
		t.Errorf("in enforce: %.300s; want the denial to name container c2999 and its field", err.Error())
	}
	client, warnings, err := env.ClientWithWarnings()
	if err != nil {
		t.Fatal(err)
	}
	warnings.Take()
	if _, err := client.CoreV1().Pods("outrun-warn").Create(ctx, huge("outrun-warn"), dryRun()); err != nil {
		t.Errorf("in warn, the same Pod is refused: %.300s", err.Error())
	}
	if ws := strings.Join(warnings.Take(), "\n"); !strings.Contains(ws, `[privileged] container "c2999"`) {
		t.Errorf("in warn, no warning names container c2999: %.300s", ws)
	}
	// Where every one of the 3,000 is at fault, the denial still says
	// which and where: only the first is put into words.
	all := huge("outrun-enforce")
	for i := range all.Spec.Containers {
		all.Spec.Containers[i].SecurityContext.Capabilities = &corev1.Capabilities{Drop: []corev1.Capability{"NET_RAW"}}
	}
	_, err = env.Client.CoreV1().Pods("outrun-enforce").Create(ctx, all, dryRun())
	if err == nil || !strings.Contains(err.Error(), `[capabilities] container "c0000" keeps every capability but "NET_RAW" (capabilities.drop lacks ALL) (spec.containers[0].securityContext.capabilities.drop)`) {
		t.Errorf("3,000 containers that keep capabilities: %.400v; want a denial naming the first, its field and what it keeps", err)
	}
	// Nor behind an object too costly to judge: an image name of 2.5 MB
	// runs the image rules' CEL out of its budget, and the policies then
	// fail as a violation would — refused in enforce, warned about in
	// warn — where failing open would admit an image no rule looked at.
	compliant := benchPod(t)
	costly := func(ns, image string) *corev1.Pod {
		p := compliant.DeepCopy()
		p.Namespace = ns
		p.Spec.Containers[0].Image = image
		return p
	}
	long := "registry.example.com/team/" + strings.Repeat("a", 2_500_000)
	if _, err := env.Client.CoreV1().Pods("outrun-enforce").Create(ctx, costly("outrun-enforce", "registry.example.com/team/api:2.4.1"), dryRun()); err != nil {
		t.Fatalf("the compliant Pod is refused: %v", err)
	}
	_, err = env.Client.CoreV1().Pods("outrun-enforce").Create(ctx, costly("outrun-enforce", long), dryRun())
	if err == nil || !strings.Contains(err.Error(), "ValidatingAdmissionPolicy 'outrun-error'") {
		t.Errorf("in enforce, a Pod whose image name is too long to judge: %.300v; want it refused by the exported policies", err)
	}
	warnings.Take()
	if _, err := client.CoreV1().Pods("outrun-warn").Create(ctx, costly("outrun-warn", long), dryRun()); err != nil {
		t.Errorf("in warn, the Pod whose image name is too long to judge is refused: %.300s", err.Error())
	}
	if ws := strings.Join(warnings.Take(), "\n"); !strings.Contains(ws, "outrun-error") {
		t.Errorf("in warn, no warning that the policies could not judge the Pod: %.300s", ws)
	}
}

// cpuMemory is a ResourceList of cpu and memory.
func cpuMemory(cpu, memory string) corev1.ResourceList {
	return corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(memory)}
}

// config/admission-policies, the kustomize install of the rules the API
// server runs itself (rendered from the chart's admissionPolicies.rules),
// is accepted by the API server and refuses a privileged Pod in an
// enforce namespace before the webhook is asked.
func TestKustomizeAdmissionPoliciesOnTheAPIServer(t *testing.T) {
	ctx := context.Background()
	data, err := os.ReadFile(filepath.Join("..", "..", "config", "admission-policies", "admission-policies-rules.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	policies := installStream(t, data, "config/admission-policies")
	if policies == 0 {
		t.Fatal("config/admission-policies holds no policy")
	}
	ns := "kustomized-policies"
	if err := env.CreateNamespace(ctx, ns, admission.Enforce); err != nil {
		t.Fatal(err)
	}
	var last error
	waitFor(t, time.Minute, "the kustomized policies to refuse a privileged Pod", func() bool {
		_, last = env.Client.CoreV1().Pods(ns).Create(ctx, in(load[*corev1.Pod](t, "privileged-pod.yaml"), ns), dryRun())
		return last != nil && strings.Contains(last.Error(), "ValidatingAdmissionPolicy 'plimsoll-error'") && strings.Contains(last.Error(), "[privileged]")
	})
}
