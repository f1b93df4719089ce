package e2e

// plimsoll export's MutatingAdmissionPolicy on the real API server: the
// same stored Pod as the webhook's /mutate, for every Pod of the
// fixtures and seed corpora, in each mode.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/plimsoll/plimsoll/admission"
	"github.com/plimsoll/plimsoll/mutate"
	"github.com/plimsoll/plimsoll/test/chart"
)

// stored is what a dry-run create of a Pod came to.
type stored struct {
	pod     *corev1.Pod // as it would be stored, when admitted
	err     error
	invalid bool // refused by the API server's own validation
}

// createPod dry-run creates pod in ns through client.
func createPod(ctx context.Context, client kubernetes.Interface, pod *corev1.Pod, ns string) stored {
	p := pod.DeepCopy()
	p.Namespace = ns
	got, err := client.CoreV1().Pods(ns).Create(ctx, p, dryRun())
	if err != nil {
		return stored{err: err, invalid: apierrors.IsInvalid(err)}
	}
	return stored{pod: got}
}

// defaultedPart is what defaulting may write on a stored Pod: its spec and
// annotations, without what differs between any two creates (the
// projected token volume's generated name).
func defaultedPart(p *corev1.Pod) map[string]any {
	spec := p.Spec.DeepCopy()
	api := func(name string) bool { return strings.HasPrefix(name, "kube-api-access-") }
	var volumes []corev1.Volume
	for _, v := range spec.Volumes {
		if !api(v.Name) {
			volumes = append(volumes, v)
		}
	}
	spec.Volumes = volumes
	for _, cs := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
		for i := range cs {
			var mounts []corev1.VolumeMount
			for _, m := range cs[i].VolumeMounts {
				if !api(m.Name) {
					mounts = append(mounts, m)
				}
			}
			cs[i].VolumeMounts = mounts
		}
	}
	return map[string]any{"spec": spec, "annotations": p.Annotations}
}

// waitDefaulted waits until a bare Pod created in ns comes back with the
// defaults' annotation (a policy reaches admission through an informer).
func waitDefaulted(t *testing.T, ns string) {
	t.Helper()
	waitFor(t, time.Minute, "the exported defaults to apply in namespace "+ns, func() bool {
		got, err := env.Client.CoreV1().Pods(ns).Create(context.Background(), in(load[*corev1.Pod](t, "bare-nginx-pod.yaml"), ns), dryRun())
		return err == nil && got.Annotations[mutate.AnnotationKey] != ""
	})
}

// Every Pod of the fixtures and seed corpora, created in enforce, warn and
// audit namespaces, is stored the same — spec and annotations, the
// plimsoll.dev/mutations record among them — whether the webhook's
// /mutate or the exported MutatingAdmissionPolicy defaulted it.
func TestExportedDefaultsWriteWhatTheWebhookWrites(t *testing.T) {
	ctx := context.Background()
	const label = "plimsoll-e2e/defaults"
	exported(t, "--name", "defaults", "--mode-label", label)
	for _, m := range admission.ServedModes {
		if err := env.CreateNamespace(ctx, "mutate-webhook-"+string(m), m); err != nil {
			t.Fatal(err)
		}
		labelled(t, "mutate-policy-"+string(m), label, m)
	}
	waitJudged(t, "mutate-webhook-enforce")
	waitDefaulted(t, "mutate-policy-enforce")
	c := compareDefaults(t, admission.ServedModes, func(m admission.Mode) (string, string) {
		return "mutate-webhook-" + string(m), "mutate-policy-" + string(m)
	})
	if c.defaulted[admission.Warn] < 20 || c.defaulted[admission.Enforce] == 0 {
		t.Errorf("too few Pods defaulted (warn %d, enforce %d): the comparison compared nothing", c.defaulted[admission.Warn], c.defaulted[admission.Enforce])
	}
	if c.defaulted[admission.Audit] != 0 {
		t.Errorf("%d Pods defaulted in audit, where defaults are computed and never applied", c.defaulted[admission.Audit])
	}
}

