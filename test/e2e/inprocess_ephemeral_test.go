package e2e

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/plimsoll/plimsoll/admission"
)

// A tenant who may add ephemeral containers (kubectl debug) to a running
// Pod is judged alike by the exported policies and by the webhook: the
// pods/ephemeralcontainers subresource, in enforce and in warn, for a
// privileged debugger, a bare one, one on a :latest image and a hardened
// one.
func TestExportedPoliciesJudgeEphemeralContainersAsTheWebhook(t *testing.T) {
	ctx := context.Background()
	const label = "plimsoll-e2e/ephemeral"
	rules := exported(t, "--name", "ephemeral", "--mode-label", label)
	modes := []admission.Mode{admission.Enforce, admission.Warn}
	for _, m := range modes {
		if err := env.CreateNamespace(ctx, "ephemeral-webhook-"+string(m), m); err != nil {
			t.Fatal(err)
		}
		labelled(t, "ephemeral-policies-"+string(m), label, m)
	}
	waitJudged(t, "ephemeral-webhook-enforce")
	waitBound(t, "ephemeral", "ephemeral-policies-enforce", admission.Enforce)
	waitBound(t, "ephemeral", "ephemeral-policies-warn", admission.Warn)
	client, warnings, err := env.ClientWithWarnings()
	if err != nil {
		t.Fatal(err)
	}
	pod := benchPod(t)
	for _, m := range modes {
		for _, ns := range []string{"ephemeral-webhook-" + string(m), "ephemeral-policies-" + string(m)} {
			p := pod.DeepCopy()
			p.Namespace = ns
			if _, err := client.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
				t.Fatalf("the compliant Pod in %s: %v", ns, err)
			}
		}
	}
	yes, no := true, false
	debuggers := map[string]corev1.EphemeralContainer{
		"privileged": {EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debug", Image: "busybox:1.36",
			SecurityContext: &corev1.SecurityContext{Privileged: &yes}}},
		"bare":   {EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debug", Image: "busybox:1.36"}},
		"latest": {EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debug", Image: "busybox:latest"}},
		"hardened": {EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debug", Image: "busybox:1.36",
			SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: &no, RunAsNonRoot: &yes, ReadOnlyRootFilesystem: &yes,
				Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}}},
	}
	debug := func(ns string, e corev1.EphemeralContainer) verdict {
		t.Helper()
		p, err := client.CoreV1().Pods(ns).Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		p.Spec.EphemeralContainers = append(p.Spec.EphemeralContainers, e)
		warnings.Take()
		_, err = client.CoreV1().Pods(ns).UpdateEphemeralContainers(ctx, pod.Name, p, metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}})
		if err != nil && !apierrors.IsForbidden(err) {
			t.Fatalf("the %s debugger in %s: %v", e.Name, ns, err)
		}
		return verdictOf(err, warnings.Take(), rules)
	}
	refused, differences := map[string]bool{}, 0
	for name, e := range debuggers {
		for _, m := range modes {
			w := debug("ephemeral-webhook-"+string(m), e)
			p := debug("ephemeral-policies-"+string(m), e)
			if !same(w, p) || len(unsaid(w, p)) > 0 {
				differences++
				t.Errorf("the %s debugger in %s: the webhook and the exported policies disagree\nwebhook:%s\npolicies:%s", name, m, w.detail, p.detail)
			}
			if m == admission.Enforce && !p.admitted {
				refused[name] = true
			}
			if m == admission.Warn && name != "hardened" && len(p.warned) == 0 {
				t.Errorf("the %s debugger in warn: no warning from the exported policies%s", name, p.detail)
			}
		}
	}
	for _, name := range []string{"privileged", "bare", "latest"} {
		if !refused[name] {
			t.Errorf("the %s debugger is admitted in enforce by the exported policies", name)
		}
	}
	if refused["hardened"] {
		t.Error("the hardened debugger is refused in enforce by the exported policies")
	}
	t.Logf("ephemeral containers compared: %d debuggers in enforce and warn, %d differences; refused in enforce: %s",
		len(debuggers), differences, strings.Join(slices.Sorted(maps.Keys(refused)), ", "))
}
