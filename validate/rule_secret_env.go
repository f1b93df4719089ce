package validate

// secret-env: no container carries a secret as a literal environment
// value. Checked fields: env[*].value of every container, when the
// variable's name looks secret (it contains PASSWORD, PASSWD, SECRET,
// TOKEN, API_KEY, APIKEY, PRIVATE_KEY, ACCESS_KEY or CREDENTIAL, in any
// case, with "-" and "." read as "_"). Names ending in _FILE, _PATH or
// _DIR point at a secret rather than hold one and are left alone. Also
// env[*].value of any variable, whatever its name, whose value is a
// well-known credential format (SecretFormat, secrets.go: PEM private
// keys, cloud access keys, source-forge and chat tokens, JWTs,
// service-account JSON): a private key in THE_GOOD_STUFF is a secret.
// Allowed: valueFrom (a secretKeyRef), or an empty value. A literal lands
// in the manifest, in git, in etcd unencrypted and in `kubectl get -o
// yaml`. Messages name the variable and the format, never the value or
// any part of it.

import (
	"fmt"
	"strings"

	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/workload"
)

// secretWords are the fragments that make a variable name look secret.
var secretWords = []string{"PASSWORD", "PASSWD", "SECRET", "TOKEN", "API_KEY", "APIKEY", "PRIVATE_KEY", "ACCESS_KEY", "CREDENTIAL"}

var secretEnv = &Rule{
	ID:          "secret-env",
	Category:    "security",
	Severity:    policy.Warning,
	Description: "Secrets are not written as literal environment values (a variable whose name looks secret, or whose value is a private key, cloud key or token, comes from a Secret).",
	Remediation: "Put the value in a Secret and refer to it with env[].valueFrom.secretKeyRef (or mount the Secret as a file).",
	Defaulted:   "no",
	Check: func(t *workload.Template, _ *policy.Policy) []Finding {
		var out []Finding
		for _, c := range t.Containers() {
			for i, e := range c.Env {
				if e.Value == "" || e.ValueFrom != nil {
					continue
				}
				// The format, when the value has one, says more than the
				// name: it is named in the message; the value never is.
				format, isSecret := SecretFormat(e.Value)
				if !isSecret && !looksSecret(e.Name) {
					continue
				}
				what := "a literal value"
				if isSecret {
					what = "a literal value that looks like " + format
				}
				out = append(out, Finding{
					Container:     c.Name,
					ContainerType: c.Type,
					Path:          c.Path.Child("env").Index(i).Child("value").String(),
					Problem:       fmt.Sprintf("sets %s to %s, which anyone who can read the %s sees", e.Name, what, t.Kind),
					Fix:           fmt.Sprintf("put the value in a Secret and write valueFrom: {secretKeyRef: {name: <secret>, key: %s}} instead of value", e.Name),
				})
			}
		}
		return out
	},
}

func looksSecret(name string) bool {
	n := strings.NewReplacer("-", "_", ".", "_").Replace(strings.ToUpper(name))
	for _, suffix := range []string{"_FILE", "_PATH", "_DIR"} {
		if strings.HasSuffix(n, suffix) {
			return false
		}
	}
	for _, w := range secretWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}
