package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plimsoll/plimsoll/admission"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/plimsoll/plimsoll/test/harness"
	"github.com/plimsoll/plimsoll/webhook"
)

// Only the API server may ask: a kube-apiserver of its own, started with
// an AdmissionConfiguration whose kubeconfig presents a client certificate
// to the webhook at 127.0.0.1:<port>, and a plimsoll serve on that port
// with --client-ca-file naming the certificate's CA. A caller without a
// certificate, or with one of another CA, is refused at the TLS handshake;
// the API server's calls are served.
func TestOnlyTheAPIServerMayAsk(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	port, err := harness.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	host := fmt.Sprintf("127.0.0.1:%d", port)
	apiserverCA, err := harness.WriteClientCA(dir, "apiserver", "plimsoll e2e webhook client CA")
	if err != nil {
		t.Fatal(err)
	}
	strangerCA, err := harness.WriteClientCA(dir, "stranger", "someone else's CA")
	if err != nil {
		t.Fatal(err)
	}
	// The kubeconfig's only user is named after the webhook's host:port,
	// the form the API server looks up first for a URL webhook.
	apiserverArgs, err := apiserverCA.WriteAdmissionConfiguration(dir, host)
	if err != nil {
		t.Fatal(err)
	}
	// Start also runs (and waits for) a plimsoll without a client CA at
	// another port: the admission configuration gives it no certificate
	// (no user matches its host), and it is called as before.
	cp, err := harness.Start(ctx, harness.Options{
		APIServerArgs: apiserverArgs,
		Log:           t.Logf,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Stop()

	p, err := harness.StartPlimsollOn(ctx, port, filepath.Join(cp.BinDir, "plimsoll"), filepath.Join(cp.Dir, "clientca.log"),
		"--tls-cert-file", cp.Certs.CertFile, "--tls-key-file", cp.Certs.KeyFile,
		"--client-ca-file", apiserverCA.CAFile, "--log-level", "debug")
	if err != nil {
		t.Fatal(err) // it must become ready, client CA and all
	}
	defer func() {
		_ = p.Stop()
		if t.Failed() {
			t.Logf("plimsoll --client-ca-file log:\n%s", p.Log())
		}
	}()
	x, err := cp.RegisterExtra(ctx, "clientca", p)
	if err != nil {
		t.Fatal(err)
	}
	const ns = "clientca-enforce"
	if err := x.Namespace(ctx, ns, admission.Enforce); err != nil {
		t.Fatal(err)
	}
	pods := cp.Client.CoreV1().Pods(ns)
	pause := func(name string) *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "registry.k8s.io/pause:3.10"}}},
		}
	}
	privileged := func(name string) *corev1.Pod {
		pod := pause(name)
		pod.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: ptr(true)}
		return pod
	}
	handshakeErrors := func() map[string]float64 {
		m := scrape(t, p.MetricsPort)
		out := map[string]float64{}
		for _, r := range webhook.HandshakeReasons {
			v, ok := m["plimsoll_tls_handshake_errors_total{reason="+r+"}"]
			if !ok {
				t.Fatalf("plimsoll_tls_handshake_errors_total{reason=%q} is not exported", r)
			}
			out[r] = v
		}
		return out
	}
	answered := func() float64 {
		var n float64
		for k, v := range scrape(t, p.MetricsPort) {
			if strings.HasPrefix(k, "plimsoll_admission_requests_total{") {
				n += v
			}
		}
		return n
	}

	// The API server picks webhook configurations up from an informer:
	// poll, without storing anything, until it calls plimsoll. Were its
	// calls refused at the handshake, enforce's Fail policy would refuse
	// the Pod with the API server's own message, never plimsoll's.
	var last error
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, last = pods.Create(ctx, privileged("probe"), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if last != nil && strings.Contains(last.Error(), "plimsoll denied") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the API server did not get plimsoll's answer within 60s; last: %v", last)
		}
		time.Sleep(200 * time.Millisecond)
	}

	t.Run("the API server's calls are served", func(t *testing.T) {
		_, err := pods.Create(ctx, privileged("privileged"), metav1.CreateOptions{})
		if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `admission webhook "enforce.validate.clientca.e2e.plimsoll.dev" denied the request: plimsoll denied Pod "privileged"`) ||
			!strings.Contains(err.Error(), "[privileged]") {
			t.Fatalf("a privileged Pod: %v, want plimsoll's denial through the API server", err)
		}
		t.Logf("the API server answered: %v", err)

		got, err := pods.Create(ctx, pause("defaulted"), metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("a Pod defaulting makes compliant: %v", err)
		}
		sc := got.Spec.Containers[0].SecurityContext
		if got.Annotations["plimsoll.dev/mutations"] == "" || sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			t.Errorf("the stored Pod was not defaulted by plimsoll: annotations %v, securityContext %+v", got.Annotations, sc)
		}

		// plimsoll says whom it let in: the API server's certificate.
		var accepted, denied bool
		for _, line := range strings.Split(p.Log(), "\n") {
			var l map[string]any
			if json.Unmarshal([]byte(line), &l) != nil {
				continue
			}
			switch l["msg"] {
			case "accepted a client certificate":
				if l["subject"] == "CN=kube-apiserver" && l["issuer"] == "CN=plimsoll e2e webhook client CA" {
					accepted = true
					t.Logf("plimsoll logged: %s", line)
				}
			case "admission decision":
				if l["decision"] == "denied" && l["name"] == "privileged" && l["namespace"] == ns {
					denied = true
					t.Logf("plimsoll logged: %s", line)
				}
			}
		}
		if !accepted || !denied {
			t.Errorf("plimsoll's log lacks the API server's certificate (%v) or the denial (%v)", accepted, denied)
		}
		// Not one of the API server's handshakes was refused.
		for r, v := range handshakeErrors() {
			if v != 0 {
				t.Errorf("plimsoll_tls_handshake_errors_total{reason=%q} = %v after the API server's calls alone, want 0", r, v)
			}
		}
	})

	t.Run("a caller without the CA's certificate is refused at the handshake", func(t *testing.T) {
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(cp.Certs.CAPEM)
		stranger, err := strangerCA.Issue("kube-apiserver")
		if err != nil {
			t.Fatal(err)
		}
		before, answeredBefore := handshakeErrors(), answered()
		review := []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"x"}}`)
		for _, c := range []struct {
			name, reason, told string
			cert               *tls.Certificate
		}{
			{"a plain HTTPS client without a certificate", webhook.HandshakeNoCertificate, "tls: certificate required", nil},
			{"a client with a certificate of another CA", webhook.HandshakeBadCertificate, "tls: unknown certificate authority", &stranger},
		} {
			cfg := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
			if c.cert != nil {
				// Presented whatever CA plimsoll names.
				cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return c.cert, nil }
			}
			// As an HTTPS client: never answered. Its error is the
			// alert, or a broken pipe if the request went out before the
			// alert came back (TLS 1.3 ends the client's side of the
			// handshake first).
			client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
			resp, err := client.Post("https://"+host+"/validate/enforce", "application/json", bytes.NewReader(review))
			if err == nil {
				resp.Body.Close()
				t.Fatalf("%s was answered %s", c.name, resp.Status)
			}
			t.Logf("%s, posting an AdmissionReview, got: %v", c.name, err)
			// With TLS alone, reading: the alert is what it is told.
			conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", host, cfg)
			if err == nil {
				_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
				_, err = conn.Read(make([]byte, 1))
				conn.Close()
			}
			if err == nil || !strings.Contains(err.Error(), c.told) {
				t.Errorf("%s was told %v, want %q", c.name, err, c.told)
			}
			t.Logf("%s was told: %v", c.name, err)
			// plimsoll's side of a TLS 1.3 handshake ends after the
			// client's: poll for the count.
			want := before[c.reason] + 2
			deadline := time.Now().Add(10 * time.Second)
			for handshakeErrors()[c.reason] != want {
				if time.Now().After(deadline) {
					t.Fatalf("%s: plimsoll_tls_handshake_errors_total{reason=%q} = %v, want %v", c.name, c.reason, handshakeErrors()[c.reason], want)
				}
				time.Sleep(50 * time.Millisecond)
			}
			before[c.reason] = want
		}
		if after := handshakeErrors(); fmt.Sprint(after) != fmt.Sprint(before) {
			t.Errorf("handshake errors %v, want %v: one per refused connection, of its reason", after, before)
		}
		if n := answered(); n != answeredBefore {
			t.Errorf("admission requests answered went from %v to %v: a refused caller reached the handler", answeredBefore, n)
		}
		var logged bool
		for _, line := range strings.Split(p.Log(), "\n") {
			if strings.Contains(line, `"msg":"refused a TLS handshake on the admission listener"`) && strings.Contains(line, `"reason":"no_certificate"`) && strings.Contains(line, `"level":"INFO"`) {
				logged = true
				t.Logf("plimsoll logged: %s", line)
			}
		}
		if !logged {
			t.Error("no info line says a handshake without a certificate was refused")
		}
	})

	t.Run("the API server is still served after the refusals", func(t *testing.T) {
		if _, err := pods.Create(ctx, privileged("again"), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err == nil || !strings.Contains(err.Error(), "plimsoll denied") {
			t.Errorf("a privileged Pod: %v, want plimsoll's denial", err)
		}
		if code := statusOf(t, fmt.Sprintf("http://127.0.0.1:%d/readyz", p.HealthPort)); code != http.StatusOK {
			t.Errorf("/readyz %d, want 200", code)
		}
	})
}

// statusOf is the status of a plain HTTP GET of url.
func statusOf(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
