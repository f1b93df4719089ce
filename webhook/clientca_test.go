package webhook_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plimsoll/plimsoll/webhook"
)

// testCA is a CA that issues client certificates.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

// newTestCA makes a CA named name.
func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(t),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

func serial(t *testing.T) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// issue returns a client certificate for cn signed by ca; edit may change
// the template (an expiry, a usage).
func (ca *testCA) issue(t *testing.T, cn string, edit func(*x509.Certificate)) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(t),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if edit != nil {
		edit(tmpl)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// startMTLSServer starts a server whose client CA file holds ca.
func startMTLSServer(t *testing.T, ca *testCA) (*testServer, string) {
	t.Helper()
	caFile := filepath.Join(t.TempDir(), "client-ca.crt")
	writeAtomically(t, caFile, string(ca.pem))
	ts := startServer(t, func(o *webhook.Options) { o.ClientCAFile = caFile })
	return ts, caFile
}

// tlsClient is what a caller of the admission listener sets up: it
// trusts the server's certificate and presents what cfg says.
func (ts *testServer) tlsClient(version uint16, cfg func(*tls.Config)) *http.Client {
	pool := x509.NewCertPool()
	pool.AddCert(ts.cert)
	c := &tls.Config{RootCAs: pool, MinVersion: version, MaxVersion: version}
	if cfg != nil {
		cfg(c)
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: c, DisableKeepAlives: true}}
}

// dialAndRead makes a TLS connection as tlsClient would and reads from it,
// returning the first error.
func (ts *testServer) dialAndRead(version uint16, cfg func(*tls.Config)) error {
	c := ts.tlsClient(version, cfg).Transport.(*http.Transport).TLSClientConfig
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", ts.srv.Addr().String(), c)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = conn.Read(make([]byte, 1))
	return err
}

// post sends a compliant Deployment to /validate/enforce and returns the
// transport error, if any.
func (ts *testServer) post(t *testing.T, c *http.Client) error {
	t.Helper()
	resp, err := c.Post(ts.admission+"/validate/enforce", "application/json", bytes.NewReader(create(load(t, "deployment-compliant.yaml")).body(t)))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if a := decodeAnswer(t, resp.StatusCode, resp.Header.Get("Content-Type"), b); !a.resp.Allowed {
		t.Fatalf("the compliant Deployment was refused: %s", a.message())
	}
	return nil
}

// handshakeErrors reads plimsoll_tls_handshake_errors_total for each
// reason.
func (ts *testServer) handshakeErrors(t *testing.T) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, r := range webhook.HandshakeReasons {
		v, ok := ts.metric(t, "plimsoll_tls_handshake_errors_total", map[string]string{"reason": r})
		if !ok {
			t.Fatalf("plimsoll_tls_handshake_errors_total{reason=%q} is not exported", r)
		}
		out[r] = v
	}
	return out
}

// admissionRequests is the sum of plimsoll_admission_requests_total.
func (ts *testServer) admissionRequests(t *testing.T) float64 {
	t.Helper()
	v, _ := ts.metric(t, "plimsoll_admission_requests_total", map[string]string{"endpoint": "validate", "mode": "enforce", "kind": "Deployment", "operation": "CREATE", "decision": "allowed"})
	return v
}

