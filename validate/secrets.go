package validate

// The secret detectors: well-known credential formats, each with the name
// messages give it and a pattern. A value that matches one is a secret
// whatever the variable (or key) that holds it is called. The patterns
// keep false positives low: each starts at a prefix the issuer documents
// (AKIA, ghp_, xoxb-, -----BEGIN ... PRIVATE KEY-----), stands alone
// between characters a token cannot hold, and has the issuer's length.
// Go's regexp (RE2) runs in time linear in its input, and SecretFormat
// reads at most maxSecretScan bytes of a value, so a huge value costs a
// bounded time.
//
// Nothing here returns or keeps the value: callers name the format.
// internal/fakesecrets holds a fake example of each, which the tests of
// validate, check, audit and webhook feed through every output.

import (
	"encoding/base64"
	"encoding/json"
	"regexp"
	"strings"
)

// maxSecretScan is how much of a value the detectors read: a secret
// written at the start of a 1 MiB value is found, one at its end is not,
// and the time spent on a value is bounded.
const maxSecretScan = 64 << 10

// minSecretLen is shorter than the shortest format below: shorter values
// are not scanned.
const minSecretLen = 20

// A secretDetector is one credential format.
type secretDetector struct {
	// name is how a message says it: "a PEM private key".
	name string
	// hints are literals one of which every match contains: a value
	// without any is not run through the pattern (most values are not
	// secrets, and strings.Contains is cheaper than a regexp).
	hints []string
	// pattern finds the format.
	pattern *regexp.Regexp
	// also, when set, must match the value too (anywhere).
	also *regexp.Regexp
	// confirm, when set, is asked about each match of pattern (its
	// submatches) before it counts.
	confirm func(m []string) bool
}

// tok wraps a pattern so that it matches only a whole token: not preceded
// or followed by a character a token can hold.
func tok(p string) *regexp.Regexp {
	return regexp.MustCompile(`(?:^|[^0-9A-Za-z_\-])` + p + `(?:[^0-9A-Za-z_\-]|$)`)
}

