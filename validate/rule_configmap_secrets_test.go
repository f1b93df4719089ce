package validate

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/plimsoll/plimsoll/internal/fakesecrets"
	"github.com/plimsoll/plimsoll/policy"
)

// configMap is a ConfigMap "c" with data and binaryData.
func configMap(data map[string]string, binary map[string][]byte) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c", Namespace: fixtureNamespace}, Data: data, BinaryData: binary}
}

// configMapFindings runs configmap-secrets over cm with the built-in policy.
func configMapFindings(t *testing.T, cm *corev1.ConfigMap) []Finding {
	t.Helper()
	return ruleByID(t, "configmap-secrets").Check(findTemplate(t, cm), policy.Default())
}

func TestConfigMapSecretsMessages(t *testing.T) {
	const fix = ": move key %s into a Secret and have the Pods read it from there: valueFrom: {secretKeyRef: {name: <secret>, key: %s}}, envFrom: [{secretRef: {name: <secret>}}] or a secret volume, in place of this ConfigMap"
	fixOf := func(key string) string { return fmt.Sprintf(fix, key, key) }
	expectMessages(t, "configmap-secrets", []messageCase{
		{
			name: "a key named like a password is found by its name, and its value is not repeated",
			file: "fail/password-key.yaml",
			want: []string{`[configmap-secrets] ConfigMap "shop-db": data key "DB_PASSWORD" holds a literal value, and its name looks like a password, which anyone who can read the ConfigMap sees (data[DB_PASSWORD])` + fixOf("DB_PASSWORD")},
		},
		{
			name: "an AWS key inside a properties file is found by its value",
			file: "fail/aws-key-in-properties.yaml",
			want: []string{`[configmap-secrets] ConfigMap "backup-config": data key "application.properties" holds a value that looks like an AWS access key ID, which anyone who can read the ConfigMap sees (data[application.properties])` + fixOf("application.properties")},
		},
		{
			name: "a private key under binaryData is found once decoded; a binary blob is skipped",
			file: "fail/binary-private-key.yaml",
			want: []string{`[configmap-secrets] ConfigMap "deploy-keys": binaryData key "id_ed25519" holds a value that looks like a PEM private key, which anyone who can read the ConfigMap sees (binaryData[id_ed25519])` + fixOf("id_ed25519")},
		},
		{
			name: "camelCase and dashed keys read as secret-env reads variable names",
			file: "fail/camel-case-api-key.yaml",
			want: []string{
				`[configmap-secrets] ConfigMap "payments": data key "apiKey" holds a literal value, and its name looks like an API key, which anyone who can read the ConfigMap sees (data[apiKey])` + fixOf("apiKey"),
				`[configmap-secrets] ConfigMap "payments": data key "clientSecret" holds a literal value, and its name looks like a secret, which anyone who can read the ConfigMap sees (data[clientSecret])` + fixOf("clientSecret"),
				`[configmap-secrets] ConfigMap "payments": data key "stripe-api-key" holds a literal value, and its name looks like an API key, which anyone who can read the ConfigMap sees (data[stripe-api-key])` + fixOf("stripe-api-key"),
			},
		},
	})
}

// TestConfigMapSecretsFindsEveryFormatWhateverTheKey: each detector's
// fake example, under a key whose name says nothing, in data and in
// binaryData, is one finding that names the key and the format and holds
// no part of the value.
func TestConfigMapSecretsFindsEveryFormatWhateverTheKey(t *testing.T) {
	for format, value := range fakesecrets.Examples() {
		t.Run(format, func(t *testing.T) {
			for _, cm := range []*corev1.ConfigMap{
				configMap(map[string]string{"the_good_stuff": value, "LOG_LEVEL": "info"}, nil),
				configMap(nil, map[string][]byte{"the_good_stuff": []byte(value)}),
			} {
				got := configMapFindings(t, cm)
				if len(got) != 1 {
					t.Fatalf("%d findings, want 1: %+v", len(got), findingPaths(got))
				}
				want := `key "the_good_stuff" holds a value that looks like ` + format + ", which anyone who can read the ConfigMap sees"
				if got[0].Problem != want {
					t.Errorf("problem = %q, want %q", got[0].Problem, want)
				}
				for _, part := range fakesecrets.Fragments(value) {
					if strings.Contains(got[0].Problem+got[0].Fix+got[0].Path+got[0].Scope, part) {
						t.Errorf("the finding holds %q", part)
					}
				}
			}
		})
	}
}

