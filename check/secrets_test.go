package check_test

import (
	"bytes"
	"encoding/base64"
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

// configMapSecretManifest writes one ConfigMap carrying every fake
// secret, each under a key that says nothing (key-NN, in data), and
// again under binaryData, and returns the file.
func configMapSecretManifest(t *testing.T) string {
	t.Helper()
	var data, binary []string
	for i, format := range validate.SecretFormats() {
		value := fakesecrets.Examples()[format]
		quoted, err := json.Marshal(value) // JSON is YAML, and quotes newlines
		if err != nil {
			t.Fatal(err)
		}
		data = append(data, fmt.Sprintf("  key-%02d: %s\n", i, quoted))
		binary = append(binary, fmt.Sprintf("  bin-%02d: %s\n", i, base64.StdEncoding.EncodeToString([]byte(value))))
	}
	doc := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app-config, namespace: shop}\ndata:\n" + strings.Join(data, "") +
		"  LOG_LEVEL: info\nbinaryData:\n" + strings.Join(binary, "")
	file := filepath.Join(t.TempDir(), "configmap.yaml")
	if err := os.WriteFile(file, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// TestConfigMapSecretsNeverLeaveCheck: every detector's fake example, as
// a ConfigMap value under a key that says nothing, in data and in
// binaryData, is reported by configmap-secrets naming the key and the
// format, and no output format of `plimsoll check` holds the value or any
// part of it. There are more secrets than the rule lists one by one: the
// rest are counted, and still never shown.
func TestConfigMapSecretsNeverLeaveCheck(t *testing.T) {
	file := configMapSecretManifest(t)
	for _, mode := range []admission.Mode{admission.Enforce, admission.Warn} {
		r, err := check.Run(check.Options{Paths: []string{file}, Policy: policy.Default(), Mode: mode})
		if err != nil {
			t.Fatal(err)
		}
		byKey := map[string]string{}
		for _, res := range r.Results {
			if res.Rule != "configmap-secrets" || res.Kind != "ConfigMap" || res.Name != "app-config" {
				t.Errorf("%s: unexpected finding %s on %s %s", mode, res.Rule, res.Kind, res.Name)
				continue
			}
			byKey[res.Path] = res.Message
		}
		// The keys are listed in order, data first: the first 20 formats'
		// keys by name, the rest counted.
		listed := 0
		for i, format := range validate.SecretFormats() {
			msg, ok := byKey[fmt.Sprintf("data[key-%02d]", i)]
			if !ok {
				continue
			}
			listed++
			if !strings.Contains(msg, fmt.Sprintf(`key "key-%02d" holds a value that looks like %s,`, i, format)) {
				t.Errorf("%s: the finding at key-%02d does not name %s: %s", mode, i, format, msg)
			}
		}
		if want := min(len(validate.SecretFormats()), 20); listed != want {
			t.Errorf("%s: %d keys listed one by one, want %d", mode, listed, want)
		}
		rest := 2*len(validate.SecretFormats()) - listed
		if msg := byKey["data"] + byKey["binaryData"]; !strings.Contains(msg, "more key") {
			t.Errorf("%s: the %d keys beyond those listed are not counted: %v", mode, rest, byKey)
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
			if !strings.Contains(buf.String(), "key-00") {
				t.Errorf("%s output (%s) does not name the key: is configmap-secrets in it?", name, mode)
			}
			for format, value := range fakesecrets.Examples() {
				for _, part := range append(fakesecrets.Fragments(value), fakesecrets.Fragments(base64.StdEncoding.EncodeToString([]byte(value)))...) {
					if strings.Contains(buf.String(), part) {
						t.Errorf("%s output (%s) holds %q of the example of %s", name, mode, part, format)
					}
				}
			}
		}
	}
}

// TestConfigMapSecretsOneByOne: each format alone in a ConfigMap of its
// own, under data and under binaryData, is named by key and format.
func TestConfigMapSecretsOneByOne(t *testing.T) {
	var docs []string
	for i, format := range validate.SecretFormats() {
		value := fakesecrets.Examples()[format]
		quoted, err := json.Marshal(value)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs,
			fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: data-%02d}\ndata: {settings: %s}\n", i, quoted),
			fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bin-%02d}\nbinaryData: {settings: %s}\n", i, base64.StdEncoding.EncodeToString([]byte(value))))
	}
	r, err := check.Run(check.Options{Paths: []string{"-"}, Policy: policy.Default(), Mode: admission.Enforce, Stdin: strings.NewReader(strings.Join(docs, "---\n"))})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, res := range r.Results {
		got[res.Name+" "+res.Path] = res.Message
	}
	for i, format := range validate.SecretFormats() {
		for _, where := range []string{fmt.Sprintf("data-%02d data[settings]", i), fmt.Sprintf("bin-%02d binaryData[settings]", i)} {
			if msg := got[where]; !strings.Contains(msg, `key "settings" holds a value that looks like `+format+",") {
				t.Errorf("%s: %q, want it to name %s", where, msg, format)
			}
		}
	}
	if len(got) != 2*len(validate.SecretFormats()) {
		t.Errorf("%d findings, want %d", len(got), 2*len(validate.SecretFormats()))
	}
	if r.ExitCode() != check.ExitOK {
		t.Error("configmap-secrets, a warning by default, failed the check")
	}
}
