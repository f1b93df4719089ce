package validate

// secret-env: no container carries a secret as a literal environment
// value. Checked fields: env[*].value of every container, when the
// variable's name looks secret (it contains PASSWORD, PASSWD, SECRET,
// TOKEN, API_KEY, APIKEY, PRIVATE_KEY, ACCESS_KEY or CREDENTIAL, in any
// case, with "-" and "." read as "_"). Names ending in _FILE, _PATH or
// _DIR point at a secret rather than hold one and are left alone. Allowed:
// valueFrom (a secretKeyRef), or an empty value. A literal lands in the
// manifest, in git, in etcd unencrypted and in `kubectl get -o yaml`.
// Messages never repeat the value.

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
	Description: "Secrets are not written as literal environment values (a variable whose name looks secret comes from a Secret).",
	Remediation: "Put the value in a Secret and refer to it with env[].valueFrom.secretKeyRef (or mount the Secret as a file).",
	Defaulted:   "no",
	Check: func(t *workload.Template, _ *policy.Policy) []Finding {
		var out []Finding
		for _, c := range t.Containers() {
			for i, e := range c.Env {
				if e.Value == "" || e.ValueFrom != nil || !looksSecret(e.Name) {
					continue
				}
				out = append(out, Finding{
					Container:     c.Name,
					ContainerType: c.Type,
					Path:          c.Path.Child("env").Index(i).Child("value").String(),
					Problem:       fmt.Sprintf("sets %s to a literal value, which anyone who can read the %s sees", e.Name, t.Kind),
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
