package webhook

// Only the API server may ask. With --client-ca-file the admission
// listener completes a TLS handshake only with a client that presents a
// certificate signed by that CA — the one the API server presents when its
// AdmissionConfiguration says so (docs/security.md) — so anyone else on
// the pod network is refused before a byte of HTTP is read: they can no
// longer post AdmissionReviews, learn verdicts, or put lines into the logs
// and counters of the admission path.
//
// This file holds the admission listener, which watches every handshake
// (with or without a client CA): it counts the refused ones in
// plimsoll_tls_handshake_errors_total{reason} and logs them without
// letting a client that hammers the port flood the log. The CA file's
// watcher is certs.ClientCAWatcher (internal/certs).

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Reasons a TLS handshake on the admission listener failed, the values of
// plimsoll_tls_handshake_errors_total's reason label.
const (
	// HandshakeNoCertificate: --client-ca-file is set and the client sent
	// no certificate.
	HandshakeNoCertificate = "no_certificate"
	// HandshakeBadCertificate: the client's certificate does not verify
	// against the client CA (another CA signed it, it expired, or it is not
	// for client authentication).
	HandshakeBadCertificate = "bad_certificate"
	// HandshakeNotTLS: the client did not speak TLS (e.g. plain HTTP).
	HandshakeNotTLS = "not_tls"
	// HandshakeTimeout: the handshake did not finish in time (5s).
	HandshakeTimeout = "timeout"
	// HandshakeClosed: the client hung up during the handshake (port
	// scanners, TCP health checks).
	HandshakeClosed = "closed"
	// HandshakeOther: anything else (no common TLS version or cipher
	// suite, an alert from the client...).
	HandshakeOther = "other"
)

// HandshakeReasons lists every reason, in a fixed order.
var HandshakeReasons = []string{HandshakeNoCertificate, HandshakeBadCertificate, HandshakeNotTLS, HandshakeTimeout, HandshakeClosed, HandshakeOther}

// handshakeReason says why a server-side handshake failed.
func handshakeReason(err error) string {
	var verr *tls.CertificateVerificationError
	var rerr tls.RecordHeaderError
	var nerr net.Error
	switch {
	case errors.As(err, &verr):
		return HandshakeBadCertificate
	// crypto/tls returns this one as a plain error; a unit test pins the
	// wording (TestClientCARefusesAClientWithoutAValidCertificate).
	case strings.Contains(err.Error(), "client didn't provide a certificate"):
		return HandshakeNoCertificate
	case errors.As(err, &rerr):
		return HandshakeNotTLS
	case errors.As(err, &nerr) && nerr.Timeout():
		return HandshakeTimeout
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET), errors.Is(err, net.ErrClosed):
		return HandshakeClosed
	}
	return HandshakeOther
}

// handshakeLog counts failed handshakes and logs them without flooding:
// per reason, at most one line at info per interval, saying how many
// failed since the last one; the others at debug. A client that hangs up
// before the handshake (HandshakeClosed: a port scan, a TCP health check)
// is logged at debug only. Someone on the pod
// network hammering the port costs a counter increment each, and a few
// lines a minute.
type handshakeLog struct {
	log      *slog.Logger
	count    func(reason string) // nil: not counted
	interval time.Duration
	now      func() time.Time

	mu    sync.Mutex
	last  map[string]time.Time
	quiet map[string]int // failures logged at debug since the last info line
}

func newHandshakeLog(log *slog.Logger, count func(string)) *handshakeLog {
	return &handshakeLog{log: log, count: count, interval: 10 * time.Second, now: time.Now,
		last: map[string]time.Time{}, quiet: map[string]int{}}
}

// failed records one failed handshake from remote.
func (h *handshakeLog) failed(remote net.Addr, err error) {
	reason := handshakeReason(err)
	if h.count != nil {
		h.count(reason)
	}
	from := ""
	if remote != nil {
		from = remote.String()
	}
	info := false
	var quiet int
	if reason != HandshakeClosed {
		now := h.now()
		h.mu.Lock()
		if last, ok := h.last[reason]; !ok || now.Sub(last) >= h.interval {
			info, quiet = true, h.quiet[reason]
			h.last[reason], h.quiet[reason] = now, 0
		} else {
			h.quiet[reason]++
		}
		h.mu.Unlock()
	}
	if info {
		h.log.Info("refused a TLS handshake on the admission listener", "reason", reason, "remote", from, "error", err.Error(),
			"also_refused_since_last_line", quiet, "log_interval", h.interval.String())
		return
	}
	h.log.Debug("refused a TLS handshake on the admission listener", "reason", reason, "remote", from, "error", err.Error())
}

