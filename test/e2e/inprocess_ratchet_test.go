package e2e

// The ratchet of the exported policies judges the old object whole, as
// the webhook does: a Deployment scaled from one replica to three without
// spreading them breaks topology-spread anew, though its pod spec did not
// change; an autoscaler that already could not scale is warned about,
// not refused, when only its labels change.

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/plimsoll/plimsoll/admission"
	"github.com/plimsoll/plimsoll/test/chart"
)

func TestExportedPoliciesRatchetOnTheWholeOldObject(t *testing.T) {
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(file, []byte("apiVersion: plimsoll.dev/v1alpha1\nkind: Policy\nrules: {topology-spread: error, hpa-range: error}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	x, _ := extraServer(t, "whole", chart.WebhookValues{}, "--config", file)
	const label = "plimsoll-e2e/whole-policies"
	rules := exported(t, "--config", file, "--name", "whole", "--mode-label", label)
	client, warnings, err := env.ClientWithWarnings()
	if err != nil {
		t.Fatal(err)
	}
	// namespace by judge, and the label that gives it its mode
	spaces := map[string]string{"whole-webhook": x.Label, "whole-policies": label}
	for ns, key := range spaces {
		// audited, so admitted: one replica, nothing to spread; an
		// autoscaler that cannot scale
		auditedThenEnforced(t, ns, key, func() {
			dep := workloadNamed(t, ns, "single")
			dep.Spec.Replicas = ptr(int32(1))
			dep.Spec.Template.Spec.TopologySpreadConstraints = nil
			if _, err := client.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
				t.Fatalf("%s: %v", ns, err)
			}
			hpa := &autoscalingv2.HorizontalPodAutoscaler{
				ObjectMeta: metav1.ObjectMeta{Name: "flat", Namespace: ns},
				Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
					ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "single"},
					MinReplicas:    ptr(int32(2)), MaxReplicas: 2,
				},
			}
			if _, err := client.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, hpa, metav1.CreateOptions{}); err != nil {
				t.Fatalf("%s: %v", ns, err)
			}
		})
	}
	waitJudged(t, "whole-webhook")
	waitBound(t, "whole", "whole-policies", admission.Enforce)

	scaled, relabelled := map[string]verdict{}, map[string]verdict{}
	for ns := range spaces {
		dep, err := client.AppsV1().Deployments(ns).Get(ctx, "single", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		dep.Spec.Replicas = ptr(int32(3))
		warnings.Take()
		_, err = client.AppsV1().Deployments(ns).Update(ctx, dep, metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}})
		scaled[ns] = verdictOf(err, warnings.Take(), rules)

		// the autoscaler informer of the API server's admission may lag:
		// wait until the relabelling is judged at all
		var v verdict
		waitFor(t, time.Minute, "the autoscaler's relabelling to be judged in "+ns, func() bool {
			hpa, err := client.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, "flat", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			hpa.Labels = map[string]string{"team": "payments"}
			warnings.Take()
			_, err = client.AutoscalingV2().HorizontalPodAutoscalers(ns).Update(ctx, hpa, metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}})
			v = verdictOf(err, warnings.Take(), rules)
			return !v.admitted || len(v.warned) > 0
		})
		relabelled[ns] = v
	}
	for what, v := range map[string]map[string]verdict{"scaling the Deployment to three unspread replicas": scaled, "relabelling the autoscaler": relabelled} {
		w, p := v["whole-webhook"], v["whole-policies"]
		if !same(w, p) || len(unsaid(w, p)) > 0 {
			t.Errorf("%s: the webhook and the exported policies disagree\nwebhook:%s\npolicies:%s", what, w.detail, p.detail)
		}
	}
	if p := scaled["whole-policies"]; p.admitted {
		t.Errorf("scaling to three unspread replicas is admitted by the exported policies:%s", p.detail)
	}
	if p := relabelled["whole-policies"]; !p.admitted || len(p.warned) == 0 {
		t.Errorf("relabelling an autoscaler that already could not scale: admitted %v, warned %v, want admitted with a warning:%s", p.admitted, p.warned, p.detail)
	}
}