// TestConfigMapSecretsPaths: each finding names its key at the field it
// lives in, in the notation of field paths (and of metadata.labels[app]).
func TestConfigMapSecretsPaths(t *testing.T) {
	key := fakesecrets.Examples()["a GitHub token"]
	cm := configMap(map[string]string{"b.password": "hunter2-hunter2", "a": key, "z": "plain"},
		map[string][]byte{"api-key": []byte("k-123-456-789"), "blob": {0xff, 0xfe, 0x00}})
	want := []string{"data[a]", "data[b.password]", "binaryData[api-key]"}
	if diff := cmp.Diff(want, findingPaths(configMapFindings(t, cm))); diff != "" {
		t.Errorf("paths (-want +got):\n%s", diff)
	}
}

// TestConfigMapSecretsByName: which keys look secret by name, and which
// values under them could be the secret.
func TestConfigMapSecretsByName(t *testing.T) {
	tests := []struct {
		name       string
		key, value string
		want       bool
	}{
		{"a password", "password", "hunter2-hunter2", true},
		{"an AWS secret access key by name", "aws_secret_access_key", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", true},
		{"an api-key", "api-key", "0123-4567", true},
		{"a camelCase access key", "accessKey", "minio-admin-key", true},
		{"a dotted key of a properties-like name", "spring.datasource.password", "s3cr3t", true},
		{"a URL with a password in it", "DATABASE_CREDENTIALS", "postgres://app:hunter2@db:5432/shop", true},
		{"an empty value", "password", "", false},
		{"a blank value", "password", "  \n", false},
		{"a path to the mounted secret", "password", "/var/run/secrets/db/password", false},
		{"a relative path", "token", "./secrets/token", false},
		{"a variable to fill in", "password", "${DB_PASSWORD}", false},
		{"a shell substitution", "password", "$(DB_PASSWORD)", false},
		{"a bare variable", "password", "$DB_PASSWORD", false},
		{"a Helm template", "password", "{{ .Values.db.password }}", false},
		{"a Windows variable", "password", "%DB_PASSWORD%", false},
		{"a placeholder", "password", "<your password here>", false},
		{"a masked value", "password", "********", false},
		{"x'ed out", "api_key", "xxxxxxxx", false},
		{"a token endpoint", "token_url", "https://login.example.com/oauth2/token", false},
		{"a URL without a password", "secret_store", "https://vault.example.com:8200/v1/kv", false},
		{"a length", "password_min_length", "12", false},
		{"a switch", "password-required", "true", false},
		{"a lifetime", "tokenTTL", "15m", false},
		{"the name of a Secret", "secretName", "db-credentials", false},
		{"a reference to a Secret", "passwordSecretRef", "db/password", false},
		{"a password file", "DB_PASSWORD_FILE", "db-password", false},
		{"a whole file named for passwords", "password-policy.yaml", "minLength: 12", false},
		{"a key that is not secret", "greeting", "hello-world", false},
		{"a key that is only vague", "cache-key", "sessions", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := len(configMapFindings(t, configMap(map[string]string{tt.key: tt.value}, nil))) > 0
			if got != tt.want {
				t.Errorf("%s: %q finds something = %v, want %v", tt.key, tt.value, got, tt.want)
			}
		})
	}
}

// TestConfigMapSecretsNeverNamesAKeyThatIsACredential: a token used as a
// key is reported without repeating it, in the message or the path.
func TestConfigMapSecretsNeverNamesAKeyThatIsACredential(t *testing.T) {
	token := fakesecrets.Examples()["a GitHub token"]
	got := configMapFindings(t, configMap(map[string]string{token: "enabled"}, nil))
	if len(got) != 1 {
		t.Fatalf("%d findings, want 1", len(got))
	}
	if got[0].Path != "data" {
		t.Errorf("path = %q, want data", got[0].Path)
	}
	for _, part := range fakesecrets.Fragments(token) {
		if strings.Contains(got[0].Problem+got[0].Fix+got[0].Path, part) {
			t.Errorf("the finding holds %q: %+v", part, got[0])
		}
	}
}

// TestConfigMapSecretsCapsItsFindings: a ConfigMap of many secrets gives
// maxConfigMapFindings findings by key and one that counts the rest, per
// field.
func TestConfigMapSecretsCapsItsFindings(t *testing.T) {
	data := map[string]string{}
	for i := range maxConfigMapFindings + 7 {
		data[fmt.Sprintf("password-%02d", i)] = "hunter2-hunter2"
	}
	binary := map[string][]byte{"token": []byte("t0k3n-t0k3n"), "api-key": []byte("k3y-k3y")}
	got := configMapFindings(t, configMap(data, binary))
	if len(got) != maxConfigMapFindings+2 {
		t.Fatalf("%d findings, want %d: %v", len(got), maxConfigMapFindings+2, findingPaths(got))
	}
	if p := got[maxConfigMapFindings-1].Path; p != fmt.Sprintf("data[password-%02d]", maxConfigMapFindings-1) {
		t.Errorf("the last finding by key is at %s", p)
	}
	wantRest := []Finding{
		{Path: "data", Scope: "data", Problem: "has 7 more keys that look like secrets, beyond the 20 keys listed one by one"},
		{Path: "binaryData", Scope: "binaryData", Problem: "has 2 more keys that look like secrets, beyond the 20 keys listed one by one"},
	}
	for i, w := range wantRest {
		g := got[maxConfigMapFindings+i]
		if g.Path != w.Path || g.Scope != w.Scope || g.Problem != w.Problem || g.Fix == "" {
			t.Errorf("finding %d = %+v, want one like %+v", maxConfigMapFindings+i, g, w)
		}
	}
}

