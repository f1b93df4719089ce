package webhook_test

import (
	"bufio"
	"bytes"
	"context"
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

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/plimsoll/plimsoll/validate"
	"github.com/plimsoll/plimsoll/webhook"
)

// writeCert writes a fresh self-signed serving certificate for 127.0.0.1
// into certFile and keyFile (key first, then certificate, each in place, as
// a Secret volume update may) and returns it.
func writeCert(t *testing.T, certFile, keyFile string) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "plimsoll.plimsoll-system.svc"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// writeAtomically replaces path's content in one step, as a ConfigMap
// volume does.
func writeAtomically(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// onlyRules is a policy that turns off every rule but those given, so the
// server tests' verdicts depend on those rules alone.
func onlyRules(on map[string]string) string {
	var b strings.Builder
	b.WriteString("apiVersion: plimsoll.dev/v1alpha1\nkind: Policy\nrules:\n")
	for _, id := range validate.IDs() {
		sev, ok := on[id]
		if !ok {
			sev = "off"
		}
		fmt.Fprintf(&b, "  %s: %q\n", id, sev)
	}
	return b.String()
}

type testServer struct {
	srv              *webhook.Server
	opts             webhook.Options
	cert             *x509.Certificate
	log              *logBuffer
	cancel           context.CancelFunc
	done             chan error
	client           *http.Client
	health, metrics  string // base URLs
	admission        string
	certFile, policy string
}

// startServer starts `plimsoll serve` on loopback ports with a fresh
// certificate and a policy where only image-tag is on, and waits until it
// is ready.
func startServer(t *testing.T, edit func(*webhook.Options)) *testServer {
	t.Helper()
	dir := t.TempDir()
	o := webhook.DefaultOptions()
	o.Listen, o.HealthListen, o.MetricsListen = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	o.TLSCertFile, o.TLSKeyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	o.ConfigFile = filepath.Join(dir, "policy.yaml")
	o.ConfigPollInterval = 50 * time.Millisecond
	o.ShutdownTimeout = 10 * time.Second
	if edit != nil {
		edit(&o)
	}
	ts := &testServer{opts: o, log: &logBuffer{}, done: make(chan error, 1), certFile: o.TLSCertFile, policy: o.ConfigFile}
	ts.cert = writeCert(t, o.TLSCertFile, o.TLSKeyFile)
	writeAtomically(t, o.ConfigFile, onlyRules(map[string]string{"image-tag": "error"}))

	srv, err := webhook.NewServer(o, newLogger(ts.log))
	if err != nil {
		t.Fatal(err)
	}
	ts.srv = srv
	ts.admission = "https://" + srv.Addr().String()
	ts.health = "http://" + srv.HealthAddr().String()
	ts.metrics = "http://" + srv.MetricsAddr().String()
	pool := x509.NewCertPool()
	pool.AddCert(ts.cert)
	ts.client = &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}},
	}

	ctx, cancel := context.WithCancel(context.Background())
	ts.cancel = cancel
	go func() { ts.done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-ts.done:
			if err != nil {
				t.Errorf("Run returned %v at the end of its context, want nil", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("Run did not return within 15s of the end of its context")
		}
		if t.Failed() {
			t.Logf("server log:\n%s", ts.log)
		}
	})
	ts.waitReady(t)
	return ts
}

func (ts *testServer) waitReady(t *testing.T) {
	t.Helper()
	eventually(t, 10*time.Second, "/readyz to answer 200", func() bool {
		code, _ := get(ts.health + "/readyz")
		return code == http.StatusOK
	})
}

// eventually polls cond until it holds or the time is up.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// get returns the status and body of a plain HTTP GET (0 if it failed).
func get(url string) (int, string) {
	c := &http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// review posts an AdmissionReview over TLS, verifying the certificate.
func (ts *testServer) review(t *testing.T, path string, body []byte) answer {
	t.Helper()
	resp, err := ts.client.Post(ts.admission+path, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return decodeAnswer(t, resp.StatusCode, resp.Header.Get("Content-Type"), b)
}

// metric returns the value of the counter name with exactly labels, read
// from /metrics and parsed as the Prometheus text format.
func (ts *testServer) metric(t *testing.T, name string, labels map[string]string) (float64, bool) {
	t.Helper()
	resp, err := http.Get(ts.metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	mf, ok := families[name]
	if !ok {
		return 0, false
	}
	for _, m := range mf.GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		if len(got) != len(labels) {
			continue
		}
		match := true
		for k, v := range labels {
			match = match && got[k] == v
		}
		if match {
			return m.GetCounter().GetValue(), true
		}
	}
	return 0, false
}

// servedSerial returns the serial of the certificate the admission
// listener presents.
func (ts *testServer) servedSerial(t *testing.T) string {
	t.Helper()
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 3 * time.Second}, "tcp", ts.srv.Addr().String(),
		&tls.Config{InsecureSkipVerify: true}) //nolint:gosec // the serial is what is checked
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.String()
}

