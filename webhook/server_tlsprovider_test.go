package webhook_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plimsoll/plimsoll/webhook"
)

// fakeProvider stands for self-managed TLS: the test writes the files and
// says when the caBundle is written.
type fakeProvider struct {
	ready atomic.Bool
	ran   atomic.Bool
}

func (p *fakeProvider) Run(ctx context.Context) error {
	p.ran.Store(true)
	<-ctx.Done()
	return nil
}

func (p *fakeProvider) Ready() error {
	if p.ready.Load() {
		return nil
	}
	return errors.New("the caBundle is not written yet")
}

func TestServerWithATLSProviderStartsWithoutFilesAndWaitsForIt(t *testing.T) {
	dir := t.TempDir()
	p := &fakeProvider{}
	o := webhook.DefaultOptions()
	o.Listen, o.HealthListen, o.MetricsListen = "127.0.0.1:0", "127.0.0.1:0", "0"
	o.TLSCertFile, o.TLSKeyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	o.ShutdownTimeout = 5 * time.Second
	o.TLSProvider = p
	log := &logBuffer{}
	srv, err := webhook.NewServer(o, newLogger(log))
	if err != nil {
		t.Fatalf("NewServer must not need the files a TLS provider writes later: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		if t.Failed() {
			t.Logf("server log:\n%s", log)
		}
	}()
	readyz := "http://" + srv.HealthAddr().String() + "/readyz"

	eventually(t, 5*time.Second, "the provider to run", p.ran.Load)
	if code, body := get(readyz); code != http.StatusServiceUnavailable || !strings.Contains(body, "the caBundle is not written yet") {
		t.Fatalf("/readyz before the provider is ready = %d %q", code, body)
	}
	conn, err := tls.Dial("tcp", srv.Addr().String(), &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // no certificate yet
	if err == nil {
		conn.Close()
		t.Fatal("a TLS handshake succeeded without a certificate")
	}

	cert := writeCert(t, o.TLSCertFile, o.TLSKeyFile)
	p.ready.Store(true)
	eventually(t, 5*time.Second, "/readyz to answer 200", func() bool {
		code, _ := get(readyz)
		return code == http.StatusOK
	})
	conn, err = tls.DialWithDialer(&net.Dialer{Timeout: 3 * time.Second}, "tcp", srv.Addr().String(), &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // the serial is what is checked
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if got := conn.ConnectionState().PeerCertificates[0].SerialNumber; got.Cmp(cert.SerialNumber) != 0 {
		t.Errorf("served serial %s, want the written %s", got, cert.SerialNumber)
	}
}
