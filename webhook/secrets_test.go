package webhook_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/plimsoll/plimsoll/internal/fakesecrets"
	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/validate"
)

// secretObjects are a Pod and a Deployment carrying the fake example of
// format as the literal value of an innocently named variable.
func secretObjects(t *testing.T, i int, format string) map[string][]byte {
	t.Helper()
	value, err := json.Marshal(fakesecrets.Examples()[format])
	if err != nil {
		t.Fatal(err)
	}
	container := fmt.Sprintf(`{"name": "app", "image": "app:1.0", "env": [{"name": "LOG_LEVEL", "value": "info"}, {"name": "the_good_stuff", "value": %s}]}`, value)
	return map[string][]byte{
		"Pod": fmt.Appendf(nil, `{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "pod-%d", "namespace": "shop"}, "spec": {"containers": [%s]}}`, i, container),
		"Deployment": fmt.Appendf(nil, `{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "deploy-%d", "namespace": "shop"}, `+
			`"spec": {"selector": {"matchLabels": {"app": "d%d"}}, "template": {"metadata": {"labels": {"app": "d%d"}}, "spec": {"containers": [%s]}}}}`, i, i, i, container),
	}
}

// TestSecretValuesNeverLeaveTheWebhook: every detector's fake example, in
// a Pod and a Deployment, through /mutate and /validate in each mode, with
// secret-env a warning (warnings, audit annotations) and an error (the
// denial): the AdmissionReview answer names the variable and the format,
// and neither it, nor a log line, nor a span holds the value or any part
// of it.
func TestSecretValuesNeverLeaveTheWebhook(t *testing.T) {
	asError := policy.Default()
	asError.Rules = map[string]policy.Severity{"secret-env": policy.Error}
	for _, pol := range []struct {
		name string
		p    *policy.Policy
	}{{"secret-env a warning", policy.Default()}, {"secret-env an error", asError}} {
		t.Run(pol.name, func(t *testing.T) {
			f, exp := tracedFixture(t)
			f.h.Rules = validate.Registry()
			f.h.Policy.Store(pol.p)
			for i, format := range validate.SecretFormats() {
				fragments := fakesecrets.Fragments(fakesecrets.Examples()[format])
				for kind, obj := range secretObjects(t, i, format) {
					named := false
					for _, path := range []string{"/mutate/enforce", "/validate/enforce", "/validate/warn", "/validate/audit"} {
						a := f.sendTraced(t, path, create(obj).body(t), traceparent)
						answer := strings.Join(a.resp.Warnings, "\n") + "\n" + a.message()
						for k, v := range a.resp.AuditAnnotations {
							answer += "\n" + k + ": " + v
						}
						if strings.Contains(answer, "the_good_stuff") && strings.Contains(answer, "looks like "+format) {
							named = true
						}
						for _, part := range fragments {
							if strings.Contains(answer, part) {
								t.Errorf("%s %s, %s: the answer holds %q of the example of %s", kind, path, pol.name, part, format)
							}
						}
						// The raw answer less the patch, which /mutate must
						// write in terms of the object it was sent.
						raw := edit(t, a.raw, func(m map[string]any) {
							if resp, ok := m["response"].(map[string]any); ok {
								delete(resp, "patch")
							}
						})
						for _, part := range fragments {
							if strings.Contains(string(raw), part) {
								t.Errorf("%s %s, %s: the AdmissionReview holds %q of the example of %s", kind, path, pol.name, part, format)
							}
						}
					}
					if !named {
						t.Errorf("%s with %s, %s: no answer names the variable and the format", kind, format, pol.name)
					}
				}
				logs := f.log.String()
				for _, part := range fragments {
					if strings.Contains(logs, part) {
						t.Errorf("%s: a log line holds %q of the example of %s", pol.name, part, format)
					}
				}
				assertNothingOf(t, exp.GetSpans(), fragments...)
			}
			if !strings.Contains(f.log.String(), "secret-env") {
				t.Errorf("%s: no log line names secret-env: were the objects judged?", pol.name)
			}
			if len(exp.GetSpans()) == 0 {
				t.Error("no span recorded")
			}
		})
	}
}

