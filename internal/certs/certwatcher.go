package certs

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
)

// CertWatcher keeps the serving certificate of a certificate file and a
// key file current: it reads both again whenever either changes (inotify
// events, which also follow a Secret volume's or self-managed TLS's
// symlink swap) and every WatchInterval in case an event was missed. It
// always serves the last pair that read whole and matching.
//
// It does what controller-runtime's certwatcher does, which it replaces:
// that package registers metrics in controller-runtime's registry, which
// pulls client-go's clientset, informers and leader election into the
// binary (about 14 MB and 10 MB of memory at start), and plimsoll never
// served those metrics.
type CertWatcher struct {
	certPath, keyPath string
	// WatchInterval is how often the files are read without an event
	// (10s); set it before Start.
	WatchInterval time.Duration
	log           *slog.Logger
	watcher       *fsnotify.Watcher

	mu     sync.RWMutex
	cert   *tls.Certificate
	keyPEM []byte

	readErrors atomic.Int64
}

// NewCertWatcher reads the pair once; it fails if it cannot.
func NewCertWatcher(certPath, keyPath string, log *slog.Logger) (*CertWatcher, error) {
	if log == nil {
		log = slog.Default()
	}
	cw := &CertWatcher{certPath: certPath, keyPath: keyPath, WatchInterval: 10 * time.Second,
		log: log.With("cert", certPath, "key", keyPath)}
	if err := cw.read(); err != nil {
		return nil, err
	}
	var err error
	if cw.watcher, err = fsnotify.NewWatcher(); err != nil {
		return nil, err
	}
	return cw, nil
}

// GetCertificate returns the current certificate (tls.Config's
// GetCertificate).
func (cw *CertWatcher) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	cw.mu.RLock()
	defer cw.mu.RUnlock()
	return cw.cert, nil
}

// ReadErrors counts the reads that failed (a file missing, or a
// certificate that does not match its key).
func (cw *CertWatcher) ReadErrors() int64 { return cw.readErrors.Load() }

// Start watches the files until ctx ends. Adding the watches is retried
// for 10 seconds (a file may be in the middle of a swap).
func (cw *CertWatcher) Start(ctx context.Context) error {
	return watchFiles(ctx, cw.watcher, []string{cw.certPath, cw.keyPath}, cw.WatchInterval, "the TLS certificate", cw.log, cw.read)
}

// watchFiles calls read whenever one of paths changes (inotify events,
// which also follow a Secret or ConfigMap volume's symlink swap) and every
// interval in case an event was missed, until ctx ends; what names the
// files in log lines. Adding the watches is retried for 10 seconds (a file
// may be in the middle of a swap). It closes watcher when it returns.
func watchFiles(ctx context.Context, watcher *fsnotify.Watcher, paths []string, interval time.Duration, what string, log *slog.Logger, read func() error) error {
	var pending []string
	for _, p := range paths {
		if !slices.Contains(pending, p) {
			pending = append(pending, p)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var err error
		for len(pending) > 0 {
			if err = watcher.Add(pending[0]); err != nil {
				break
			}
			pending = pending[1:]
		}
		if len(pending) == 0 {
			break
		}
		if time.Now().After(deadline) {
			watcher.Close()
			return fmt.Errorf("failed to add watches: %w", err)
		}
		select {
		case <-ctx.Done():
			watcher.Close()
			return fmt.Errorf("failed to add watches: %w", errors.Join(ctx.Err(), err))
		case <-time.After(time.Second):
		}
	}
	go watchEvents(watcher, what, log, read)

	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	log.Info("watching "+what, "interval", interval.String())
	for {
		select {
		case <-ctx.Done():
			return watcher.Close()
		case <-ticker.C:
			if err := read(); err != nil {
				log.Error("reading "+what+" failed", "error", err.Error())
			}
		}
	}
}

// watchEvents handles the watcher's events until it is closed.
func watchEvents(watcher *fsnotify.Watcher, what string, log *slog.Logger, read func() error) {
	for {
		select {
		case ev, ok := <-watcher.Events:
			if !ok {
				return
			}
			switch {
			case ev.Op.Has(fsnotify.Write), ev.Op.Has(fsnotify.Create):
			case ev.Op.Has(fsnotify.Chmod), ev.Op.Has(fsnotify.Remove):
				// A removed or replaced file: watch the name again.
				if err := watcher.Add(ev.Name); err != nil {
					log.Error("watching "+what+" file again failed", "file", ev.Name, "error", err.Error())
				}
			default:
				continue
			}
			log.Debug(what+" file event", "event", ev.String())
			if err := read(); err != nil {
				log.Error("reading "+what+" failed", "error", err.Error())
			}
		case err, ok := <-watcher.Errors:
			if !ok {
				return
			}
			log.Error("watching "+what+" failed", "error", err.Error())
		}
	}
}

// read loads the pair and keeps it if it differs from the current one.
func (cw *CertWatcher) read() error {
	certPEM, err := os.ReadFile(cw.certPath)
	if err != nil {
		cw.readErrors.Add(1)
		return err
	}
	keyPEM, err := os.ReadFile(cw.keyPath)
	if err != nil {
		cw.readErrors.Add(1)
		return err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		cw.readErrors.Add(1)
		return err
	}
	cw.mu.Lock()
	defer cw.mu.Unlock()
	if cw.cert != nil && bytes.Equal(cw.cert.Certificate[0], cert.Certificate[0]) && bytes.Equal(cw.keyPEM, keyPEM) {
		return nil
	}
	cw.cert, cw.keyPEM = &cert, keyPEM
	cw.log.Info("updated the TLS certificate")
	return nil
}