func TestServerServesAdmissionHealthAndMetrics(t *testing.T) {
	ts := startServer(t, nil)

	if code, body := get(ts.health + "/healthz"); code != http.StatusOK || strings.TrimSpace(body) != "ok" {
		t.Errorf("/healthz: %d %q, want 200 ok", code, body)
	}
	if code, body := get(ts.health + "/readyz"); code != http.StatusOK || strings.TrimSpace(body) != "ok" {
		t.Errorf("/readyz: %d %q, want 200 ok", code, body)
	}

	counter := map[string]string{"endpoint": "validate", "mode": "enforce", "kind": "Deployment", "operation": "CREATE", "decision": "denied"}
	if v, ok := ts.metric(t, "plimsoll_admission_requests_total", counter); ok && v != 0 {
		t.Fatalf("counted %v requests before any was sent", v)
	}
	a := ts.review(t, "/validate/enforce", create(load(t, "deployment-latest.yaml")).body(t))
	if a.resp.Allowed || a.code() != 403 || !strings.Contains(a.message(), "[image-tag]") {
		t.Fatalf("the latest-tag Deployment: allowed=%v %d %s, want denied by image-tag", a.resp.Allowed, a.code(), a.message())
	}
	if v, ok := ts.metric(t, "plimsoll_admission_requests_total", counter); !ok || v != 1 {
		t.Errorf("plimsoll_admission_requests_total%v = %v (found %v), want 1", counter, v, ok)
	}
	if v, ok := ts.metric(t, "plimsoll_violations_total", map[string]string{"rule": "image-tag", "severity": "error", "mode": "enforce"}); !ok || v != 1 {
		t.Errorf("plimsoll_violations_total{image-tag} = %v (found %v), want 1", v, ok)
	}

	m := ts.review(t, "/mutate/warn", create(load(t, "pod-bare-nginx.yaml")).body(t))
	if !m.resp.Allowed || m.resp.Patch == nil {
		t.Fatalf("the bare Pod in warn: allowed=%v patch=%s, want a patch", m.resp.Allowed, m.resp.Patch)
	}
	if v, ok := ts.metric(t, "plimsoll_defaults_applied_total", map[string]string{"family": "probes", "mode": "warn"}); !ok || v != 1 {
		t.Errorf("plimsoll_defaults_applied_total{probes,warn} = %v (found %v), want 1", v, ok)
	}
	for _, p := range []string{"mutate", "validate"} {
		if v, ok := ts.metric(t, "plimsoll_internal_errors_total", map[string]string{"path": p}); !ok || v != 0 {
			t.Errorf("plimsoll_internal_errors_total{path=%s} = %v (found %v), want 0 from the start", p, v, ok)
		}
	}
}

func TestServerRefusesTLSBelow12(t *testing.T) {
	ts := startServer(t, nil)
	tests := []struct {
		name    string
		version uint16
		wantErr bool
	}{
		{"a TLS 1.0 client is refused", tls.VersionTLS10, true},
		{"a TLS 1.1 client is refused", tls.VersionTLS11, true},
		{"a TLS 1.2 client is served", tls.VersionTLS12, false},
		{"a TLS 1.3 client is served", tls.VersionTLS13, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pool := x509.NewCertPool()
			pool.AddCert(ts.cert)
			conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 3 * time.Second}, "tcp", ts.srv.Addr().String(), &tls.Config{
				RootCAs: pool, MinVersion: tt.version, MaxVersion: tt.version, //nolint:gosec // old versions on purpose
			})
			if tt.wantErr {
				if err == nil {
					conn.Close()
					t.Fatal("handshake succeeded")
				}
				if !strings.Contains(err.Error(), "protocol version") {
					t.Errorf("refused for another reason: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if got := conn.ConnectionState().Version; got != tt.version {
				t.Errorf("negotiated %x, want %x", got, tt.version)
			}
		})
	}
}

func TestServerReloadsItsCertificateWithoutRestart(t *testing.T) {
	ts := startServer(t, nil)
	before := ts.servedSerial(t)
	if before != ts.cert.SerialNumber.String() {
		t.Fatalf("serves serial %s, want %s", before, ts.cert.SerialNumber)
	}
	next := writeCert(t, ts.opts.TLSCertFile, ts.opts.TLSKeyFile)
	eventually(t, 10*time.Second, "the new certificate to be served", func() bool {
		return ts.servedSerial(t) == next.SerialNumber.String()
	})
	// And a client that trusts only the new certificate is served.
	pool := x509.NewCertPool()
	pool.AddCert(next)
	ts.client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	if a := ts.review(t, "/validate/enforce", create(load(t, "deployment-compliant.yaml")).body(t)); !a.resp.Allowed {
		t.Fatalf("refused: %s", a.message())
	}
	if code, _ := get(ts.health + "/readyz"); code != http.StatusOK {
		t.Errorf("/readyz %d after the rotation", code)
	}
}

