package validate

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/plimsoll/plimsoll/internal/fakesecrets"
	"github.com/plimsoll/plimsoll/policy"
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
				if value == "" {
					continue
				}
				for _, part := range fakesecrets.Fragments(value) {
					if strings.Contains(v.Message(), part) || strings.Contains(v.Fix, part) {
						t.Errorf("%s: message repeats (part of) the value %q: %s", file, part, v.Message())
					}
				}
			}
		}
	}
}

// TestSecretEnvCoverage: secret-env finds a literal secret in every
// container.
func TestSecretEnvCoverage(t *testing.T) {
	expectRiskyFindings(t, "secret-env", fieldIn(".env[0].value", allContainers...)...)
}

// TestSecretEnvMessages pins what the person at kubectl apply reads for
// failing fixtures: the object, the container, the field at fault and the
// fix.
func TestSecretEnvMessages(t *testing.T) {
	expectMessages(t, "secret-env", []messageCase{
		{
			name: "a literal secret is named but its value is not repeated",
			file: "fail/deployment-password.yaml",
			want: []string{`[secret-env] Deployment "web": container "web" sets DB_PASSWORD to a literal value, which anyone who can read the Deployment sees (spec.template.spec.containers[0].env[1].value): put the value in a Secret and write valueFrom: {secretKeyRef: {name: <secret>, key: DB_PASSWORD}} instead of value`},
		},
		{
			name: "a private key in an innocently named variable is found by its value, which is not repeated",
			file: "fail/pod-private-key-innocent-name.yaml",
			want: []string{`[secret-env] Pod "vault-agent": container "agent" sets the_good_stuff to a literal value that looks like a PEM private key, which anyone who can read the Pod sees (spec.containers[0].env[1].value): put the value in a Secret and write valueFrom: {secretKeyRef: {name: <secret>, key: the_good_stuff}} instead of value`},
		},
		{
			name: "an AWS key inside a longer value of an init container",
			file: "fail/deployment-aws-key-in-config.yaml",
			want: []string{`[secret-env] Deployment "backup": init container "fetch" sets S3_CONFIG to a literal value that looks like an AWS access key ID, which anyone who can read the Deployment sees (spec.template.spec.initContainers[0].env[0].value): put the value in a Secret and write valueFrom: {secretKeyRef: {name: <secret>, key: S3_CONFIG}} instead of value`},
		},
	})
}

// TestSecretEnvFindsEveryFormatWhateverTheName: each detector's fake
// example in a variable whose name says nothing is a finding that names
// the variable and the format and holds no part of the value.
func TestSecretEnvFindsEveryFormatWhateverTheName(t *testing.T) {
	r := ruleByID(t, "secret-env")
	for format, value := range fakesecrets.Examples() {
		t.Run(format, func(t *testing.T) {
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{
				Name: "app", Image: "app:1.0",
				Env: []corev1.EnvVar{{Name: "the_good_stuff", Value: value}},
			}}}}
			got := r.Check(findTemplate(t, pod), policy.Default())
			if len(got) != 1 {
				t.Fatalf("%d findings, want 1", len(got))
			}
			want := "sets the_good_stuff to a literal value that looks like " + format + ", which anyone who can read the Pod sees"
			if got[0].Problem != want {
				t.Errorf("problem = %q, want %q", got[0].Problem, want)
			}
			for _, part := range fakesecrets.Fragments(value) {
				if strings.Contains(got[0].Problem+got[0].Fix+got[0].Path, part) {
					t.Errorf("the finding holds %q", part)
				}
			}
		})
	}
}
