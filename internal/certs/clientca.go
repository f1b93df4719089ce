package certs

// The client CAs of the admission listener: with --client-ca-file the
// listener completes a TLS handshake only with a client that presents a
// certificate signed by one of the CAs of that file. This file keeps the
// pool of those CAs current; what the listener does with it (asking for a
// certificate, counting and logging refusals) is the webhook's transport
// (webhook/listener.go).

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
)

// ClientCAWatcher keeps the pool of client CAs read from a PEM file
// current, the way CertWatcher keeps the serving certificate: it reads the
// file again whenever it changes and every WatchInterval, and always
// serves the last version that read whole. A file that no longer reads
// (missing, empty, a certificate that does not parse) keeps the last good
// pool in force.
type ClientCAWatcher struct {
	path string
	// WatchInterval is how often the file is read without an event (10s);
	// set it before Start.
	WatchInterval time.Duration
	log           *slog.Logger
	watcher       *fsnotify.Watcher

	mu   sync.Mutex // serialises read
	pem  []byte
	pool atomic.Pointer[x509.CertPool]

	readErrors atomic.Int64
}

// NewClientCAWatcher reads the file once; it fails if it cannot.
func NewClientCAWatcher(path string, log *slog.Logger) (*ClientCAWatcher, error) {
	if log == nil {
		log = slog.Default()
	}
	w := &ClientCAWatcher{path: path, WatchInterval: 10 * time.Second, log: log.With("client_ca_file", path)}
	if err := w.read(); err != nil {
		return nil, err
	}
	var err error
	if w.watcher, err = fsnotify.NewWatcher(); err != nil {
		return nil, err
	}
	return w, nil
}

// Pool returns the CAs in force. The same pool is returned until the file
// changes.
func (w *ClientCAWatcher) Pool() *x509.CertPool { return w.pool.Load() }

// ReadErrors counts the reads that failed.
func (w *ClientCAWatcher) ReadErrors() int64 { return w.readErrors.Load() }

// Start watches the file until ctx ends.
func (w *ClientCAWatcher) Start(ctx context.Context) error {
	return watchFiles(ctx, w.watcher, []string{w.path}, w.WatchInterval, "the client CA", w.log, w.read)
}

func (w *ClientCAWatcher) read() error {
	data, err := os.ReadFile(w.path)
	if err == nil {
		var pool *x509.CertPool
		var names []string
		if pool, names, err = parseClientCAs(data); err == nil {
			w.mu.Lock()
			defer w.mu.Unlock()
			if w.pool.Load() != nil && bytes.Equal(data, w.pem) {
				return nil
			}
			w.pem = data
			w.pool.Store(pool)
			w.log.Info("updated the client CA", "subjects", names)
			return nil
		}
	}
	w.readErrors.Add(1)
	return err
}

// parseClientCAs reads every certificate of a PEM file into a pool. Unlike
// x509.CertPool.AppendCertsFromPEM it skips nothing: a block that does not
// parse, or anything but a certificate (a CA's private key has no business
// in plimsoll's Pod), refuses the whole file.
func parseClientCAs(data []byte) (*x509.CertPool, []string, error) {
	pool := x509.NewCertPool()
	var names []string
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			if len(bytes.TrimSpace(rest)) > 0 {
				return nil, nil, errors.New("the client CA file holds something other than PEM blocks")
			}
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, nil, fmt.Errorf("the client CA file holds a %q PEM block: give it the CA's certificate only", block.Type)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, nil, fmt.Errorf("the client CA file's certificate %d: %w", len(names)+1, err)
		}
		pool.AddCert(cert)
		names = append(names, cert.Subject.String())
	}
	if len(names) == 0 {
		return nil, nil, errors.New("the client CA file holds no PEM certificate")
	}
	return pool, names, nil
}
