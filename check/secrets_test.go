package check_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/plimsoll/plimsoll/admission"
	"github.com/plimsoll/plimsoll/check"
	"github.com/plimsoll/plimsoll/internal/fakesecrets"
	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/validate"
)

// secretManifests writes, for each fake secret, a Pod and a Deployment
// carrying it as a literal env value of an innocently named variable, and
// returns the file.
func secretManifests(t *testing.T) string {
	t.Helper()
	var docs []string
	for i, format := range validate.SecretFormats() {
		value, err := json.Marshal(fakesecrets.Examples()[format]) // JSON is YAML, and quotes newlines
		if err != nil {
			t.Fatal(err)
		}
		env := fmt.Sprintf(`[{"name": "the_good_stuff", "value": %s}]`, value)
		docs = append(docs,
			fmt.Sprintf("apiVersion: v1\nkind: Pod\nmetadata: {name: pod-%d, namespace: shop}\nspec:\n  containers: [{name: app, image: app:1.0, env: %s}]\n", i, env),
			fmt.Sprintf("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: deploy-%d, namespace: shop}\nspec:\n  selector: {matchLabels: {app: d%d}}\n  template:\n    metadata: {labels: {app: d%d}}\n    spec:\n      containers: [{name: app, image: app:1.0, env: %s}]\n", i, i, i, env))
	}
	file := filepath.Join(t.TempDir(), "secrets.yaml")
	if err := os.WriteFile(file, []byte(strings.Join(docs, "---\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// TestSecretValuesNeverLeaveCheck: every detector's fake example, as the
// value of a variable whose name says nothing, is reported by secret-env
// naming its format, and no output format of `plimsoll check` holds the
// value or any part of it.
func TestSecretValuesNeverLeaveCheck(t *testing.T) {
	file := secretManifests(t)
	for _, mode := range []admission.Mode{admission.Enforce, admission.Warn} {
		r, err := check.Run(check.Options{Paths: []string{file}, Policy: policy.Default(), Mode: mode})
		if err != nil {
			t.Fatal(err)
		}
		var found []string
		for _, res := range r.Results {
			if res.Rule == "secret-env" {
				found = append(found, res.Kind+"/"+res.Name)
			}
		}
		if want := 2 * len(validate.SecretFormats()); len(found) != want {
			t.Errorf("%s: secret-env found %d (%v), want %d: a Pod and a Deployment per format", mode, len(found), found, want)
		}
		for _, format := range validate.SecretFormats() {
			if !slices.ContainsFunc(r.Results, func(res check.Result) bool {
				return res.Rule == "secret-env" && strings.Contains(res.Message, "looks like "+format+",")
			}) {
				t.Errorf("%s: no message names %s", mode, format)
			}
		}
		outputs := map[string]func(*bytes.Buffer) error{
			"text":         func(b *bytes.Buffer) error { r.WriteText(b, false); return nil },
			"text (color)": func(b *bytes.Buffer) error { r.WriteText(b, true); return nil },
			"json":         func(b *bytes.Buffer) error { return r.WriteJSON(b) },
			"sarif":        func(b *bytes.Buffer) error { return r.WriteSARIF(b, "dev") },
			"junit":        func(b *bytes.Buffer) error { return r.WriteJUnit(b) },
			"github":       func(b *bytes.Buffer) error { return r.WriteGitHub(b) },
		}
		for name, write := range outputs {
			var buf bytes.Buffer
			if err := write(&buf); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if !strings.Contains(buf.String(), "the_good_stuff") {
				t.Errorf("%s output (%s) does not name the variable: is secret-env in it?", name, mode)
			}
			for format, value := range fakesecrets.Examples() {
				for _, part := range fakesecrets.Fragments(value) {
					if strings.Contains(buf.String(), part) {
						t.Errorf("%s output (%s) holds %q of the example of %s", name, mode, part, format)
					}
				}
			}
		}
	}
}