// secretDetectors, in the order they are tried: the first that matches
// names the format (the service-account key before the PEM key it holds).
var secretDetectors = []secretDetector{
	{
		name:    "a Google service-account key",
		hints:   []string{"service_account"},
		pattern: regexp.MustCompile(`"type"\s*:\s*"service_account"`),
		// and a private key: a JSON object's keys come in any order.
		also: regexp.MustCompile(`"private_key"\s*:\s*"`),
	},
	{
		name:    "a PEM private key",
		hints:   []string{"PRIVATE KEY"},
		pattern: regexp.MustCompile(`-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----`),
	},
	{
		name:    "an AWS access key ID",
		hints:   []string{"AKIA", "ASIA"},
		pattern: tok(`(?:AKIA|ASIA)[0-9A-Z]{16}`),
	},
	{
		name:    "a GitHub token",
		hints:   []string{"gh", "github_pat_"},
		pattern: tok(`(?:gh[pousr]_[0-9A-Za-z]{36,251}|github_pat_[0-9A-Za-z]{22}_[0-9A-Za-z]{59})`),
	},
	{
		name:    "a GitLab token",
		hints:   []string{"glpat-"},
		pattern: tok(`glpat-[0-9A-Za-z_\-]{20,}`),
	},
	{
		name:    "a Slack token",
		hints:   []string{"xox"},
		pattern: tok(`xox[abposr]-(?:[0-9]+-){1,3}[0-9A-Za-z]{10,}`),
	},
	{
		name:    "a Slack webhook URL",
		hints:   []string{"hooks.slack.com"},
		pattern: regexp.MustCompile(`https://hooks\.slack\.com/(?:services|workflows|triggers)/T[0-9A-Z]{6,}/[0-9A-Za-z]{6,}/[0-9A-Za-z]{20,}`),
	},
	{
		name:    "a Google API key",
		hints:   []string{"AIza"},
		pattern: tok(`AIza[0-9A-Za-z_\-]{35}`),
	},
	{
		name:    "a Google OAuth client secret",
		hints:   []string{"GOCSPX-"},
		pattern: tok(`GOCSPX-[0-9A-Za-z_\-]{28}`),
	},
	{
		name:    "a Stripe secret key",
		hints:   []string{"_live_"},
		pattern: tok(`(?:sk|rk)_live_[0-9A-Za-z]{24,}`),
	},
	{
		name:    "a JSON Web Token",
		hints:   []string{"eyJ"},
		pattern: regexp.MustCompile(`(?:^|[^0-9A-Za-z_\-.])(eyJ[0-9A-Za-z_\-]{10,})\.(eyJ[0-9A-Za-z_\-]{2,})\.([0-9A-Za-z_\-]{16,})(?:[^0-9A-Za-z_\-.]|$)`),
		confirm: jwtHeader,
	},
	{
		name:    "an npm token",
		hints:   []string{"npm_"},
		pattern: tok(`npm_[0-9A-Za-z]{36}`),
	},
	{
		name:    "a PyPI token",
		hints:   []string{"pypi-"},
		pattern: tok(`pypi-AgEIcHlwaS5vcmc[0-9A-Za-z_\-]{50,}`),
	},
	{
		name:    "a SendGrid API key",
		hints:   []string{"SG."},
		pattern: regexp.MustCompile(`(?:^|[^0-9A-Za-z_\-.])SG\.[0-9A-Za-z_\-]{22}\.[0-9A-Za-z_\-]{43}(?:[^0-9A-Za-z_\-.]|$)`),
	},
	{
		name:    "a DigitalOcean token",
		hints:   []string{"do"},
		pattern: tok(`do[opr]_v1_[0-9a-f]{64}`),
	},
	{
		name:    "an Azure storage account key",
		hints:   []string{"AccountKey="},
		pattern: regexp.MustCompile(`AccountName=[^;]+;AccountKey=[0-9A-Za-z+/]{80,}={0,2}`),
	},
	{
		name:    "a Hugging Face token",
		hints:   []string{"hf_"},
		pattern: tok(`hf_[A-Za-z]{34}`),
	},
	{
		name:    "a Shopify access token",
		hints:   []string{"shp"},
		pattern: tok(`shp(?:at|ca|pa|ss)_[0-9a-fA-F]{32}`),
	},
	{
		name:    "an Anthropic API key",
		hints:   []string{"sk-ant-"},
		pattern: tok(`sk-ant-(?:api|admin)[0-9]{2}-[0-9A-Za-z_\-]{80,}`),
	},
	{
		name:    "an OpenAI API key",
		hints:   []string{"sk-"},
		pattern: tok(`sk-(?:proj|svcacct|admin)-[0-9A-Za-z_\-]{40,}`),
	},
	{
		name:    "a HashiCorp Vault token",
		hints:   []string{"hv"},
		pattern: tok(`hv[sbr]\.[0-9A-Za-z_\-]{24,}`),
	},
	{
		name:    "a Databricks token",
		hints:   []string{"dapi"},
		pattern: tok(`dapi[0-9a-f]{32}(?:-[0-9])?`),
	},
}

// jwtHeader confirms a JSON Web Token: its header decodes to a JSON object
// with an "alg".
func jwtHeader(m []string) bool {
	header, err := base64.RawURLEncoding.DecodeString(m[1])
	if err != nil {
		return false
	}
	var h map[string]any
	if json.Unmarshal(header, &h) != nil {
		return false
	}
	alg, ok := h["alg"].(string)
	return ok && alg != ""
}

// SecretFormats are the names of the formats SecretFormat finds, in the
// order it tries them.
func SecretFormats() []string {
	out := make([]string, len(secretDetectors))
	for i, d := range secretDetectors {
		out[i] = d.name
	}
	return out
}

// SecretFormat says whether value holds a well-known credential, and which
// ("a PEM private key"). It reads at most the first 64 KiB of value.
func SecretFormat(value string) (name string, ok bool) {
	if len(value) < minSecretLen {
		return "", false
	}
	if len(value) > maxSecretScan {
		value = value[:maxSecretScan]
	}
	for _, d := range secretDetectors {
		if !containsAny(value, d.hints) {
			continue
		}
		if d.found(value) {
			return d.name, true
		}
	}
	return "", false
}

func (d *secretDetector) found(value string) bool {
	if d.also != nil && !d.also.MatchString(value) {
		return false
	}
	if d.confirm == nil {
		return d.pattern.MatchString(value)
	}
	for _, m := range d.pattern.FindAllStringSubmatch(value, -1) {
		if d.confirm(m) {
			return true
		}
	}
	return false
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
