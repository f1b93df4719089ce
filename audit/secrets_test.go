package audit

// In package audit (not audit_test) to reach newPolicyReport, the
// PolicyReport `plimsoll audit --watch` writes.

import (
	"bytes"
	"context"
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
