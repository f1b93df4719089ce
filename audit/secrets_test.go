package audit

// In package audit (not audit_test) to reach newPolicyReport, the
// PolicyReport `plimsoll audit --watch` writes.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/plimsoll/plimsoll/internal/fakesecrets"
	"github.com/plimsoll/plimsoll/internal/kube/kubetest"
	"github.com/plimsoll/plimsoll/validate"
)

// TestSecretValuesNeverLeaveTheAudit: a cluster whose Pods and
// Deployments carry every detector's fake example as a literal env value
// of an innocently named variable is audited; secret-env reports each,
// and neither the text, HTML and JSON reports nor the PolicyReports hold
// any value or part of one.
func TestSecretValuesNeverLeaveTheAudit(t *testing.T) {
	objs := []runtime.Object{&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop", Labels: map[string]string{"plimsoll.dev/mode": "audit"}}}}
	for i, format := range validate.SecretFormats() {
		spec := corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app:1.0",
			Env: []corev1.EnvVar{{Name: "the_good_stuff", Value: fakesecrets.Examples()[format]}}}}}
		name := fmt.Sprintf("s-%02d", i)
		labels := map[string]string{"app": name}
		objs = append(objs,
			&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name, UID: types.UID("pod-" + name)}, Spec: spec},
			&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name, UID: types.UID("deploy-" + name)},
				Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: labels},
					Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: spec}}})
	}
	o := DefaultOptions()
	o.Client = kubetest.Wrap(fake.NewClientset(objs...))
	r, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, res := range r.Results() {
		if res.Rule == "secret-env" {
			found++
		}
	}
	if want := 2 * len(validate.SecretFormats()); found != want {
		t.Errorf("secret-env found %d, want %d: a Pod and a Deployment per format", found, want)
	}

	outputs := map[string]string{}
	var buf bytes.Buffer
	r.WriteText(&buf, false)
	outputs["text"] = buf.String()
	buf.Reset()
	r.WriteText(&buf, true)
	outputs["text (color)"] = buf.String()
	buf.Reset()
	if err := r.WriteHTML(&buf); err != nil {
		t.Fatal(err)
	}
	outputs["HTML"] = buf.String()
	buf.Reset()
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	outputs["JSON"] = buf.String()
	var judgedObjs []judged
	for _, ob := range r.Objects {
		judgedObjs = append(judgedObjs, judged{ob, time.Unix(1_800_000_000, 0)})
	}
	categories := map[string]string{}
	for _, rule := range validate.Registry() {
		categories[rule.ID] = rule.Category
	}
	report, err := newPolicyReport("shop", judgedObjs, categories)
	if err != nil {
		t.Fatal(err)
	}
	pr, err := json.Marshal(report.Object)
	if err != nil {
		t.Fatal(err)
	}
	outputs["PolicyReport"] = string(pr)

	for name, out := range outputs {
		if !strings.Contains(out, "the_good_stuff") {
			t.Errorf("the %s report does not name the variable: is secret-env in it?", name)
		}
		for format, value := range fakesecrets.Examples() {
			for _, part := range fakesecrets.Fragments(value) {
				if strings.Contains(out, part) {
					t.Errorf("the %s report holds %q of the example of %s", name, part, format)
				}
			}
		}
	}
}

// TestConfigMapSecretsNeverLeaveTheAudit: a cluster whose ConfigMaps
// carry every detector's fake example, under a key that says nothing, in
// data and in binaryData (one ConfigMap per format, and one with them
// all, more than configmap-secrets lists one by one), is audited;
// configmap-secrets reports each by key and format, and neither the text,
// HTML and JSON reports nor the PolicyReport hold any value or part of
// one, or of its base64.
func TestConfigMapSecretsNeverLeaveTheAudit(t *testing.T) {
	objs := []runtime.Object{&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop", Labels: map[string]string{"plimsoll.dev/mode": "audit"}}}}
	all := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "everything", UID: "cm-everything"},
		Data: map[string]string{}, BinaryData: map[string][]byte{}}
	for i, format := range validate.SecretFormats() {
		value := fakesecrets.Examples()[format]
		name := fmt.Sprintf("cm-%02d", i)
		objs = append(objs, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name, UID: types.UID(name)},
			Data:       map[string]string{"the_good_stuff": value, "LOG_LEVEL": "info"},
			BinaryData: map[string][]byte{"the_binary_stuff": []byte(value)}})
		all.Data[fmt.Sprintf("key-%02d", i)] = value
		all.BinaryData[fmt.Sprintf("bin-%02d", i)] = []byte(value)
	}
	objs = append(objs, all)
	o := DefaultOptions()
	o.Client = kubetest.Wrap(fake.NewClientset(objs...))
	r, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	named := map[string]bool{}
	for _, res := range r.Results() {
		if res.Rule != "configmap-secrets" {
			t.Errorf("%s found something on %s %s: %s", res.Rule, res.Kind, res.Name, res.Message)
			continue
		}
		named[res.Name+" "+res.Path] = true
		for i, format := range validate.SecretFormats() {
			if res.Name == fmt.Sprintf("cm-%02d", i) && !strings.Contains(res.Message, "looks like "+format+",") {
				t.Errorf("%s %s does not name %s: %s", res.Name, res.Path, format, res.Message)
			}
		}
	}
	for i := range validate.SecretFormats() {
		for _, path := range []string{"data[the_good_stuff]", "binaryData[the_binary_stuff]"} {
			if key := fmt.Sprintf("cm-%02d %s", i, path); !named[key] {
				t.Errorf("no finding at %s", key)
			}
		}
	}
	if !named["everything data[key-00]"] || !named["everything binaryData"] {
		t.Errorf("the ConfigMap of every format is not reported by key, with the rest counted: %v", named)
	}

	outputs := map[string]string{}
	var buf bytes.Buffer
	r.WriteText(&buf, false)
	outputs["text"] = buf.String()
	buf.Reset()
	r.WriteText(&buf, true)
	outputs["text (color)"] = buf.String()
	buf.Reset()
	if err := r.WriteHTML(&buf); err != nil {
		t.Fatal(err)
	}
	outputs["HTML"] = buf.String()
	buf.Reset()
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	outputs["JSON"] = buf.String()
	var judgedObjs []judged
	for _, ob := range r.Objects {
		judgedObjs = append(judgedObjs, judged{ob, time.Unix(1_800_000_000, 0)})
	}
	categories := map[string]string{}
	for _, rule := range validate.Registry() {
		categories[rule.ID] = rule.Category
	}
	report, err := newPolicyReport("shop", judgedObjs, categories)
	if err != nil {
		t.Fatal(err)
	}
	pr, err := json.Marshal(report.Object)
	if err != nil {
		t.Fatal(err)
	}
	outputs["PolicyReport"] = string(pr)

	for name, out := range outputs {
		if !strings.Contains(out, "the_good_stuff") {
			t.Errorf("the %s report does not name the key: is configmap-secrets in it?", name)
		}
		for format, value := range fakesecrets.Examples() {
			parts := append(fakesecrets.Fragments(value), fakesecrets.Fragments(base64.StdEncoding.EncodeToString([]byte(value)))...)
			for _, part := range parts {
				if strings.Contains(out, part) {
					t.Errorf("the %s report holds %q of the example of %s", name, part, format)
				}
			}
		}
	}
}
