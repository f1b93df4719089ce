package harness

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/plimsoll/plimsoll/admission"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/plimsoll/plimsoll/test/chart"
)

// Extra is a second `plimsoll serve` with webhook configurations of its
// own (the chart's, named Name), for tests that stop, break or restart a
// server without touching the one the other tests use. Its entries select
// namespaces labelled <Label>=<mode>, so only namespaces a test labels that
// way are judged.
type Extra struct {
	Name    string
	Label   string
	Process *Process
	env     *Env
}

// StartExtra starts plimsoll serve with args and registers configurations
// named name; failurePolicy, if not nil, overrides the per-mode default.
func (e *Env) StartExtra(ctx context.Context, name string, failurePolicy map[admission.Mode]admissionregistrationv1.FailurePolicyType, args ...string) (*Extra, error) {
	return e.StartExtraValues(ctx, name, chart.WebhookValues{FailurePolicy: failurePolicy}, args...)
}

// StartExtraValues is StartExtra with the chart values v of the webhook
// configurations (their Name is name).
func (e *Env) StartExtraValues(ctx context.Context, name string, v chart.WebhookValues, args ...string) (*Extra, error) {
	full := append([]string{"--tls-cert-file", e.Certs.CertFile, "--tls-key-file", e.Certs.KeyFile}, args...)
	p, err := StartPlimsoll(ctx, filepath.Join(e.BinDir, "plimsoll"), filepath.Join(e.Dir, name+".log"), full...)
	if err != nil {
		return nil, err
	}
	x, err := e.registerExtra(ctx, name, p, v)
	if err != nil {
		_ = p.Stop() // the registration's error is the one to report
		return nil, err
	}
	return x, nil
}

// RegisterExtra is StartExtra for a plimsoll serve the caller started
// itself (on a port chosen in advance, say): it registers webhook
// configurations named name calling p, whose entries select namespaces
// labelled plimsoll-e2e/<name>=<mode>.
func (e *Env) RegisterExtra(ctx context.Context, name string, p *Process) (*Extra, error) {
	return e.registerExtra(ctx, name, p, chart.WebhookValues{})
}

func (e *Env) registerExtra(ctx context.Context, name string, p *Process, v chart.WebhookValues) (*Extra, error) {
	x := &Extra{Name: name, Label: "plimsoll-e2e/" + name, Process: p, env: e}
	v.Name = name
	mwc, vwc, err := chart.Webhooks(v, e.ClientConfig(p))
	if err != nil {
		return nil, err
	}
	for i := range mwc.Webhooks {
		mode := modeOf(mwc.Webhooks[i].Name)
		mwc.Webhooks[i].Name = fmt.Sprintf("%s.mutate.%s.e2e.plimsoll.dev", mode, name)
		mwc.Webhooks[i].NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{x.Label: mode}}
	}
	for i := range vwc.Webhooks {
		mode := modeOf(vwc.Webhooks[i].Name)
		vwc.Webhooks[i].Name = fmt.Sprintf("%s.validate.%s.e2e.plimsoll.dev", mode, name)
		vwc.Webhooks[i].NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{x.Label: mode}}
	}
	adm := e.Client.AdmissionregistrationV1()
	if _, err := adm.MutatingWebhookConfigurations().Create(ctx, mwc, metav1.CreateOptions{}); err != nil {
		return nil, err
	}
	if _, err := adm.ValidatingWebhookConfigurations().Create(ctx, vwc, metav1.CreateOptions{}); err != nil {
		return nil, err
	}
	return x, nil
}

func modeOf(webhookName string) string {
	for _, m := range admission.ServedModes {
		if len(webhookName) > len(m) && webhookName[:len(m)+1] == string(m)+"." {
			return string(m)
		}
	}
	return ""
}

// Namespace creates a namespace judged by x in mode.
func (x *Extra) Namespace(ctx context.Context, name string, mode admission.Mode) error {
	ns := newNamespace(name, map[string]string{x.Label: string(mode)})
	_, err := x.env.Client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
	return err
}

// Remove stops the server and deletes its configurations.
func (x *Extra) Remove(ctx context.Context) {
	_ = x.Process.Stop()
	adm := x.env.Client.AdmissionregistrationV1()
	_ = adm.MutatingWebhookConfigurations().Delete(ctx, x.Name, metav1.DeleteOptions{})
	_ = adm.ValidatingWebhookConfigurations().Delete(ctx, x.Name, metav1.DeleteOptions{})
}

func newNamespace(name string, labels map[string]string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
}