// admissionListener does the TLS handshake of each connection it accepts
// with config, and reports failed handshakes to hs. The handshake itself
// runs where net/http runs it (in the connection's goroutine, under the
// server's handshake timeout): net/http drives any connection that has
// ConnectionState and HandshakeContext methods as it drives a *tls.Conn.
type admissionListener struct {
	net.Listener
	config *tls.Config
	hs     *handshakeLog
}

func (l *admissionListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	raw := &acceptedConn{Conn: c}
	return &admissionConn{Conn: tls.Server(raw, l.config), raw: raw, hs: l.hs}, nil
}

// acceptedConn is the TCP connection under a TLS one. The server's
// GetConfigForClient sees it as ClientHelloInfo.Conn and marks plimsoll's
// own readiness probe on it.
type acceptedConn struct {
	net.Conn
	probe atomic.Bool
}

type admissionConn struct {
	*tls.Conn
	raw *acceptedConn
	hs  *handshakeLog
}

// HandshakeContext runs the handshake and reports how it went.
func (c *admissionConn) HandshakeContext(ctx context.Context) error {
	err := c.Conn.HandshakeContext(ctx)
	switch {
	case c.raw.probe.Load():
		// plimsoll's own readiness probe: it aborts on purpose (readyz).
	case err != nil:
		c.hs.failed(c.RemoteAddr(), err)
	default:
		if st := c.ConnectionState(); len(st.PeerCertificates) > 0 && c.hs.log.Enabled(ctx, slog.LevelDebug) {
			leaf := st.PeerCertificates[0]
			c.hs.log.Debug("accepted a client certificate", "remote", c.RemoteAddr().String(),
				"subject", leaf.Subject.String(), "issuer", leaf.Issuer.String(), "not_after", leaf.NotAfter)
		}
	}
	return err
}

// readinessProbeProto is the ALPN protocol name by which /readyz's probe
// tells the admission listener that the handshake is its own: a name no
// one else can guess, made at start.
func readinessProbeProto() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "plimsoll-readyz-" + hex.EncodeToString(b)
}

// configForClient is the admission listener's GetConfigForClient: with a
// client CA, a config that requires and verifies a client certificate
// against the CAs in force at this handshake; without, the listener's own
// config. It also marks plimsoll's own readiness probe.
func (s *Server) configForClient(hello *tls.ClientHelloInfo) (*tls.Config, error) {
	if c, ok := hello.Conn.(*acceptedConn); ok && slices.Contains(hello.SupportedProtos, s.probeProto) {
		c.probe.Store(true)
	}
	if s.clientCAs == nil {
		return nil, nil
	}
	pool := s.clientCAs.Pool()
	if c := s.mtls.Load(); c != nil && c.ClientCAs == pool {
		return c, nil
	}
	c := s.tlsConfig.Clone()
	c.GetConfigForClient = nil
	c.ClientAuth = tls.RequireAndVerifyClientCert
	c.ClientCAs = pool
	s.mtls.Store(c)
	return c, nil
}

// errReadinessProbe ends /readyz's handshake once the listener has asked
// for a client certificate.
var errReadinessProbe = errors.New("plimsoll readiness probe: the listener asked for a client certificate, as it should")

// errorLogWriter receives net/http's error log: every line at warn, but
// for the failed handshakes it also reports, which the admission listener
// has already counted and logged (rate-limited).
type errorLogWriter struct{ log *slog.Logger }

func (w errorLogWriter) Write(p []byte) (int, error) {
	msg := strings.TrimRight(string(p), "\n")
	if !strings.HasPrefix(msg, "http: TLS handshake error from ") {
		w.log.Warn(msg)
	}
	return len(p), nil
}
