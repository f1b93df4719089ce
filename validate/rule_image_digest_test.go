package validate

import (
	"testing"

	"github.com/plimsoll/plimsoll/policy"
)

// image-digest is off by default: its fixtures are judged with it on, as
// a cluster that requires digests turns it on.
var _ = fixtureSetting("image-digest", func(p *policy.Policy) {
	if p.Rules == nil {
		p.Rules = map[string]policy.Severity{}
	}
	p.Rules["image-digest"] = policy.Error
})

func TestPinnedByDigest(t *testing.T) {
	hex := "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for image, want := range map[string]bool{
		"nginx@sha256:" + hex:                   true,
		"ghcr.io/acme/app:1.4@sha256:" + hex:    true,
		"registry.local:5000/app@sha256:" + hex: true,
		"nginx:1.27":                            false,
		"nginx@sha256:" + hex[:63]:              false,
		"nginx@sha256:" + hex + "0":             false,
		"nginx@sha512:" + hex + hex:             false,
		"nginx@sha256:" + "ABCDEF" + hex[6:]:    false,
		"nginx@" + hex:                          false,
	} {
		if got := pinnedByDigest(image); got != want {
			t.Errorf("pinnedByDigest(%q) = %v, want %v", image, got, want)
		}
	}
}

// TestImageDigestIsOffByDefault: the built-in policy never reports it.
func TestImageDigestIsOffByDefault(t *testing.T) {
	run := loadRun(t, "testdata/image-digest/fail/pod-tag.yaml")
	for _, v := range evaluate(t, Registry(), policy.Default(), Input{Template: run.templates[0]}) {
		if v.Rule.ID == "image-digest" {
			t.Errorf("the built-in policy reports %s", v.Message())
		}
	}
}

func TestImageDigestMessages(t *testing.T) {
	expectMessages(t, "image-digest", []messageCase{
		{name: "a tag", file: "fail/pod-tag.yaml", want: []string{
			`[image-digest] Pod "web": container "web" uses image "ghcr.io/acme/web:1.4", which is not pinned by digest, so the registry decides what runs (spec.containers[0].image): pin it: image: ghcr.io/acme/web:1.4@sha256:<digest> (crane digest ghcr.io/acme/web:1.4 prints it)`,
		}},
	})
}