// TestConfigMapSecretsRatchet: on an UPDATE a secret that was already at
// the same key with the same value is Preexisting; a changed value, a new
// key, or a secret added beyond the cap is not.
func TestConfigMapSecretsRatchet(t *testing.T) {
	p := policy.Default()
	p.Rules = map[string]policy.Severity{"configmap-secrets": policy.Error}
	judge := func(old, cur *corev1.ConfigMap) map[string]bool {
		in := Input{Template: findTemplate(t, cur), Old: findTemplate(t, old)}
		out := map[string]bool{}
		for _, v := range evaluate(t, Registry(), p, in) {
			if v.Rule.ID != "configmap-secrets" {
				t.Errorf("%s judged a ConfigMap: %s", v.Rule.ID, v.Message())
			}
			out[v.Path] = v.Preexisting
		}
		return out
	}
	old := configMap(map[string]string{"password": "hunter2-hunter2", "LOG_LEVEL": "info"}, nil)

	unrelated := old.DeepCopy()
	unrelated.Data["LOG_LEVEL"] = "debug"
	if diff := cmp.Diff(map[string]bool{"data[password]": true}, judge(old, unrelated)); diff != "" {
		t.Errorf("an unrelated change (-want +got):\n%s", diff)
	}
	changed := old.DeepCopy()
	changed.Data["password"] = "another-password"
	if diff := cmp.Diff(map[string]bool{"data[password]": false}, judge(old, changed)); diff != "" {
		t.Errorf("a changed secret (-want +got):\n%s", diff)
	}
	added := old.DeepCopy()
	added.Data["api_token"] = "t0k3n-t0k3n"
	if diff := cmp.Diff(map[string]bool{"data[password]": true, "data[api_token]": false}, judge(old, added)); diff != "" {
		t.Errorf("a new secret (-want +got):\n%s", diff)
	}

	full := configMap(map[string]string{}, nil)
	for i := range maxConfigMapFindings {
		full.Data[fmt.Sprintf("password-%02d", i)] = "hunter2-hunter2"
	}
	beyond := full.DeepCopy()
	beyond.Data["password-99"] = "hunter2-hunter2"
	for path, pre := range judge(full, beyond) {
		if path == "data" && pre {
			t.Error("a secret added beyond the cap was forgiven as preexisting")
		}
		if path != "data" && !pre {
			t.Errorf("%s was already there, yet not preexisting", path)
		}
	}
}

// TestOnlyConfigMapSecretsJudgesConfigMaps: no rule about Pods finds
// anything on a ConfigMap, whatever it holds, with every rule switched on
// and a View around it; and configmap-secrets judges no other kind.
func TestOnlyConfigMapSecretsJudgesConfigMaps(t *testing.T) {
	for _, file := range append(ruleFixtures(t, "configmap-secrets", "fail"), ruleFixtures(t, "configmap-secrets", "pass")...) {
		run := loadRun(t, file)
		for _, tpl := range run.templates {
			if tpl.Kind != "ConfigMap" {
				t.Fatalf("%s: a %s among the ConfigMaps", file, tpl.Kind)
			}
			for _, v := range evaluate(t, Registry(), configuredPolicy(), Input{Template: tpl, Cluster: run.view, Namespace: fixtureNamespace}) {
				if v.Rule.ID != "configmap-secrets" {
					t.Errorf("%s: %s judged a ConfigMap: %s", file, v.Rule.ID, v.Message())
				}
			}
		}
	}
	r := ruleByID(t, "configmap-secrets")
	for _, obj := range []namedObject{
		{name: "a Pod", obj: &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Env: []corev1.EnvVar{{Name: "PASSWORD", Value: "x-y-z-w"}}}}}}},
		{name: "a Namespace", obj: &corev1.Namespace{}},
	} {
		if r.Judges(findTemplate(t, obj.obj)) {
			t.Errorf("configmap-secrets judges %s", obj.name)
		}
	}
}