// configMapObject is a ConfigMap carrying the fake example of format
// under data key the_good_stuff and binaryData key the_binary_stuff, or
// (without the secret) only an innocent setting.
func configMapObject(t *testing.T, i int, format string, withSecret bool) []byte {
	t.Helper()
	data := map[string]string{"LOG_LEVEL": "info"}
	binary := map[string][]byte{}
	if withSecret {
		data["the_good_stuff"] = fakesecrets.Examples()[format]
		binary["the_binary_stuff"] = []byte(fakesecrets.Examples()[format])
	}
	b, err := json.Marshal(map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": fmt.Sprintf("cm-%d", i), "namespace": "shop"},
		"data":     data, "binaryData": binary,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestConfigMapSecretsNeverLeaveTheWebhook: every detector's fake
// example, in a ConfigMap's data and binaryData, through /mutate and
// /validate in each mode, with configmap-secrets a warning and an error:
// the answer names the key and the format, an UPDATE that leaves the
// secret where it was is not denied (ratcheting) while one that adds it
// is, and neither the AdmissionReview answer, nor a log line, nor a span
// holds the value, any part of it or of its base64.
func TestConfigMapSecretsNeverLeaveTheWebhook(t *testing.T) {
	asError := policy.Default()
	asError.Rules = map[string]policy.Severity{"configmap-secrets": policy.Error}
	for _, pol := range []struct {
		name  string
		p     *policy.Policy
		error bool
	}{{"configmap-secrets a warning", policy.Default(), false}, {"configmap-secrets an error", asError, true}} {
		t.Run(pol.name, func(t *testing.T) {
			f, exp := tracedFixture(t)
			f.h.Rules = validate.Registry()
			f.h.Policy.Store(pol.p)
			for i, format := range validate.SecretFormats() {
				value := fakesecrets.Examples()[format]
				fragments := append(fakesecrets.Fragments(value), fakesecrets.Fragments(base64.StdEncoding.EncodeToString([]byte(value)))...)
				with, without := configMapObject(t, i, format, true), configMapObject(t, i, format, false)
				named := false
				for _, rq := range []struct {
					name   string
					review reviewOf
				}{
					{"a CREATE", create(with)},
					{"an UPDATE that keeps the secret", update(with, with)},
					{"an UPDATE that adds it", update(without, with)},
				} {
					for _, path := range []string{"/mutate/enforce", "/validate/enforce", "/validate/warn", "/validate/audit"} {
						a := f.sendTraced(t, path, rq.review.body(t), traceparent)
						answer := strings.Join(a.resp.Warnings, "\n") + "\n" + a.message()
						for k, v := range a.resp.AuditAnnotations {
							answer += "\n" + k + ": " + v
						}
						if strings.Contains(answer, `data key "the_good_stuff" holds a value that looks like `+format) &&
							strings.Contains(answer, `binaryData key "the_binary_stuff" holds a value that looks like `+format) {
							named = true
						}
						for _, part := range fragments {
							if strings.Contains(answer, part) {
								t.Errorf("%s %s, %s: the answer holds %q of the example of %s", rq.name, path, pol.name, part, format)
							}
							if strings.Contains(string(a.raw), part) {
								t.Errorf("%s %s, %s: the AdmissionReview holds %q of the example of %s", rq.name, path, pol.name, part, format)
							}
						}
						if len(a.resp.Patch) > 0 {
							t.Errorf("%s %s: a ConfigMap was patched", rq.name, path)
						}
						wantDenied := pol.error && path == "/validate/enforce" && rq.name != "an UPDATE that keeps the secret"
						if a.resp.Allowed == wantDenied {
							t.Errorf("%s %s, %s: allowed = %v, want %v: %s", rq.name, path, pol.name, a.resp.Allowed, !wantDenied, a.message())
						}
					}
				}
				if !named {
					t.Errorf("%s, %s: no answer names the keys and the format", format, pol.name)
				}
				logs := f.log.String()
				for _, part := range fragments {
					if strings.Contains(logs, part) {
						t.Errorf("%s: a log line holds %q of the example of %s", pol.name, part, format)
					}
				}
				assertNothingOf(t, exp.GetSpans(), fragments...)
			}
			if !strings.Contains(f.log.String(), "configmap-secrets") {
				t.Errorf("%s: no log line names configmap-secrets: were the ConfigMaps judged?", pol.name)
			}
		})
	}
}
