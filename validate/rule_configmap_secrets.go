package validate

// configmap-secrets: a ConfigMap holds no secret. Checked fields: every
// value of data, and of binaryData when it is UTF-8 text (a binary
// value is no text a person pasted a token into), each found by what it
// holds: a well-known credential format (SecretFormat, secrets.go, the
// detectors secret-env uses), whatever its key is called. Also a key
// whose name looks secret by secret-env's words (PASSWORD, SECRET,
// TOKEN, API_KEY, PRIVATE_KEY, ACCESS_KEY, CREDENTIAL...; camelCase,
// "-" and "." read as "_"), when its value could be a secret: not
// empty, not a reference to one (a path to a mounted file, ${VAR},
// {{ .Values.x }}, <password>, a URL without a password), not a setting
// (true, 8, 30s), and not a whole file (a key named like one,
// password-policy.json, is judged by what it holds). Names ending in
// _FILE, _PATH, _DIR, _NAME or _REF point at a secret rather than hold
// one. A ConfigMap is stored unencrypted, shown by `kubectl get -o
// yaml` and readable by anyone with get on configmaps, a right granted
// far more widely than on secrets.
//
// Messages name the key and the format, never the value or any part of
// it; a key that itself looks like a credential is not named either.
// At most maxConfigMapFindings keys are reported one by one, the rest
// counted in one more finding.

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/workload"
)

// maxConfigMapFindings bounds the findings on one ConfigMap: a
// ConfigMap of thousands of keys would otherwise fill the admission
// warnings and every report with lines that say the same thing.
const maxConfigMapFindings = 20

var configMapSecrets = &Rule{
	ID:          "configmap-secrets",
	Category:    "security",
	Severity:    policy.Warning,
	Description: "ConfigMaps hold no secrets: no value that is a private key, cloud key or token, and no literal value under a key whose name looks secret (password, api-key, ...).",
	Remediation: "Move the key into a Secret and have the Pods read it from there (env[].valueFrom.secretKeyRef, envFrom[].secretRef, or a secret volume) instead of from the ConfigMap.",
	Defaulted:   "no",
	Kinds:       []string{"ConfigMap"},
	Check: func(t *workload.Template, _ *policy.Policy) []Finding {
		cm, ok := t.Object.(*corev1.ConfigMap)
		if !ok {
			return nil
		}
		var out []Finding
		// more counts the keys beyond the cap, in data and in binaryData.
		var more [2]int
		report := func(f Finding, in int) {
			if len(out) < maxConfigMapFindings {
				out = append(out, f)
			} else {
				more[in]++
			}
		}
		for _, key := range sortedKeys(cm.Data) {
			if f, found := configMapFinding("data", key, cm.Data[key]); found {
				report(f, 0)
			}
		}
		for _, key := range sortedKeys(cm.BinaryData) {
			value := cm.BinaryData[key]
			if !utf8.Valid(value) {
				continue
			}
			if f, found := configMapFinding("binaryData", key, string(value)); found {
				report(f, 1)
			}
		}
		for in, name := range []string{"data", "binaryData"} {
			n := more[in]
			if n == 0 {
				continue
			}
			noun := "keys that look"
			if n == 1 {
				noun = "key that looks"
			}
			// Its path is the whole map: on an UPDATE it is forgiven only
			// if nothing there changed, so a secret added beyond the cap
			// is never let through as one that was already there.
			out = append(out, Finding{
				Path:    name,
				Scope:   name,
				Problem: fmt.Sprintf("has %d more %s like secrets, beyond the %d keys listed one by one", n, noun, maxConfigMapFindings),
				Fix:     "move those keys into a Secret too (fix the keys listed and check again to see the rest)",
			})
		}
		return out
	},
}

// configMapFinding judges one key of a ConfigMap's fieldName (data or
// binaryData) and its value.
func configMapFinding(fieldName, key, value string) (Finding, bool) {
	// A key that is itself a credential (a token used as a key) is named
	// neither in the message nor in the path.
	if format, ok := SecretFormat(key); ok {
		return Finding{
			Path:    fieldName,
			Scope:   fieldName,
			Problem: fmt.Sprintf("has a key that looks like %s (the key is not repeated here), which anyone who can read the ConfigMap sees", format),
			Fix:     "remove that key, and keep the credential in a Secret",
		}, true
	}
	what := ""
	if format, ok := SecretFormat(value); ok {
		what = "a value that looks like " + format
	} else if noun := secretKeyName(key); noun != "" && mayBeSecret(value) {
		what = "a literal value, and its name looks like " + noun
	}
	if what == "" {
		return Finding{}, false
	}
	return Finding{
		Path:    field.NewPath(fieldName).Key(key).String(),
		Scope:   fieldName,
		Problem: fmt.Sprintf("key %q holds %s, which anyone who can read the ConfigMap sees", key, what),
		Fix: fmt.Sprintf("move key %s into a Secret and have the Pods read it from there: valueFrom: {secretKeyRef: {name: <secret>, key: %s}}, envFrom: [{secretRef: {name: <secret>}}] or a secret volume, in place of this ConfigMap",
			key, key),
	}, true
}

