package webhook_test

import (
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
