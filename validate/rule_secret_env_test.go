package validate

import (
	"strings"
	"testing"
)

func TestLooksSecret(t *testing.T) {
	tests := []struct {
		name string
		env  string
		want bool
	}{
		{"a password", "DB_PASSWORD", true},
		{"a lower-case password", "db_password", true},
		{"a passwd", "MYSQL_PASSWD", true},
		{"a secret", "CLIENT_SECRET", true},
		{"a token", "GITHUB_TOKEN", true},
		{"an API key with dashes", "stripe-api-key", true},
		{"an API key with dots", "service.api.key", true},
		{"an apikey in one word", "APIKEY", true},
		{"a private key", "SSH_PRIVATE_KEY", true},
		{"an access key", "AWS_SECRET_ACCESS_KEY", true},
		{"credentials", "GOOGLE_APPLICATION_CREDENTIALS_JSON", true},
		{"a file holding a password is a path, not a secret", "DB_PASSWORD_FILE", false},
		{"a path to a token is a path", "TOKEN_PATH", false},
		{"a directory of secrets is a path", "SECRETS_DIR", false},
		{"a host is not a secret", "DATABASE_HOST", false},
		{"a key alone is too vague to flag", "CACHE_KEY", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := looksSecret(tt.env); got != tt.want {
				t.Errorf("looksSecret(%q) = %v, want %v", tt.env, got, tt.want)
			}
		})
	}
}

// TestSecretEnvNeverRepeatsTheValue: a message lands in audit logs,
// warnings and CI output; the secret must not ride along.
func TestSecretEnvNeverRepeatsTheValue(t *testing.T) {
	for _, file := range ruleFixtures(t, "secret-env", "fail") {
		tpl := loadTemplate(t, file)
		values := map[string]bool{}
		for _, c := range tpl.Spec.InitContainers {
			for _, e := range c.Env {
				values[e.Value] = true
			}
		}
		for _, c := range tpl.Spec.Containers {
			for _, e := range c.Env {
				values[e.Value] = true
			}
		}
		for _, v := range violations(t, "secret-env", strings.TrimPrefix(file, "testdata/secret-env/")) {
			for value := range values {
				if value != "" && (strings.Contains(v.Message(), value) || strings.Contains(v.Fix, value)) {
					t.Errorf("%s: message repeats the value %q: %s", file, value, v.Message())
				}
			}
		}
	}
}
