package audit

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/plimsoll/plimsoll/check"
	"github.com/plimsoll/plimsoll/workload"
)

func finding(rule, severity string, fixable bool, exemption string) Finding {
	return Finding{Result: check.Result{Kind: "Deployment", Namespace: "shop", Name: "web", Container: "app", Rule: rule,
		Severity: severity, Path: "spec.template.spec.containers[0]", Message: "[" + rule + "] message", Remediation: "fix it",
		Fixable: fixable, Exemption: exemption}}
}

func TestReportResultsSayWhatEnforceWouldDo(t *testing.T) {
	at := time.Unix(1_800_000_000, 0)
	web := &Object{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "web", UID: "u1", Findings: []Finding{
		finding("image-tag", "error", false, ""),
		finding("replicas", "warning", false, ""),
		finding("cpu-limits", "error", true, ""),
		finding("host-path", "error", false, "exempted by policy exemption 0 (node agent)"),
	}}
	clean := &Object{APIVersion: "v1", Kind: "Pod", Namespace: "shop", Name: "clean", UID: "u2"}
	got := reportResults([]judged{{web, at}, {clean, at}}, map[string]string{"image-tag": "images"})
	type row struct{ Rule, Result, Severity, Kind, Name, Extra string }
	var rows []row
	for _, r := range got {
		extra := r.Properties["defaulted"] + r.Properties["exemption"]
		rows = append(rows, row{r.Rule, r.Result, r.Severity, r.Resources[0].Kind, r.Resources[0].Name, extra})
		if r.Policy != "plimsoll" || r.Source != "plimsoll" || !r.Scored || r.Timestamp.Seconds != at.Unix() {
			t.Errorf("result %+v: want policy and source plimsoll, scored, timestamp %d", r, at.Unix())
		}
	}
	want := []row{
		{"image-tag", "fail", "high", "Deployment", "web", ""},
		{"replicas", "warn", "medium", "Deployment", "web", ""},
		{"cpu-limits", "pass", "high", "Deployment", "web", "true"},
		{"host-path", "skip", "high", "Deployment", "web", "exempted by policy exemption 0 (node agent)"},
		{"", "pass", "", "Pod", "clean", ""},
	}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	if got[0].Category != "images" || got[0].Properties["fix"] != "fix it" || got[0].Properties["container"] != "app" {
		t.Errorf("first result lacks its category, fix or container: %+v", got[0])
	}
}

func TestLargeReportsDropTheLeastUsefulResultsFirst(t *testing.T) {
	defer func(n int) { maxReportBytes = n }(maxReportBytes)
	var rs []reportResult
	for i := range 50 {
		for _, res := range []string{resultFail, resultWarn, resultPass, resultSkip} {
			rs = append(rs, reportResult{Policy: "plimsoll", Result: res, Message: strings.Repeat("x", 100) + string(rune('a'+i%26))})
		}
	}
	maxReportBytes = 1 << 30
	if kept, dropped := trimResults(rs); len(kept) != 200 || dropped != 0 {
		t.Errorf("under the limit: kept %d, dropped %d; want all 200 kept", len(kept), dropped)
	}
	maxReportBytes = 16_000 // room for about 110 results
	kept, dropped := trimResults(rs)
	count := map[string]int{}
	for _, r := range kept {
		count[r.Result]++
	}
	if count[resultFail] != 50 || count[resultPass] != 0 || count[resultSkip] != 0 || count[resultWarn] == 0 || count[resultWarn] == 50 || dropped != 200-len(kept) {
		t.Errorf("kept %v, dropped %d: want every fail and as many warnings as fit kept, passes and skips dropped first", count, dropped)
	}
	maxReportBytes = 2_000
	kept, _ = trimResults(rs)
	for _, r := range kept {
		if r.Result != resultFail {
			t.Fatalf("with room for a few results only, kept a %q", r.Result)
		}
	}
	if len(kept) == 0 {
		t.Error("kept nothing")
	}
}