func TestClientCARefusesAClientWithoutAValidCertificate(t *testing.T) {
	ca := newTestCA(t, "kube-apiserver webhook client CA")
	ts, _ := startMTLSServer(t, ca)
	// The readiness probes startServer waited on are plimsoll's own: they
	// are neither counted nor logged as refused.
	for range 3 {
		if code, body := get(ts.health + "/readyz"); code != http.StatusOK {
			t.Fatalf("/readyz with a client CA: %d %q", code, body)
		}
	}
	for r, v := range ts.handshakeErrors(t) {
		if v != 0 {
			t.Errorf("after only readiness probes, %s = %v, want 0: the probe is counted as a refused handshake", r, v)
		}
	}

	stranger := newTestCA(t, "someone else's CA")
	// A CA that copies the real one's name: a client picks its certificate
	// by the CA names the server asks for, and this one matches.
	impostor := newTestCA(t, ca.cert.Subject.CommonName)
	good := ca.issue(t, "system:kube-apiserver", nil)
	refused := []struct {
		name   string
		cfg    func(*tls.Config)
		reason string
	}{
		{"a client without a certificate", nil, webhook.HandshakeNoCertificate},
		{"a client with a certificate of another CA", func(c *tls.Config) {
			cert := stranger.issue(t, "system:kube-apiserver", nil)
			// Sent whatever CA the server names; a Go client would
			// otherwise send nothing.
			c.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil }
		}, webhook.HandshakeBadCertificate},
		{"a client with a certificate of a CA that copies the CA's name", func(c *tls.Config) {
			c.Certificates = []tls.Certificate{impostor.issue(t, "system:kube-apiserver", nil)}
		}, webhook.HandshakeBadCertificate},
		{"a client with an expired certificate of the CA", func(c *tls.Config) {
			c.Certificates = []tls.Certificate{ca.issue(t, "system:kube-apiserver", func(x *x509.Certificate) {
				x.NotBefore, x.NotAfter = time.Now().Add(-2*time.Hour), time.Now().Add(-time.Hour)
			})}
		}, webhook.HandshakeBadCertificate},
		{"a client with a serving certificate of the CA (not for client authentication)", func(c *tls.Config) {
			c.Certificates = []tls.Certificate{ca.issue(t, "system:kube-apiserver", func(x *x509.Certificate) {
				x.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
			})}
		}, webhook.HandshakeBadCertificate},
	}
	for _, version := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		for _, tt := range refused {
			t.Run(fmt.Sprintf("%s is refused at the handshake (%s)", tt.name, tls.VersionName(version)), func(t *testing.T) {
				before := ts.handshakeErrors(t)
				// Once with TLS alone: the server's alert is what the
				// client reads (in TLS 1.3 the client's side of the
				// handshake ends first, so the alert comes on the first
				// read).
				if err := ts.dialAndRead(version, tt.cfg); err == nil || !strings.Contains(err.Error(), "remote error: tls:") {
					t.Errorf("the client read %v, want a TLS alert", err)
				} else {
					t.Logf("the client was told: %v", err)
				}
				// Once as an HTTPS client: never served. (Its error may
				// be the alert or, in TLS 1.3, a broken pipe, depending on
				// whether the request or the alert travels first.)
				if err := ts.post(t, ts.tlsClient(version, tt.cfg)); err == nil {
					t.Fatal("the request was served")
				}
				// The server's side of the handshake ends after the
				// client's; wait for both to be counted.
				eventually(t, 5*time.Second, "the refusals to be counted as "+tt.reason, func() bool {
					return ts.handshakeErrors(t)[tt.reason] == before[tt.reason]+2
				})
				after := ts.handshakeErrors(t)
				for r := range after {
					want := before[r]
					if r == tt.reason {
						want += 2
					}
					if after[r] != want {
						t.Errorf("%s went from %v to %v, want %v", r, before[r], after[r], want)
					}
				}
			})
		}
		t.Run("a client with a certificate of the CA is served ("+tls.VersionName(version)+")", func(t *testing.T) {
			before := ts.admissionRequests(t)
			if err := ts.post(t, ts.tlsClient(version, func(c *tls.Config) { c.Certificates = []tls.Certificate{good} })); err != nil {
				t.Fatal(err)
			}
			if got := ts.admissionRequests(t); got != before+1 {
				t.Errorf("admission requests went from %v to %v, want one more", before, got)
			}
		})
	}
	if n := ts.admissionRequests(t); n != 2 {
		t.Errorf("%v admission requests answered, want 2: only the clients with the CA's certificate", n)
	}
	if code, body := get(ts.health + "/readyz"); code != http.StatusOK {
		t.Errorf("/readyz after the refusals: %d %q", code, body)
	}
}

// Someone on the pod network hammering the port: every refusal counted,
// a bounded number of lines at info, none at warn.
func TestClientCARefusalsDoNotFloodTheLog(t *testing.T) {
	ca := newTestCA(t, "client CA")
	ts, _ := startMTLSServer(t, ca)
	const n = 40
	started := time.Now()
	for range n {
		if err := ts.post(t, ts.tlsClient(tls.VersionTLS13, nil)); err == nil {
			t.Fatal("a client without a certificate was served")
		}
	}
	eventually(t, 5*time.Second, fmt.Sprintf("%d refusals to be counted", n), func() bool {
		return ts.handshakeErrors(t)[webhook.HandshakeNoCertificate] == n
	})
	elapsed := time.Since(started)
	lines := withMsg(ts.log.lines(t), "refused a TLS handshake on the admission listener")
	var info, debug int
	for _, l := range lines {
		switch l["level"] {
		case "INFO":
			info++
			if l["reason"] != webhook.HandshakeNoCertificate || !strings.Contains(fmt.Sprint(l["error"]), "didn't provide a certificate") || l["remote"] == "" {
				t.Errorf("the info line does not say why and from where: %v", l)
			}
		case "DEBUG":
			debug++
		}
	}
	// One line at the first refusal, then at most one per 10s.
	if most := 1 + int(elapsed/(10*time.Second)) + 1; info < 1 || info > most {
		t.Errorf("%d info lines for %d refusals in %v, want 1 to %d", info, n, elapsed, most)
	}
	if info+debug != n {
		t.Errorf("%d info and %d debug lines, want %d in all: one per refusal", info, debug, n)
	}
	for _, l := range ts.log.lines(t) {
		if l["level"] == "WARN" || l["level"] == "ERROR" {
			t.Errorf("a refused handshake logged at %s: %v", l["level"], l)
		}
	}
}

