// Package fakesecrets holds one real-looking but FAKE example of every
// credential format validate's secret detectors know (validate.SecretFormats),
// for the tests that check the detectors find them and that no output of
// plimsoll (check's formats, the audit's reports, the webhook's answers,
// logs and traces) ever carries one. Nothing here is a real credential:
// the bodies spell FAKE, EXAMPLE or repeat one character, and the AWS key
// is the example AWS documents.
package fakesecrets

import (
	"encoding/base64"
	"strings"
)

// pem is a PEM block of the given type with an obviously fake body.
func pem(kind string) string {
	body := strings.Repeat("FAKEKEYFAKEKEYFAKEKEYFAKEKEYFAKEKEYFAKEKEYFAKEKEYFAKEKEYFAKEKEY\n", 4)
	return "-----BEGIN " + kind + "-----\n" + body + "-----END " + kind + "-----\n"
}

// jwt is a JSON Web Token with a fake signature.
func jwt() string {
	seg := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	return seg(`{"alg":"HS256","typ":"JWT"}`) + "." + seg(`{"sub":"fake-user-for-tests","name":"Not A Real Person","iat":1516239022}`) + "." +
		"FAKEsignatureFAKEsignatureFAKEsignature_fake"
}

// serviceAccount is a Google service-account key file, fake throughout.
func serviceAccount() string {
	key := strings.ReplaceAll(pem("PRIVATE KEY"), "\n", `\n`)
	return `{"type": "service_account", "project_id": "fake-project-example", "private_key_id": "0000000000000000000000000000000000000000", ` +
		`"private_key": "` + key + `", "client_email": "fake-robot@fake-project-example.iam.gserviceaccount.com", "client_id": "000000000000000000000"}`
}

// Examples returns, by detector name (validate.SecretFormats), a fake
// value that detector finds.
func Examples() map[string]string {
	return map[string]string{
		"a PEM private key":            pem("RSA PRIVATE KEY"),
		"an AWS access key ID":         "AKIAIOSFODNN7EXAMPLE", // AWS's documented example
		"a GitHub token":               "ghp_" + "FAKEfakeFAKEfakeFAKEfakeFAKEfake0000",
		"a GitLab token":               "glpat-" + "FAKEfakeFAKEfake0000",
		"a Slack token":                "xoxb-" + "0000000000-0000000000000-FAKEfakeFAKEfakeFAKEfake",
		"a Slack webhook URL":          "https://hooks.slack.com/services/T00000000/B00000000/" + "FAKEfakeFAKEfakeFAKEfake",
		"a Google API key":             "AIza" + "FAKEfakeFAKEfakeFAKEfakeFAKEfake000",
		"a Google OAuth client secret": "GOCSPX-" + "FAKEfakeFAKEfakeFAKEfakeFAKE",
		"a Google service-account key": serviceAccount(),
		"a Stripe secret key":          "sk_live_" + "FAKEfakeFAKEfakeFAKEfake",
		"a JSON Web Token":             jwt(),
		"an npm token":                 "npm_" + "FAKEfakeFAKEfakeFAKEfakeFAKEfake0000",
		"a PyPI token":                 "pypi-AgEIcHlwaS5vcmc" + strings.Repeat("FAKEfake", 8),
		"a SendGrid API key":           "SG." + "FAKEfakeFAKEfakeFAKEfa" + "." + "FAKEfakeFAKEfakeFAKEfakeFAKEfakeFAKEfakeFAK",
		"a DigitalOcean token":         "dop_v1_" + strings.Repeat("0", 64),
		"an Azure storage account key": "DefaultEndpointsProtocol=https;AccountName=fakeaccount;AccountKey=" + strings.Repeat("FAKE", 22) + "==;EndpointSuffix=core.windows.net",
		"a Hugging Face token":         "hf_" + "FAKEfakeFAKEfakeFAKEfakeFAKEfakeFA",
		"a Shopify access token":       "shpat_" + strings.Repeat("0", 32),
		"an Anthropic API key":         "sk-ant-api03-" + strings.Repeat("FAKEfake", 11) + "FAKE-AA",
		"an OpenAI API key":            "sk-proj-" + strings.Repeat("FAKEfake", 16),
		"a HashiCorp Vault token":      "hvs." + strings.Repeat("FAKEfake", 12),
		"a Databricks token":           "dapi" + strings.Repeat("0", 32),
	}
}

// Fragments are the pieces of value an output must not hold: the value
// itself, and each run of 12 or more letters and digits in it (so that a
// value escaped for JSON, HTML or XML, or cut, is still caught).
func Fragments(value string) []string {
	out := []string{value}
	run := 0
	for i := 0; i <= len(value); i++ {
		if i < len(value) && isAlnum(value[i]) {
			run++
			continue
		}
		if run >= 12 {
			out = append(out, value[i-run:i])
		}
		run = 0
	}
	return out
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
