package policy_test

import (
	"slices"
	"testing"
	"time"

	"github.com/plimsoll/plimsoll/policy"
)

// TestExemptionEdges pins each selector at its edges: look-alike prefixes
// and names, nested image paths, the "*" annotation, and the very instant
// an exemption expires. See testdata/exemption-edges.yaml.
func TestExemptionEdges(t *testing.T) {
	p, err := policy.Load(readFile(t, "exemption-edges.yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	expires := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	before := expires.Add(-24 * time.Hour)
	pod := func(name string) []policy.Identity { return []policy.Identity{{Kind: "Pod", Name: name}} }
	image := func(img string) policy.Subject {
		return policy.Subject{Namespace: "web", Identities: pod("x"), Image: img, Rule: "image-tag"}
	}
	deployment := func(ns, name string) policy.Subject {
		return policy.Subject{Namespace: ns, Identities: []policy.Identity{{Kind: "Deployment", Name: name}}, Rule: "replicas"}
	}
	namespace := func(ns string) policy.Subject {
		return policy.Subject{Namespace: ns, Identities: pod("x"), Rule: "run-as-non-root"}
	}
	migration := func(rule string) policy.Subject {
		return policy.Subject{Namespace: "migration", Identities: []policy.Identity{{Kind: "Job", Name: "m"}}, Rule: rule}
	}
	annotated := func(rule, value string) policy.Subject {
		return policy.Subject{Namespace: "web", Identities: pod("y"), Rule: rule, PodAnnotations: map[string]string{policy.ExemptAnnotation: value}}
	}
	tests := []struct {
		name        string
		subject     policy.Subject
		now         time.Time
		annotations bool
		wantIndex   int // exemption index of the waiver; -1 for none, -2 for the annotation
		wantExpired []int
	}{
		// images: "ghcr.io/acme/*"
		{"an image directly under the prefix", image("ghcr.io/acme/app:1.0"), before, false, 0, nil},
		{"an image at a nested path under the prefix", image("ghcr.io/acme/a/b:1"), before, false, 0, nil},
		{"an image by digest under the prefix", image("ghcr.io/acme/app@sha256:0123"), before, false, 0, nil},
		{"a look-alike organisation is not the prefix", image("ghcr.io/acme-evil/x:1"), before, false, -1, nil},
		{"a longer organisation is not the prefix", image("ghcr.io/acmecorp/app:1"), before, false, -1, nil},
		{"a nested look-alike is not the prefix", image("ghcr.io/acme-evil/acme/app:1"), before, false, -1, nil},
		{"the prefix under another registry is not the prefix", image("evil.io/ghcr.io/acme/app:1"), before, false, -1, nil},
		{"the organisation itself is not under it", image("ghcr.io/acme"), before, false, -1, nil},
		{"another registry's acme is not ghcr.io's", image("docker.io/acme/app:1"), before, false, -1, nil},

		// names: "team-*" (Deployment, in apps)
		{"a name matching the glob", deployment("apps", "team-a"), before, false, 1, nil},
		{"a name that only starts like the glob", deployment("apps", "team"), before, false, -1, nil},
		{"a name with the glob's text inside it", deployment("apps", "my-team-a"), before, false, -1, nil},
		{"a look-alike name", deployment("apps", "teams-a"), before, false, -1, nil},
		{"a matching name in another namespace", deployment("web", "team-a"), before, false, -1, nil},
		{"a matching name of another kind", policy.Subject{Namespace: "apps", Identities: []policy.Identity{{Kind: "StatefulSet", Name: "team-a"}}, Rule: "replicas"}, before, false, -1, nil},

		// namespaces: "team-*"
		{"a namespace matching the glob", namespace("team-payments"), before, false, 2, nil},
		{"a namespace equal to the glob's prefix", namespace("team-"), before, false, 2, nil},
		{"a namespace without the dash", namespace("team"), before, false, -1, nil},
		{"a look-alike namespace", namespace("teamster-a"), before, false, -1, nil},
		{"a namespace with the glob's text inside it", namespace("not-team-a"), before, false, -1, nil},

		// kind and name must hold for one identity
		{"the exempted kind and name on one identity", policy.Subject{Namespace: "ops", Identities: []policy.Identity{{Kind: "Pod", Name: "agent-x"}, {Kind: "DaemonSet", Name: "agent"}}, Rule: "host-path"}, before, false, 3, nil},
		{"the exempted kind and name on two identities", policy.Subject{Namespace: "ops", Identities: []policy.Identity{{Kind: "Pod", Name: "agent"}, {Kind: "DaemonSet", Name: "other"}}, Rule: "host-path"}, before, false, -1, nil},
		{"a Pod named like the DaemonSet, with no believed owner", policy.Subject{Namespace: "ops", Identities: pod("agent"), Rule: "host-path"}, before, false, -1, nil},

		// expiry at the instant
		{"a nanosecond before it expires", migration("cpu-limits"), expires.Add(-time.Nanosecond), false, 4, nil},
		{"the instant it expires", migration("cpu-limits"), expires, false, -1, []int{4}},
		{"a nanosecond after it expires", migration("cpu-limits"), expires.Add(time.Nanosecond), false, -1, []int{4}},
		{"an expiry written with an offset, a nanosecond before", migration("memory-limits"), expires.Add(-time.Nanosecond), false, 5, nil},
		{"an expiry written with an offset, at the instant: a renewal applies and the expired one is named", migration("memory-limits"), expires, false, 6, []int{5}},
		{"an expired exemption does not lift other rules", migration("privileged"), expires, false, -1, nil},

		// the annotation's "*"
		{"* lifts any rule", annotated("privileged", "*"), before, true, -2, nil},
		{"* among other IDs, with spaces", annotated("host-port", "replicas, * "), before, true, -2, nil},
		{"* is ignored unless the policy allows annotations", annotated("privileged", "*"), before, false, -1, nil},
		{"** is no wildcard", annotated("privileged", "**"), before, true, -1, nil},
		{"a glob is no wildcard", annotated("privileged", "priv*"), before, true, -1, nil},
		{"an empty value lifts nothing", annotated("privileged", ""), before, true, -1, nil},
		{"the annotation under another key lifts nothing", policy.Subject{Namespace: "web", Identities: pod("y"), Rule: "privileged", PodAnnotations: map[string]string{"plimsoll.dev/exempted": "*"}}, before, true, -1, nil},
		{"a policy exemption is named before the annotation", policy.Subject{Namespace: "web", Identities: pod("x"), Image: "ghcr.io/acme/app:1.0", Rule: "image-tag", PodAnnotations: map[string]string{policy.ExemptAnnotation: "*"}}, before, true, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p.AllowAnnotationExemptions = tt.annotations
			w, expired := p.Exempt(tt.subject, tt.now)
			got := -1
			switch {
			case w == nil:
			case w.Source == "annotation":
				got = -2
			case w.Source == "policy":
				got = w.Index
				if w.Reason != p.Exemptions[w.Index].Reason {
					t.Errorf("waiver reason %q is not exemption %d's", w.Reason, w.Index)
				}
			default:
				t.Fatalf("waiver of source %q", w.Source)
			}
			if got != tt.wantIndex {
				t.Errorf("waiver = %+v (index %d), want index %d", w, got, tt.wantIndex)
			}
			if !slices.Equal(expired, tt.wantExpired) {
				t.Errorf("expired = %v, want %v", expired, tt.wantExpired)
			}
		})
	}
}
