package chart

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// normalized returns the objects as generic maps keyed by Kind/ns/name,
// without what only tells who rendered them (Helm's chart and managed-by
// labels) and without Helm hooks, which kustomize has no notion of.
func normalized(t *testing.T, objs []Object) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, o := range objs {
		var m map[string]any
		if err := json.Unmarshal(o.Raw, &m); err != nil {
			t.Fatal(err)
		}
		meta := m["metadata"].(map[string]any)
		if a, ok := meta["annotations"].(map[string]any); ok && a["helm.sh/hook"] != nil {
			continue
		}
		if l, ok := meta["labels"].(map[string]any); ok {
			delete(l, "helm.sh/chart")
			delete(l, "app.kubernetes.io/managed-by")
		}
		out[o.Key()] = m
	}
	return out
}

// The kustomize overlays build (with kustomize's own library, as
// `kubectl apply -k` does) and produce the same objects as the chart's
// defaults for the same TLS mode, plus the Namespace.
func TestKustomizeMatchesChart(t *testing.T) {
	root, _ := RepoRoot()
	for overlay, tlsMode := range map[string]string{"default": "selfManaged", "cert-manager": "certManager"} {
		t.Run(overlay, func(t *testing.T) {
			out, err := Kustomize(filepath.Join(root, "config", "overlays", overlay))
			if err != nil {
				t.Fatal(err)
			}
			built, err := Decode(out)
			if err != nil {
				t.Fatalf("kustomize build config/overlays/%s: %v", overlay, err)
			}
			got := normalized(t, built)
			for key, o := range got {
				labels, _ := o["metadata"].(map[string]any)["labels"].(map[string]any)
				if labels["app.kubernetes.io/managed-by"] != nil {
					t.Errorf("%s: the managed-by label survived normalization", key)
				}
			}
			if got["Namespace/plimsoll-system"] == nil {
				t.Error("the overlay does not create the namespace plimsoll-system")
			}
			delete(got, "Namespace/plimsoll-system")
			want := normalized(t, render(t, "plimsoll", "plimsoll-system", "--set", "tls.mode="+tlsMode))
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("config/overlays/%s differs from the chart's defaults with tls.mode %s (-chart +kustomize):\n%s", overlay, tlsMode, d)
			}
		})
	}
}