// secretNouns say, for each of secret-env's secretWords, what a key
// named with it looks like.
var secretNouns = map[string]string{
	"PASSWORD": "a password", "PASSWD": "a password", "SECRET": "a secret", "TOKEN": "a token",
	"API_KEY": "an API key", "APIKEY": "an API key", "PRIVATE_KEY": "a private key",
	"ACCESS_KEY": "an access key", "CREDENTIAL": "a credential",
}

// referenceSuffixes end the names of keys that point at a secret rather
// than hold one: secret-env's _FILE, _PATH and _DIR, and the name of a
// Secret (SECRET_NAME, tokenSecretRef).
var referenceSuffixes = []string{"_FILE", "_PATH", "_DIR", "_NAME", "_REF"}

// fileExtensions mark a key that names a whole file (a ConfigMap
// mounted as a volume): such a key is judged by what the file holds,
// not by its name (password-policy.json, token-refresh.sh).
var fileExtensions = []string{
	"cfg", "conf", "css", "html", "ini", "js", "json", "lua", "md", "properties", "py",
	"rego", "sh", "sql", "tmpl", "toml", "tpl", "txt", "xml", "yaml", "yml",
}

// secretKeyName returns what a ConfigMap key looks like by its name ("a
// password"), or "" when its name does not look secret: secret-env's
// words, with camelCase split as well as "-" and "." read as "_".
func secretKeyName(key string) string {
	if i := strings.LastIndexByte(key, '.'); i >= 0 && slices.Contains(fileExtensions, strings.ToLower(key[i+1:])) {
		return ""
	}
	n := normalizeKey(key)
	for _, suffix := range referenceSuffixes {
		if strings.HasSuffix(n, suffix) {
			return ""
		}
	}
	for _, w := range secretWords {
		if strings.Contains(n, w) {
			return secretNouns[w]
		}
	}
	return ""
}

// normalizeKey upper-cases key with "_" between words: "-", "." and a
// change from lower case (or a digit) to upper case start one, so
// dbPassword, db-password and db.password all read DB_PASSWORD.
func normalizeKey(key string) string {
	var b strings.Builder
	b.Grow(len(key) + 8)
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case c == '-' || c == '.':
			b.WriteByte('_')
		case c >= 'A' && c <= 'Z':
			if i > 0 && (key[i-1] >= 'a' && key[i-1] <= 'z' || key[i-1] >= '0' && key[i-1] <= '9') {
				b.WriteByte('_')
			}
			b.WriteByte(c)
		case c >= 'a' && c <= 'z':
			b.WriteByte(c - 'a' + 'A')
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// A reference stands for a secret kept elsewhere: a variable or a
// template to be filled in (${DB_PASSWORD}, $(TOKEN), $TOKEN,
// {{ .Values.password }}, %TOKEN%), a placeholder (<password>), or a
// path to a file (a mounted Secret).
var reference = regexp.MustCompile(`^(?:\$\{[^}]*\}|\$\([^)]*\)|\$[A-Za-z_][A-Za-z0-9_]*|\{\{.*\}\}|%[A-Za-z_][A-Za-z0-9_]*%|<[^<>]*>|(?:/|\./|\.\./|~/|file://)\S*)$`)

// mayBeSecret reports whether value, under a key whose name looks
// secret, could be the secret itself: not empty, not a reference to it
// or a placeholder (all "*" or "x"), not a URL that holds no password
// (a token endpoint), and not a setting (a boolean, a number, a
// duration: password.min-length: "12", token-ttl: 1h).
func mayBeSecret(value string) bool {
	v := strings.TrimSpace(value)
	if v == "" || reference.MatchString(v) || masked(v) {
		return false
	}
	if u, err := url.Parse(v); err == nil && u.Scheme != "" && u.Host != "" {
		if _, hasPassword := u.User.Password(); !hasPassword {
			return false
		}
	}
	switch strings.ToLower(v) {
	case "true", "false", "yes", "no", "on", "off", "enabled", "disabled", "none", "null", "~":
		return false
	}
	if _, err := strconv.ParseFloat(v, 64); err == nil {
		return false
	}
	if _, err := time.ParseDuration(v); err == nil {
		return false
	}
	return true
}

// masked reports whether v is a masked value: only "*", or only "x".
func masked(v string) bool {
	return strings.Trim(v, "*") == "" || strings.Trim(strings.ToLower(v), "x") == ""
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
