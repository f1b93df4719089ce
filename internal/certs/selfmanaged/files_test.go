package selfmanaged

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plimsoll/plimsoll/internal/certs"
)

// TestTheCertificateWatcherReadsEveryNewPairWhole replaces the pair under
// the server's certificate watcher (certs.CertWatcher), as the server
// runs it: it must pick up every pair and never read a new certificate
// with an old key.
func TestTheCertificateWatcherReadsEveryNewPairWhole(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	var pairs []*keyPair
	for range 3 {
		st, _ := mustPlan(t, state{}, input(t0))
		pairs = append(pairs, st.serving)
	}
	if err := writePair(certFile, pairs[0].certPEM, keyFile, pairs[0].keyPEM); err != nil {
		t.Fatal(err)
	}
	cw, err := certs.NewCertWatcher(certFile, keyFile, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	cw.WatchInterval = time.Hour // changes are seen through events alone
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cw.Start(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Logf("the watch ended with %v", err)
		}
	}()
	time.Sleep(200 * time.Millisecond) // the watches are in place

	errorsBefore := cw.ReadErrors()
	// A rotation comes seconds after the last: the watcher has long done
	// with the events of one when the next begins.
	for i := 1; i <= 15; i++ {
		time.Sleep(200 * time.Millisecond)
		kp := pairs[i%len(pairs)]
		if err := writePair(certFile, kp.certPEM, keyFile, kp.keyPEM); err != nil {
			t.Fatal(err)
		}
		waitFor(t, fmt.Sprintf("the watcher to load pair %d", i), func() bool {
			c, _ := cw.GetCertificate(nil)
			return c != nil && bytes.Equal(c.Certificate[0], kp.cert.Raw)
		})
	}
	if n := cw.ReadErrors() - errorsBefore; n != 0 {
		t.Errorf("the watcher failed to read the pair %v times", n)
	}

	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) != 4 { // ..data, ..data-<random>, tls.crt, tls.key
		t.Errorf("the directory holds %v; old data directories must be removed", names)
	}
	if target, _ := os.Readlink(certFile); target != filepath.Join("..data", "tls.crt") {
		t.Errorf("tls.crt links to %q", target)
	}
}

func TestWritePairReplacesRegularFilesAndWorksAcrossDirectories(t *testing.T) {
	st, _ := mustPlan(t, state{}, input(t0))
	kp := st.serving

	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "serving.pem"), filepath.Join(dir, "serving-key.pem")
	for _, f := range []string{certFile, keyFile} {
		if err := os.WriteFile(f, []byte("stale"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := writePair(certFile, kp.certPEM, keyFile, kp.keyPEM); err != nil {
		t.Fatal(err)
	}
	if _, err := tls.LoadX509KeyPair(certFile, keyFile); err != nil {
		t.Error(err)
	}

	certFile, keyFile = filepath.Join(t.TempDir(), "a", "tls.crt"), filepath.Join(t.TempDir(), "b", "tls.key")
	if err := writePair(certFile, kp.certPEM, keyFile, kp.keyPEM); err != nil {
		t.Fatal(err)
	}
	if _, err := tls.LoadX509KeyPair(certFile, keyFile); err != nil {
		t.Error(err)
	}
	if info, err := os.Lstat(keyFile); err != nil || info.Mode().Perm() != 0o600 || strings.Contains(info.Mode().String(), "L") {
		t.Errorf("key file across directories: %v %v", err, info.Mode())
	}
}
