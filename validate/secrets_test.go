package validate

import (
	"encoding/base64"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/plimsoll/plimsoll/internal/fakesecrets"
)

// TestEverySecretDetectorHasAnExample: a detector added to the table
// without a fake example in internal/fakesecrets (which every output's
// test feeds through) fails here, and so does an example of no detector.
func TestEverySecretDetectorHasAnExample(t *testing.T) {
	examples := fakesecrets.Examples()
	names := SecretFormats()
	for _, name := range names {
		if _, ok := examples[name]; !ok {
			t.Errorf("detector %q has no example in internal/fakesecrets", name)
		}
	}
	for name := range examples {
		if !slices.Contains(names, name) {
			t.Errorf("internal/fakesecrets has an example of %q, which no detector is called", name)
		}
	}
	if len(slices.Compact(slices.Sorted(slices.Values(names)))) != len(names) {
		t.Errorf("two detectors share a name: %v", names)
	}
}

// TestSecretDetectorsFindTheirExamples: each fake example is found, and
// named by its own detector, alone, in the middle of other text, and at
// the start of a value longer than the scanning cap.
func TestSecretDetectorsFindTheirExamples(t *testing.T) {
	for name, value := range fakesecrets.Examples() {
		t.Run(name, func(t *testing.T) {
			for _, v := range []string{
				value,
				"config: " + value + "\nmore: text",
				value + strings.Repeat(" ", maxSecretScan),
			} {
				got, ok := SecretFormat(v)
				if !ok || got != name {
					t.Errorf("SecretFormat(example of %s%s) = %q, %v; want %q", name, secretShape(v, value), got, ok, name)
				}
			}
		})
	}
}

func secretShape(v, value string) string {
	switch {
	case v == value:
		return ""
	case len(v) > maxSecretScan:
		return ", padded past the cap"
	}
	return ", inside other text"
}

// TestSecretDetectorsFindOtherShapes: the variants of a format a single
// example does not show.
func TestSecretDetectorsFindOtherShapes(t *testing.T) {
	fakePEM := func(kind string) string {
		return "-----BEGIN " + kind + "-----\nFAKEFAKEFAKE\n-----END " + kind + "-----"
	}
	tests := []struct {
		name, value, want string
	}{
		{"an EC key", fakePEM("EC PRIVATE KEY"), "a PEM private key"},
		{"a PKCS#8 key", fakePEM("PRIVATE KEY"), "a PEM private key"},
		{"an encrypted PKCS#8 key", fakePEM("ENCRYPTED PRIVATE KEY"), "a PEM private key"},
		{"an OpenSSH key", fakePEM("OPENSSH PRIVATE KEY"), "a PEM private key"},
		{"a DSA key", fakePEM("DSA PRIVATE KEY"), "a PEM private key"},
		{"a PGP private key block", fakePEM("PGP PRIVATE KEY BLOCK"), "a PEM private key"},
		{"a temporary AWS key", "ASIAIOSFODNN7EXAMPLE", "an AWS access key ID"},
		{"an AWS key in a credentials line", "aws_access_key_id=AKIAIOSFODNN7EXAMPLE", "an AWS access key ID"},
		{"a GitHub OAuth token", "gho_" + strings.Repeat("F", 36), "a GitHub token"},
		{"a GitHub app installation token", "ghs_" + strings.Repeat("F", 36), "a GitHub token"},
		{"a GitHub refresh token", "ghr_" + strings.Repeat("F", 36), "a GitHub token"},
		{"a GitHub user-to-server token", "ghu_" + strings.Repeat("F", 36), "a GitHub token"},
		{"a GitHub fine-grained token", "github_pat_" + strings.Repeat("F", 22) + "_" + strings.Repeat("F", 59), "a GitHub token"},
		{"a Slack user token", "xoxp-0000000000-0000000000-0000000000-" + strings.Repeat("f", 32), "a Slack token"},
		{"a Stripe restricted key", "rk_live_" + strings.Repeat("F", 24), "a Stripe secret key"},
		{"a JWT as a bearer header", "Authorization: Bearer " + fakesecrets.Examples()["a JSON Web Token"], "a JSON Web Token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, ok := SecretFormat(tt.value); !ok || got != tt.want {
				t.Errorf("SecretFormat = %q, %v; want %q", got, ok, tt.want)
			}
		})
	}
}

// TestSecretDetectorsLeaveOrdinaryValuesAlone: what env values usually
// hold, and near misses of each format, are found by none.
func TestSecretDetectorsLeaveOrdinaryValuesAlone(t *testing.T) {
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	values := []string{
		"",
		"info",
		"hunter2",
		"sk_live_0123456789", // a Stripe prefix, too short
		"ghp_0123456789",     // a GitHub prefix, too short
		"https://api.example.com/v1/items?page=2&limit=50",
		"postgres://db.shop.svc.cluster.local:5432/orders",
		"123e4567-e89b-12d3-a456-426614174000",
		"/run/secrets/db/password",
		"registry.example.com/team/app@sha256:" + strings.Repeat("ab", 32),
		"-Xmx512m -XX:+UseG1GC -Dfile.encoding=UTF-8",
		"-----BEGIN CERTIFICATE-----\nFAKEFAKEFAKE\n-----END CERTIFICATE-----",
		"-----BEGIN PUBLIC KEY-----\nFAKEFAKEFAKE\n-----END PUBLIC KEY-----",
		"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKE user@example.com",
		b64("plain text that is not JSON at all, padded out"),
		b64(`{"name":"not a token"}`) + "." + b64(`{"x":1}`) + "." + strings.Repeat("A", 20), // JSON without "alg"
		"MYAKIAIOSFODNN7EXAMPLEX",                                                            // inside a longer word
		"AKIAIOSFODNN7EXAMPL",                                                                // one short
		"xoxb-not-a-token-at-all",                                                            // no number groups
		"https://hooks.slack.com/services/",                                                  // no path
		`{"type": "service_account", "project_id": "x"}`,                                     // no private key
		"this is a sentence about sk-proj and hvs. and dapi and glpat-",
		strings.Repeat("a", 100),
		strings.Repeat("0", 64),
		time.RFC3339,
	}
	for _, v := range values {
		if got, ok := SecretFormat(v); ok {
			t.Errorf("SecretFormat(%.40q) = %q, want no format", v, got)
		}
	}
}

// TestSecretFormatReadsABoundedPrefix: a secret past the cap is not
// looked for, and a huge value is read in bounded time (RE2 is linear; the
// cap bounds the constant).
func TestSecretFormatReadsABoundedPrefix(t *testing.T) {
	huge := strings.Repeat("x", 4<<20) + "AKIAIOSFODNN7EXAMPLE"
	if got, ok := SecretFormat(huge); ok {
		t.Errorf("a key after 4 MiB was found (%q): the cap is not applied", got)
	}
	// The worst input for the hints: every detector runs its pattern.
	var worst strings.Builder
	for worst.Len() < 1<<20 {
		worst.WriteString("AKIA ghp_ glpat- xoxb-1- AIza GOCSPX- _live_ eyJ npm_ pypi- SG. do hf_ shp sk-ant- sk- hv dapi PRIVATE KEY service_account hooks.slack.com AccountKey= ")
	}
	if _, ok := SecretFormat(worst.String()); ok {
		t.Error("hints alone were taken for a secret")
	}
}

func BenchmarkSecretFormat(b *testing.B) {
	values := []string{"info", "https://api.example.com/v1/items?page=2&limit=50", strings.Repeat("x", 4096)}
	for b.Loop() {
		for _, v := range values {
			SecretFormat(v)
		}
	}
}