func TestNewPolicyReportIsAWgPolicyReport(t *testing.T) {
	web := &Object{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "web", UID: "u1",
		Findings: []Finding{finding("image-tag", "error", false, ""), finding("replicas", "warning", false, "")}}
	u, err := newPolicyReport("shop", []judged{{web, time.Unix(1, 0)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if u.GetAPIVersion() != "wgpolicyk8s.io/v1alpha2" || u.GetKind() != "PolicyReport" || u.GetName() != "plimsoll" || u.GetNamespace() != "shop" {
		t.Errorf("report is %s %s %s/%s", u.GetAPIVersion(), u.GetKind(), u.GetNamespace(), u.GetName())
	}
	if u.GetLabels()[ManagedByLabel] != "plimsoll" {
		t.Errorf("labels = %v, want the managed-by label", u.GetLabels())
	}
	summary, _, _ := unstructured.NestedMap(u.Object, "summary")
	if diff := cmp.Diff(map[string]any{"pass": int64(0), "fail": int64(1), "warn": int64(1), "error": int64(0), "skip": int64(0)}, summary); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	// What the API server gives back compares equal: nothing is rewritten.
	again, _ := newPolicyReport("shop", []judged{{web, time.Unix(1, 0)}}, nil)
	again.SetResourceVersion("42")
	if !sameReport(again, u) {
		t.Error("the same findings make a different report")
	}
	web.Findings = web.Findings[:1]
	fixed, _ := newPolicyReport("shop", []judged{{web, time.Unix(1, 0)}}, nil)
	if sameReport(fixed, u) {
		t.Error("a fixed finding leaves the report unchanged")
	}
}

func TestStatusUpdatesAreNotJudgedAgain(t *testing.T) {
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", ResourceVersion: "1", Generation: 3, Labels: map[string]string{"a": "b"}}}
	status := dep.DeepCopy()
	status.ResourceVersion, status.Status.ReadyReplicas = "2", 2
	spec := dep.DeepCopy()
	spec.ResourceVersion, spec.Generation = "3", 4
	relabelled := dep.DeepCopy()
	relabelled.ResourceVersion, relabelled.Labels = "4", map[string]string{"a": "c"}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", ResourceVersion: "1"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "a", Image: "a:1"}}}}
	podStatus := pod.DeepCopy()
	podStatus.ResourceVersion, podStatus.Status.Phase = "2", corev1.PodRunning
	podImage := pod.DeepCopy()
	podImage.ResourceVersion, podImage.Spec.Containers[0].Image = "3", "a:latest"
	tests := []struct {
		name     string
		old, new any
		want     bool
	}{
		{"a resync (same resourceVersion) is the same", dep, dep, true},
		{"a status update keeps the generation: the same", dep, status, true},
		{"a spec change bumps the generation: judged again", dep, spec, false},
		{"a label change: judged again (exemptions and required labels read labels)", dep, relabelled, false},
		{"a Pod's status update keeps its spec: the same", pod, podStatus, true},
		{"a Pod's new image: judged again", pod, podImage, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := judgedTheSame(tt.old, tt.new); got != tt.want {
				t.Errorf("judgedTheSame = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestEveryKindPlimsollJudgesIsListed(t *testing.T) {
	seen := map[string]bool{}
	for i, k := range kinds {
		seen[k.gvk.String()] = true
		for _, owner := range k.ownedBy {
			j := -1
			for n, o := range kinds {
				if o.gvk.Kind == owner {
					j = n
				}
			}
			if j < 0 || j > i {
				t.Errorf("%s is reported through %s, which must be listed before it", k.gvk.Kind, owner)
			}
		}
	}
	for _, k := range workloadKinds() {
		if !seen[k] {
			t.Errorf("kind %s is judged by the webhook but not audited", k)
		}
	}
	// The companions too, but Namespace: the audit judges each namespace
	// that runs workloads without listing them again.
	for _, k := range workload.Companions {
		if k.Kind != "Namespace" && !seen[k.String()] {
			t.Errorf("kind %s is judged by the webhook but not audited", k)
		}
	}
}

func workloadKinds() []string {
	var out []string
	for _, k := range workload.Kinds {
		out = append(out, k.String())
	}
	return out
}