// The same with the other settings of the defaults — the baseline
// profile; HTTP probes of a path of the policy's, readOnlyRootFilesystem
// and other quantities; no securityContext defaults at all — and with the
// severities of the securityContext rules changed: the Pods are defaulted
// alike, and the fixtures of the rules whose verdict hangs on what the
// defaults write (capabilities, run-as-non-root, seccomp-profile,
// privilege-escalation, read-only-root-filesystem) are judged alike in
// every mode. A plimsoll serve runs each policy file, and plimsoll export
// --config exports it.
func TestExportedDefaultsAndRulesOfOtherPoliciesAgreeWithTheWebhook(t *testing.T) {
	ctx := context.Background()
	policies := map[string]string{
		// seccomp-profile set to error by the policy: unset is an error
		// too, as Unconfined always is.
		"baseline": "defaults:\n  securityContext: {enabled: true, profile: baseline}\nrules: {seccomp-profile: error}\n",
		"http": "defaults:\n  probes: {enabled: true, type: http, path: /ready}\n" +
			"  securityContext: {enabled: true, readOnlyRootFilesystem: true}\n" +
			"  resources: {enabled: true, requests: {cpu: 250m, memory: 256Mi}, limits: {cpu: \"1\", memory: 768Mi}}\n",
		// seccomp-profile set to warning by the policy: Unconfined is
		// only warned about too.
		"unhardened": "defaults:\n  securityContext: {enabled: false}\nrules: {seccomp-profile: warning, capabilities: warning}\n",
	}
	fixtures := []string{"capabilities", "run-as-non-root", "seccomp-profile", "privilege-escalation", "read-only-root-filesystem"}
	for name, settings := range policies {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "policy.yaml")
			if err := os.WriteFile(file, []byte("apiVersion: plimsoll.dev/v1alpha1\nkind: Policy\n"+settings), 0o600); err != nil {
				t.Fatal(err)
			}
			server := "profile-" + name
			x, _ := extraServer(t, server, chart.WebhookValues{}, "--config", file)
			label := "plimsoll-e2e/exported-" + name
			rules := exported(t, "--config", file, "--name", "exported-"+name, "--mode-label", label)
			for _, m := range admission.ServedModes {
				if m != admission.Enforce {
					if err := x.Namespace(ctx, server+"-"+string(m), m); err != nil {
						t.Fatal(err)
					}
				}
				labelled(t, "exported-"+name+"-"+string(m), label, m)
			}
			waitDefaulted(t, "exported-"+name+"-warn")
			waitBound(t, "exported-"+name, "exported-"+name+"-enforce", admission.Enforce)
			waitBound(t, "exported-"+name, "exported-"+name+"-warn", admission.Warn)
			namespaces := func(m admission.Mode) (string, string) {
				return server + "-" + string(m), "exported-" + name + "-" + string(m)
			}
			c := compareDefaults(t, []admission.Mode{admission.Warn}, namespaces)
			if c.defaulted[admission.Warn] < 20 {
				t.Errorf("only %d Pods defaulted: the comparison compared nothing", c.defaulted[admission.Warn])
			}
			dyn, warnings := dynamicWithWarnings(t)
			compareVerdicts(t, fixtures, rules, dyn, warnings, admission.ServedModes, namespaces)
		})
	}
}