func TestClientCAIsReloadedWithoutRestart(t *testing.T) {
	first := newTestCA(t, "first client CA")
	ts, caFile := startMTLSServer(t, first)
	next := newTestCA(t, "next client CA")
	withCert := func(cert tls.Certificate) *http.Client {
		return ts.tlsClient(tls.VersionTLS13, func(c *tls.Config) {
			c.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil }
		})
	}
	oldClient := withCert(first.issue(t, "apiserver", nil))
	newClient := withCert(next.issue(t, "apiserver", nil))
	if err := ts.post(t, oldClient); err != nil {
		t.Fatalf("the first CA's client: %v", err)
	}
	if err := ts.post(t, newClient); err == nil {
		t.Fatal("the next CA's client is served before the file names it")
	}

	// The file is replaced, as a Secret or ConfigMap volume does.
	writeAtomically(t, caFile, string(next.pem))
	eventually(t, 10*time.Second, "the next CA's client to be served", func() bool { return ts.post(t, newClient) == nil })
	if err := ts.post(t, oldClient); err == nil {
		t.Error("the first CA's client is still served after the file dropped it")
	}

	// A file that no longer reads keeps the last good CA in force.
	writeAtomically(t, caFile, "-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n")
	eventually(t, 10*time.Second, "the bad file to be reported", func() bool {
		return len(withMsg(ts.log.lines(t), "reading the client CA failed")) > 0
	})
	if err := ts.post(t, newClient); err != nil {
		t.Errorf("after a bad CA file the last good CA is no longer in force: %v", err)
	}
	if code, body := get(ts.health + "/readyz"); code != http.StatusOK {
		t.Errorf("/readyz after a bad CA file: %d %q", code, body)
	}

	// Both CAs in one file (a rotation): both clients are served.
	writeAtomically(t, caFile, string(first.pem)+string(next.pem))
	eventually(t, 10*time.Second, "the first CA's client to be served again", func() bool { return ts.post(t, oldClient) == nil })
	if err := ts.post(t, newClient); err != nil {
		t.Errorf("with both CAs the next CA's client is refused: %v", err)
	}
}

func TestNewServerRefusesAClientCAFileItCannotUse(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	writeCert(t, certFile, keyFile)
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	ca := newTestCA(t, "client CA")
	tests := []struct {
		name, content, want string
	}{
		{"an empty file", "", "no PEM certificate"},
		{"a file that is not PEM", "hello\n", "other than PEM"},
		{"a certificate that does not parse", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "certificate 1"},
		{"a CA's certificate with its private key", string(ca.pem) + string(keyPEM), `"EC PRIVATE KEY" PEM block`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			caFile := filepath.Join(t.TempDir(), "ca.crt")
			writeAtomically(t, caFile, tt.content)
			o := webhook.DefaultOptions()
			o.Listen, o.HealthListen, o.MetricsListen = "127.0.0.1:0", "127.0.0.1:0", "0"
			o.TLSCertFile, o.TLSKeyFile, o.ClientCAFile = certFile, keyFile, caFile
			srv, err := webhook.NewServer(o, newLogger(&logBuffer{}))
			if err == nil {
				t.Fatalf("NewServer accepted it (serving on %v)", srv.Addr())
			}
			if !strings.Contains(err.Error(), "--client-ca-file") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to name --client-ca-file and say %q", err, tt.want)
			}
		})
	}
	t.Run("a file that does not exist", func(t *testing.T) {
		o := webhook.DefaultOptions()
		o.Listen, o.HealthListen, o.MetricsListen = "127.0.0.1:0", "127.0.0.1:0", "0"
		o.TLSCertFile, o.TLSKeyFile, o.ClientCAFile = certFile, keyFile, filepath.Join(dir, "missing.crt")
		if _, err := webhook.NewServer(o, newLogger(&logBuffer{})); err == nil || !strings.Contains(err.Error(), "--client-ca-file") {
			t.Errorf("NewServer: %v, want an error naming --client-ca-file", err)
		}
	})
}

// Without a client CA, failed handshakes are counted too, and plain
// HTTP on the TLS port is told so.
func TestFailedHandshakesAreCountedWithoutAClientCA(t *testing.T) {
	ts := startServer(t, nil)
	resp, err := http.Post("http://"+ts.srv.Addr().String()+"/validate/enforce", "application/json", strings.NewReader("{}"))
	if err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "HTTPS") {
			t.Errorf("plain HTTP: %d %q, want 400 saying to use HTTPS", resp.StatusCode, b)
		}
	}
	conn, err := net.Dial("tcp", ts.srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if err := ts.post(t, ts.tlsClient(tls.VersionTLS13, nil)); err != nil {
		t.Fatalf("without a client CA a client without a certificate is refused: %v", err)
	}
	eventually(t, 5*time.Second, "not_tls and closed to be counted", func() bool {
		e := ts.handshakeErrors(t)
		return e[webhook.HandshakeNotTLS] == 1 && e[webhook.HandshakeClosed] == 1
	})
	if e := ts.handshakeErrors(t); e[webhook.HandshakeNoCertificate] != 0 || e[webhook.HandshakeBadCertificate] != 0 || e[webhook.HandshakeOther] != 0 {
		t.Errorf("handshake errors %v, want only not_tls and closed", e)
	}
}
