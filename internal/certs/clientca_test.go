package certs_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plimsoll/plimsoll/internal/certs"
)

// certPEM is the PEM of a fresh certificate.
func certPEM(t *testing.T) (*x509.Certificate, string) {
	t.Helper()
	dir := t.TempDir()
	cert := writeCert(t, filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key"))
	return cert, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}))
}

func TestNewClientCAWatcherRefusesAFileItCannotUse(t *testing.T) {
	_, ca := certPEM(t)
	dir := t.TempDir()
	writeCert(t, filepath.Join(dir, "x.crt"), filepath.Join(dir, "x.key"))
	keyPEM, err := os.ReadFile(filepath.Join(dir, "x.key"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, content, want string
	}{
		{"an empty file", "", "no PEM certificate"},
		{"a file that is not PEM", "hello\n", "other than PEM"},
		{"a certificate that does not parse", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "certificate 1"},
		{"a CA's certificate with its private key", ca + string(keyPEM), `"EC PRIVATE KEY" PEM block`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "ca.crt")
			writeAtomically(t, file, tt.content)
			if _, err := certs.NewClientCAWatcher(file, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewClientCAWatcher: %v, want an error saying %q", err, tt.want)
			}
		})
	}
}

// TestClientCAWatcherFollowsTheFile replaces the file under a running
// watcher that does not poll: events alone bring each change, and a file
// that no longer reads keeps the last good pool.
func TestClientCAWatcherFollowsTheFile(t *testing.T) {
	first, firstPEM := certPEM(t)
	next, nextPEM := certPEM(t)
	file := filepath.Join(t.TempDir(), "ca.crt")
	writeAtomically(t, file, firstPEM)
	w, err := certs.NewClientCAWatcher(file, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	w.WatchInterval = time.Hour
	trusts := func(c *x509.Certificate) bool {
		_, err := c.Verify(x509.VerifyOptions{Roots: w.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
		return err == nil
	}
	if !trusts(first) || trusts(next) {
		t.Fatal("the pool is not the first file's")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Start(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	time.Sleep(200 * time.Millisecond) // the watch is in place

	writeAtomically(t, file, nextPEM)
	eventually(t, 10*time.Second, "the next CA to be trusted", func() bool { return trusts(next) })
	if trusts(first) {
		t.Error("the first CA is still trusted after the file dropped it")
	}
	errs := w.ReadErrors()
	writeAtomically(t, file, "not PEM\n")
	eventually(t, 10*time.Second, "the bad file to be refused", func() bool { return w.ReadErrors() > errs })
	if !trusts(next) {
		t.Error("a bad file replaced the last good pool")
	}
}