func TestServerPolicyReload(t *testing.T) {
	ts := startServer(t, nil)
	latest := create(load(t, "deployment-latest.yaml")).body(t)
	failures := map[string]string{"result": "failure"}
	successes := map[string]string{"result": "success"}
	if v, ok := ts.metric(t, "plimsoll_policy_reloads_total", failures); !ok || v != 0 {
		t.Fatalf("reload failures %v (found %v) at start, want 0", v, ok)
	}

	// A bad policy over a good one: the good one stays in force.
	writeAtomically(t, ts.policy, "apiVersion: plimsoll.dev/v1alpha1\nkind: Policy\nrules:\n  no-such-rule: error\n")
	eventually(t, 10*time.Second, "the failed reload to be counted", func() bool {
		v, _ := ts.metric(t, "plimsoll_policy_reloads_total", failures)
		return v == 1
	})
	if code, body := get(ts.health + "/readyz"); code != http.StatusOK {
		t.Errorf("/readyz %d %q after a bad policy, want 200: the last good policy is in force", code, body)
	}
	if a := ts.review(t, "/validate/enforce", latest); a.resp.Allowed || !strings.Contains(a.message(), "[image-tag]") {
		t.Errorf("after a bad policy the latest tag is no longer denied: allowed=%v %s", a.resp.Allowed, a.message())
	}
	var said bool
	for _, l := range withMsg(ts.log.lines(t), "policy file not reloaded; the last good policy stays in force") {
		said = said || (l["level"] == "ERROR" && strings.Contains(fmt.Sprint(l["error"]), "no-such-rule"))
	}
	if !said {
		t.Errorf("no ERROR log line naming the bad rule:\n%s", ts.log)
	}
	// The bad file is reported once, not at every poll.
	time.Sleep(5 * ts.opts.ConfigPollInterval)
	if v, _ := ts.metric(t, "plimsoll_policy_reloads_total", failures); v != 1 {
		t.Errorf("reload failures %v, want 1: one bad file is one failure", v)
	}

	// A good change takes effect.
	writeAtomically(t, ts.policy, onlyRules(map[string]string{"image-tag": "off"}))
	eventually(t, 10*time.Second, "the reload to be counted", func() bool {
		v, _ := ts.metric(t, "plimsoll_policy_reloads_total", successes)
		return v == 1
	})
	if a := ts.review(t, "/validate/enforce", latest); !a.resp.Allowed || len(a.resp.Warnings) > 0 {
		t.Errorf("with image-tag off the latest tag is still judged: allowed=%v %s %q", a.resp.Allowed, a.message(), a.resp.Warnings)
	}
	if v, _ := ts.metric(t, "plimsoll_policy_reloads_total", failures); v != 1 {
		t.Errorf("reload failures %v after a good reload, want still 1", v)
	}
}

