package certs_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/plimsoll/plimsoll/internal/certs"
)

func TestNewCertWatcherNeedsAMatchingPair(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	otherCert, otherKey := filepath.Join(dir, "other.crt"), filepath.Join(dir, "other.key")
	writeCert(t, certFile, keyFile)
	writeCert(t, otherCert, otherKey)
	tests := []struct {
		name      string
		cert, key string
		ok        bool
	}{
		{"a matching pair", certFile, keyFile, true},
		{"no certificate file", filepath.Join(dir, "missing.crt"), keyFile, false},
		{"no key file", certFile, filepath.Join(dir, "missing.key"), false},
		{"a certificate with another's key", certFile, otherKey, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cw, err := certs.NewCertWatcher(tt.cert, tt.key, slog.New(slog.DiscardHandler))
			if (err == nil) != tt.ok {
				t.Fatalf("NewCertWatcher: %v, want ok=%v", err, tt.ok)
			}
			if err == nil {
				if c, _ := cw.GetCertificate(nil); c == nil {
					t.Error("no certificate served")
				}
			}
		})
	}
}

// TestCertWatcherFollowsThePair changes the files under a running
// watcher that does not poll: events alone must bring each change, and a
// certificate that does not match its key is never served.
func TestCertWatcherFollowsThePair(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	first := writeCert(t, certFile, keyFile)
	cw, err := certs.NewCertWatcher(certFile, keyFile, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	cw.WatchInterval = time.Hour
	served := func(c *x509.Certificate) func() bool {
		return func() bool {
			got, _ := cw.GetCertificate(nil)
			return got != nil && bytes.Equal(got.Certificate[0], c.Raw)
		}
	}
	if !served(first)() {
		t.Fatal("the first pair is not served")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cw.Start(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	time.Sleep(200 * time.Millisecond) // the watches are in place

	// A new key alone does not match the certificate: the old pair stays.
	errs := cw.ReadErrors()
	other := t.TempDir()
	writeCert(t, filepath.Join(other, "tls.crt"), filepath.Join(other, "tls.key"))
	key, err := os.ReadFile(filepath.Join(other, "tls.key"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, key, 0o600); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the mismatched pair to be refused", func() bool { return cw.ReadErrors() > errs })
	if !served(first)() {
		t.Error("a mismatched pair replaced the served one")
	}
	// Then a whole new pair is served.
	next := writeCert(t, certFile, keyFile)
	eventually(t, 10*time.Second, "the new pair to be served", served(next))
}