// labelled creates namespace name with label set to mode.
func labelled(t *testing.T, name, label string, mode admission.Mode) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{label: string(mode)}}}
	if _, err := env.Client.CoreV1().Namespaces().Create(context.Background(), ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

// comparison counts what compareDefaults compared, per mode.
type comparison struct {
	compared, defaulted map[admission.Mode]int
}

// compareDefaults dry-run creates every Pod of the corpus, in each mode,
// in the namespace the webhook defaults and in the one the exported
// policy defaults (namespaces gives both), and fails the test for every
// Pod stored differently. A Pod the webhook refuses in enforce for a
// rule the export leaves to it, or that both refuse, has nothing stored
// to compare (TestExportedPoliciesJudgeAsTheWebhook compares the
// verdicts of the rules the export carries); they are counted apart.
func compareDefaults(t *testing.T, modes []admission.Mode, namespaces func(admission.Mode) (webhook, policy string)) comparison {
	t.Helper()
	ctx := context.Background()
	c := comparison{compared: map[admission.Mode]int{}, defaulted: map[admission.Mode]int{}}
	differences, invalid, refused, keptByWebhook := 0, 0, 0, 0
	for i, src := range corpusPods(t) {
		pod := src.pod.DeepCopy()
		pod.Name, pod.GenerateName = fmt.Sprintf("corpus-%d", i), ""
		for _, m := range modes {
			wns, pns := namespaces(m)
			w := createPod(ctx, env.Client, pod, wns)
			p := createPod(ctx, env.Client, pod, pns)
			switch {
			case w.invalid && p.invalid:
				invalid++
				continue
			case w.err != nil && p.err != nil && !w.invalid && !p.invalid:
				refused++
				continue
			case w.err != nil && p.err == nil && m == admission.Enforce && strings.Contains(w.err.Error(), "plimsoll denied"):
				keptByWebhook++
				continue
			case w.err != nil || p.err != nil:
				differences++
				t.Errorf("%s in %s: the webhook's create: %v; the policy's: %v", src.from, m, w.err, p.err)
				continue
			}
			c.compared[m]++
			if p.pod.Annotations[mutate.AnnotationKey] != pod.Annotations[mutate.AnnotationKey] {
				c.defaulted[m]++
			}
			if diff := cmp.Diff(defaultedPart(w.pod), defaultedPart(p.pod)); diff != "" {
				differences++
				t.Errorf("%s in %s: stored differently (-webhook +policy):\n%s", src.from, m, diff)
			}
		}
	}
	for _, m := range modes {
		t.Logf("%s: %d Pods compared, %d of them defaulted", m, c.compared[m], c.defaulted[m])
	}
	t.Logf("%d differences; %d refused alike by the API server's own validation, %d refused by both, %d refused in enforce by the webhook for rules left to it",
		differences, invalid, refused, keptByWebhook)
	return c
}

// The Pod a Job makes gets no probes, through the exported policy as
// through the webhook, when the Job controller creates it; the same Pod
// sent by anyone else, naming the same Job as its controller, is probed:
// claiming a Job owner is no way for a tenant to go without probes.
func TestExportedDefaultsBelieveOnlyTheJobController(t *testing.T) {
	ctx := context.Background()
	const label = "plimsoll-e2e/defaults-job"
	exported(t, "--name", "defaults-job", "--mode", "warn", "--mode-label", label)
	if err := env.CreateNamespace(ctx, "job-webhook", admission.Warn); err != nil {
		t.Fatal(err)
	}
	labelled(t, "job-policy", label, admission.Warn)
	waitDefaulted(t, "job-policy")
	cfg := rest.CopyConfig(env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:kube-system:job-controller"}
	cfg.WarningHandler = rest.NoWarnings{}
	jobController, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	pod := corpusFile(t, "mutate/testdata/job-owned-pod/in.yaml")
	for _, c := range []struct {
		who    string
		client kubernetes.Interface
		probes bool
	}{{"the Job controller", jobController, false}, {"a tenant", env.Client, true}} {
		var got []*corev1.Pod
		for _, ns := range []string{"job-webhook", "job-policy"} {
			s := createPod(ctx, c.client, pod, ns)
			if s.err != nil {
				t.Fatalf("%s creating the Job's Pod in %s: %v", c.who, ns, s.err)
			}
			got = append(got, s.pod)
			if probed := s.pod.Spec.Containers[0].ReadinessProbe != nil; probed != c.probes {
				t.Errorf("%s's Pod in %s: probed %v, want %v (annotation %q)", c.who, ns, probed, c.probes, s.pod.Annotations[mutate.AnnotationKey])
			}
		}
		if diff := cmp.Diff(defaultedPart(got[0]), defaultedPart(got[1])); diff != "" {
			t.Errorf("%s's Pod stored differently (-webhook +policy):\n%s", c.who, diff)
		}
	}
}

// The defaults' policy writes on every container of a Pod of 2,000 — the
// last as the first — and leaves a larger one as sent, whole: never half
// defaulted under an annotation that says otherwise (the API server keeps
// the mutations that ran before one that fails). A plimsoll.dev/mutations
// annotation a tenant inflates is replaced, not merged, and cannot keep
// the defaults from being written.
func TestExportedDefaultsAllOrNothing(t *testing.T) {
	ctx := context.Background()
	const label = "plimsoll-e2e/defaults-size"
	exported(t, "--name", "defaults-size", "--mode", "warn", "--mode-label", label)
	labelled(t, "defaults-size", label, admission.Warn)
	waitDefaulted(t, "defaults-size")
	pods := env.Client.CoreV1().Pods("defaults-size")
	many := func(n int) *corev1.Pod {
		p := in(load[*corev1.Pod](t, "bare-nginx-pod.yaml"), "defaults-size")
		base := p.Spec.Containers[0]
		p.Spec.Containers = nil
		for i := range n {
			c := *base.DeepCopy()
			c.Name = fmt.Sprintf("c%04d", i)
			c.Ports = []corev1.ContainerPort{{ContainerPort: int32(1000 + i)}}
			p.Spec.Containers = append(p.Spec.Containers, c)
		}
		return p
	}
	got, err := pods.Create(ctx, many(2000), dryRun())
	if err != nil {
		t.Fatal(err)
	}
	last := got.Spec.Containers[1999]
	if last.Resources.Limits.Memory().IsZero() || last.ReadinessProbe == nil || last.StartupProbe == nil || last.SecurityContext == nil ||
		!strings.Contains(got.Annotations[mutate.AnnotationKey], "c1999; ") {
		t.Errorf("a Pod of 2,000 containers: the last is not defaulted (limits %v, annotation %.80q...)", last.Resources.Limits, got.Annotations[mutate.AnnotationKey])
	}
	got, err = pods.Create(ctx, many(2001), dryRun())
	if err != nil {
		t.Fatal(err)
	}
	if first := got.Spec.Containers[0]; got.Annotations[mutate.AnnotationKey] != "" || first.Resources.Limits != nil || first.ReadinessProbe != nil || got.Spec.SecurityContext.SeccompProfile != nil {
		t.Errorf("a Pod of 2,001 containers is defaulted in part: annotation %.80q, first container's limits %v", got.Annotations[mutate.AnnotationKey], first.Resources.Limits)
	}
	inflated := many(3)
	inflated.Annotations = map[string]string{mutate.AnnotationKey: "resources=" + strings.Repeat("x,", 4000)}
	got, err = pods.Create(ctx, inflated, dryRun())
	if err != nil {
		t.Fatal(err)
	}
	if want := "probes=c0000,c0001,c0002; resources=c0000,c0001,c0002; securityContext=c0000,c0001,c0002,pod"; got.Annotations[mutate.AnnotationKey] != want ||
		got.Spec.Containers[2].Resources.Limits.Cpu().IsZero() {
		t.Errorf("a Pod sent with an 8 KiB plimsoll.dev/mutations: annotation %.100q, limits %v; want the defaults written and the annotation %q",
			got.Annotations[mutate.AnnotationKey], got.Spec.Containers[2].Resources.Limits, want)
	}
}

// corpusFile is the Pod of one file of corpusPods (path under the
// repository's root).
func corpusFile(t *testing.T, path string) *corev1.Pod {
	t.Helper()
	for _, p := range corpusPods(t) {
		if strings.HasSuffix(p.from, path) {
			return p.pod
		}
	}
	t.Fatalf("no Pod read from %s", path)
	return nil
}