func TestServerShutsDownGracefully(t *testing.T) {
	// long enough to observe on a loaded machine
	const delay = time.Second
	ts := startServer(t, func(o *webhook.Options) { o.ShutdownDelay = delay })

	// A slow client: headers and half of the body now, the rest during the
	// shutdown.
	body := create(load(t, "deployment-compliant.yaml")).body(t)
	pool := x509.NewCertPool()
	pool.AddCert(ts.cert)
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 3 * time.Second}, "tcp", ts.srv.Addr().String(),
		&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	half := len(body) / 2
	if _, err := fmt.Fprintf(conn, "POST /validate/enforce HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body[:half]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // let the server start on it

	ts.cancel()
	stopping := time.Now()
	var notReady string
	eventually(t, delay, "/readyz to report shutting down", func() bool {
		code, b := get(ts.health + "/readyz")
		notReady = b
		return code == http.StatusServiceUnavailable
	})
	if !strings.Contains(notReady, "shutting down") {
		t.Errorf("/readyz says %q during shutdown, want it to say shutting down", notReady)
	}
	select {
	case err := <-ts.done:
		t.Fatalf("Run returned %v while a request was in flight", err)
	default:
	}

	// Past the delay the server is draining: the request still completes.
	time.Sleep(time.Until(stopping.Add(delay + 200*time.Millisecond)))
	if _, err := conn.Write(body[half:]); err != nil {
		t.Fatalf("the in-flight request was cut: %v", err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to the in-flight request: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if a := decodeAnswer(t, resp.StatusCode, resp.Header.Get("Content-Type"), b); !a.resp.Allowed {
		t.Errorf("the in-flight request was refused: %s", a.message())
	}

	select {
	case err := <-ts.done:
		if err != nil {
			t.Errorf("Run returned %v, want nil", err)
		}
		ts.done <- err // for the cleanup
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after the in-flight request completed")
	}
	if code, _ := get(ts.health + "/readyz"); code == http.StatusOK {
		t.Error("/readyz still answers 200 after Run returned")
	}
	if _, err := tls.DialWithDialer(&net.Dialer{Timeout: time.Second}, "tcp", ts.srv.Addr().String(), &tls.Config{InsecureSkipVerify: true}); err == nil { //nolint:gosec
		t.Error("the admission listener still accepts connections after Run returned")
	}
}

func TestNewServerRefusesWhatItCannotServe(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	writeCert(t, certFile, keyFile)
	good := filepath.Join(dir, "good.yaml")
	writeAtomically(t, good, "apiVersion: plimsoll.dev/v1alpha1\nkind: Policy\n")
	bad := filepath.Join(dir, "bad.yaml")
	writeAtomically(t, bad, "apiVersion: plimsoll.dev/v1alpha1\nkind: Policy\nrules:\n  no-such-rule: error\n")
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	base := func() webhook.Options {
		o := webhook.DefaultOptions()
		o.Listen, o.HealthListen, o.MetricsListen = "127.0.0.1:0", "127.0.0.1:0", "0"
		o.TLSCertFile, o.TLSKeyFile, o.ConfigFile = certFile, keyFile, good
		return o
	}
	tests := []struct {
		name    string
		edit    func(*webhook.Options)
		wantErr string
	}{
		{"no certificate flags", func(o *webhook.Options) { o.TLSCertFile, o.TLSKeyFile = "", "" }, "--tls-cert-file and --tls-key-file are required"},
		{"a certificate file that does not exist", func(o *webhook.Options) { o.TLSCertFile = filepath.Join(dir, "missing.crt") }, "loading the TLS certificate"},
		{"a policy file that does not load", func(o *webhook.Options) { o.ConfigFile = bad }, "no-such-rule"},
		{"a policy file that does not exist", func(o *webhook.Options) { o.ConfigFile = filepath.Join(dir, "missing.yaml") }, "--config"},
		{"an address already in use", func(o *webhook.Options) { o.HealthListen = busy.Addr().String() }, "--health-listen"},
		{"a negative shutdown delay", func(o *webhook.Options) { o.ShutdownDelay = -time.Second }, "--shutdown-delay"},
		{"a zero request limit", func(o *webhook.Options) { o.MaxRequestBytes = 0 }, "--max-request-bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := base()
			tt.edit(&o)
			srv, err := webhook.NewServer(o, newLogger(&logBuffer{}))
			if err == nil {
				t.Fatalf("NewServer accepted it (serving on %v)", srv.Addr())
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q, want it to mention %q", err, tt.wantErr)
			}
		})
	}
	t.Run("the metrics listener can be turned off", func(t *testing.T) {
		srv, err := webhook.NewServer(base(), newLogger(&logBuffer{}))
		if err != nil {
			t.Fatal(err)
		}
		if srv.MetricsAddr() != nil {
			t.Errorf("metrics listen on %v with --metrics-listen 0", srv.MetricsAddr())
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- srv.Run(ctx) }()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v, want nil", err)
		}
	})
}

func TestServerAppliesAPolicyChangedBetweenNewServerAndRun(t *testing.T) {
	dir := t.TempDir()
	o := webhook.DefaultOptions()
	o.Listen, o.HealthListen, o.MetricsListen = "127.0.0.1:0", "127.0.0.1:0", "0"
	o.TLSCertFile, o.TLSKeyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	o.ConfigFile, o.ConfigPollInterval = filepath.Join(dir, "policy.yaml"), 50*time.Millisecond
	cert := writeCert(t, o.TLSCertFile, o.TLSKeyFile)
	writeAtomically(t, o.ConfigFile, onlyRules(map[string]string{"image-tag": "error"}))
	srv, err := webhook.NewServer(o, newLogger(&logBuffer{}))
	if err != nil {
		t.Fatal(err)
	}
	// The ConfigMap changes while the process is still starting.
	writeAtomically(t, o.ConfigFile, onlyRules(map[string]string{"image-tag": "off"}))

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run returned %v at the end of its context, want nil", err)
		}
	}()
	ts := &testServer{srv: srv, health: "http://" + srv.HealthAddr().String(), admission: "https://" + srv.Addr().String()}
	ts.waitReady(t)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	ts.client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}

	// Give the watcher several polls: the file on disk says image-tag off.
	time.Sleep(10 * o.ConfigPollInterval)
	if a := ts.review(t, "/validate/enforce", create(load(t, "deployment-latest.yaml")).body(t)); !a.resp.Allowed {
		t.Fatalf("the policy on disk turns image-tag off, yet the server still enforces the one it started with: %s", a.message())
	}
}
