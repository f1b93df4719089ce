package webhook_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/plimsoll/plimsoll/policy"
)

// privilegedPod is a Pod of n privileged containers: n findings of the
// rule privileged, which defaulting cannot fix.
func privilegedPod(t *testing.T, n int) []byte {
	t.Helper()
	yes := true
	pod := corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: "many", Namespace: "team"},
	}
	for i := range n {
		pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{
			Name: fmt.Sprintf("c%d", i), Image: "ghcr.io/acme/app:1.0",
			SecurityContext: &corev1.SecurityContext{Privileged: &yes},
		})
	}
	b, err := json.Marshal(pod)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestAuditAnnotationsAreCapped: an audit annotation names at most 50
// findings, in the order found, and counts the rest in one last entry.
func TestAuditAnnotationsAreCapped(t *testing.T) {
	for _, tt := range []struct {
		containers int
		wantLines  int
		wantMore   string // the last entry, or "" when every finding is named
	}{
		{1, 1, ""},
		{50, 50, ""},
		{51, 50, "… and 1 more"},
		{120, 50, "… and 70 more"},
	} {
		for _, key := range []string{"would-deny", "exempted"} {
			t.Run(fmt.Sprintf("%s of %d containers", key, tt.containers), func(t *testing.T) {
				f := newFixture(t)
				f.h.Rules = rulesByID(t, "privileged")
				if key == "exempted" {
					p, err := policy.Load([]byte("apiVersion: plimsoll.dev/v1alpha1\nkind: Policy\nexemptions:\n- reason: test\n  namespaces: [team]\n  rules: [privileged]\n"), nil)
					if err != nil {
						t.Fatal(err)
					}
					var pp atomic.Pointer[policy.Policy]
					pp.Store(p)
					f.h.Policy = &pp
				}
				a := f.send(t, "/validate/audit", create(privilegedPod(t, tt.containers)).body(t))
				if !a.resp.Allowed {
					t.Fatalf("audit refused: %s", a.message())
				}
				got, ok := a.resp.AuditAnnotations[key]
				if !ok {
					t.Fatalf("no audit annotation %q: %v", key, a.resp.AuditAnnotations)
				}
				// Each finding's line holds "; " itself: count them by their rule.
				if n := strings.Count(got, "[privileged] "); n != tt.wantLines {
					t.Errorf("%d findings named, want %d:\n%.300s", n, tt.wantLines, got)
				}
				for i := range tt.containers {
					named := strings.Contains(got, fmt.Sprintf("spec.containers[%d].", i))
					if named != (i < tt.wantLines) {
						t.Errorf("container %d named = %v, want %v (the first %d, in order)", i, named, !named, tt.wantLines)
					}
				}
				more := strings.Contains(got, "more")
				if tt.wantMore == "" && more {
					t.Errorf("every finding is named, yet the annotation ends %q", got[max(0, len(got)-40):])
				}
				if tt.wantMore != "" && !strings.HasSuffix(got, "; "+tt.wantMore) {
					t.Errorf("the annotation ends %q, want %q", got[max(0, len(got)-40):], "; "+tt.wantMore)
				}
				wantDecision := "would-deny"
				if key == "exempted" {
					wantDecision = "would-allow"
				}
				if d := a.resp.AuditAnnotations["decision"]; d != wantDecision {
					t.Errorf("decision %q, want %q", d, wantDecision)
				}
			})
		}
	}
}
