package webhook

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/plimsoll/plimsoll/internal/certs"
	"github.com/plimsoll/plimsoll/internal/serving"
	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/validate"
)

// Options configure the server. Each field's default is the flag's.
type Options struct {
	// Listen is the HTTPS address of the admission endpoints (":9443").
	Listen string
	// TLSCertFile and TLSKeyFile hold the serving certificate; both are
	// re-read when they change, without a restart.
	TLSCertFile string
	TLSKeyFile  string
	// ClientCAFile, when set, makes the admission listener require a
	// client certificate signed by one of the CAs in this PEM file: only
	// a caller holding such a certificate (the API server, configured by
	// its AdmissionConfiguration) completes a handshake. Re-read when it
	// changes, without a restart. "": no client certificate asked for.
	ClientCAFile string
	// MetricsListen serves /metrics over plain HTTP (":8080";
	// serving.Off, "0", turns it off).
	MetricsListen string
	// Profiling also serves Go's profiles (net/http/pprof, /debug/pprof/)
	// on the metrics listener. Off by default: a profile shows the
	// program's internals, and taking one costs CPU.
	Profiling bool
	// HealthListen serves /healthz and /readyz over plain HTTP (":8081";
	// serving.Off, "0", turns it off: then nothing tells the kubelet or
	// the API server's endpoints whether the webhook answers).
	HealthListen string
	// ConfigFile is the policy file ("": the built-in policy). It is
	// re-read when it changes; an invalid version keeps the last good one.
	ConfigFile string
	// ConfigPollInterval is how often ConfigFile is checked (2s).
	ConfigPollInterval time.Duration
	// DryRun puts every namespace in audit mode.
	DryRun bool
	// MaxRequestBytes bounds an AdmissionReview body (7 MiB).
	MaxRequestBytes int64
	// MaxInFlight caps the AdmissionReviews judged at once
	// (DefaultMaxInFlight); the excess is answered at once without being
	// judged (denied in enforce, admitted with a warning in warn and
	// audit) instead of queueing past the API server's deadline.
	MaxInFlight int
	// ShutdownDelay is how long the server keeps answering after SIGTERM
	// while reporting not ready, so endpoints can drain (0s).
	ShutdownDelay time.Duration
	// ShutdownTimeout bounds the wait for in-flight requests (25s).
	ShutdownTimeout time.Duration
	// ReadHeaderTimeout and ReadTimeout cut off slow clients: the headers
	// must arrive within the first (5s), the whole request within the
	// second (15s).
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	// Version is reported by plimsoll_build_info.
	Version string
	// TLSProvider, when set, writes TLSCertFile and TLSKeyFile itself
	// (--tls-self-managed): the files need not exist at start, and /readyz
	// waits until the provider is ready.
	TLSProvider TLSProvider
	// TracerProvider, when set, traces every admission request, each span
	// a child of the trace context the API server sends (read with
	// Propagator, W3C trace context if nil). Nil: tracing off, at no cost.
	TracerProvider trace.TracerProvider
	Propagator     propagation.TextMapPropagator
	// Cluster, when set, is the caches of the cluster the context rules
	// read at admission (internal/clusterwatch.Watch). The server starts
	// it when the policy in force turns the context rules on, at start or
	// at a reload, and never waits for it: until it has synced, requests
	// are judged without the context rules (see context.go). Nil:
	// plimsoll serve has no access to the API server; the context rules
	// are skipped.
	Cluster ClusterWatch
}

// TLSProvider puts the serving certificate files in place and keeps them
// current (internal/certs/selfmanaged's Manager).
type TLSProvider interface {
	// Run works until ctx ends; an error stops the server.
	Run(ctx context.Context) error
	// Ready returns nil once the certificate is in place and trusted by
	// the API server, and otherwise says what is missing.
	Ready() error
}

// DefaultOptions returns the defaults of `plimsoll serve`.
func DefaultOptions() Options {
	return Options{
		Listen:             ":9443",
		MetricsListen:      ":8080",
		HealthListen:       ":8081",
		ConfigPollInterval: 2 * time.Second,
		MaxRequestBytes:    DefaultMaxRequestBytes,
		MaxInFlight:        DefaultMaxInFlight,
		ShutdownTimeout:    25 * time.Second,
	}
}

// Validate says what is wrong with o, in terms of flags.
func (o Options) Validate() error {
	var errs []error
	if o.TLSCertFile == "" || o.TLSKeyFile == "" {
		errs = append(errs, errors.New("--tls-cert-file and --tls-key-file are required: the API server only calls webhooks over HTTPS"))
	}
	if o.Listen == "" {
		errs = append(errs, errors.New("--listen must not be empty"))
	}
	errs = append(errs, o.serving().Validate())
	if o.MaxRequestBytes <= 0 {
		errs = append(errs, errors.New("--max-request-bytes must be positive"))
	}
	if o.MaxInFlight <= 0 {
		errs = append(errs, errors.New("--max-in-flight must be positive"))
	}
	if o.ShutdownDelay < 0 || o.ShutdownTimeout <= 0 {
		errs = append(errs, errors.New("--shutdown-delay must be 0 or more and --shutdown-timeout positive"))
	}
	return errors.Join(errs...)
}

// serving are the options of the health and metrics listeners.
func (o Options) serving() serving.Options {
	return serving.Options{HealthListen: o.HealthListen, MetricsListen: o.MetricsListen, Profiling: o.Profiling}
}

// Server is plimsoll serve: the admission endpoints over TLS, plus health
// and metrics (internal/serving).
type Server struct {
	opts     Options
	log      *slog.Logger
	policy   atomic.Pointer[policy.Policy]
	handler  *Handler
	certs    atomic.Pointer[certs.CertWatcher] // nil until the files exist
	registry *prometheus.Registry
	rec      *PrometheusRecorder

	// The admission listener's TLS: its config, and with a client CA
	// (nil without) the config that requires a client certificate, made
	// again whenever the CA file changes (configForClient).
	tlsConfig  *tls.Config
	clientCAs  *certs.ClientCAWatcher
	mtls       atomic.Pointer[tls.Config]
	handshakes *handshakeLog
	probeProto string // see readinessProbeProto

	admission net.Listener
	// plain are the health and metrics listeners; the admission server
	// joins them in Run, to be shut down with them.
	plain *serving.Servers
}

// NewServer loads the certificate and policy and binds the listeners; it
// fails if either cannot be loaded, so a misconfigured pod never becomes
// ready.
func NewServer(o Options, log *slog.Logger) (*Server, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	s := &Server{opts: o, log: log, registry: serving.NewRegistry()}
	rec := NewPrometheusRecorder(s.registry)
	s.rec = rec
	RegisterBuildInfo(s.registry, o.Version)
	RegisterCertificateExpiry(s.registry, s.certificateNotAfter)
	RegisterPolicyAdvice(s.registry, func() int {
		if p := s.policy.Load(); p != nil {
			return len(p.Advice())
		}
		return 0
	})

	p := policy.Default()
	if o.ConfigFile != "" {
		w := &policy.Watcher{Path: o.ConfigFile, KnownRules: validate.IDs()}
		loaded, err := w.LoadNow()
		if err != nil {
			return nil, fmt.Errorf("--config %s: %w", o.ConfigFile, err)
		}
		p = loaded
	}
	s.setPolicy(p)

	// A TLSProvider writes the files after the start; Run loads them then.
	if o.TLSProvider == nil {
		cw, err := certs.NewCertWatcher(o.TLSCertFile, o.TLSKeyFile, log)
		if err != nil {
			return nil, fmt.Errorf("loading the TLS certificate: %w", err)
		}
		s.certs.Store(cw)
	}
	if o.ClientCAFile != "" {
		cas, err := certs.NewClientCAWatcher(o.ClientCAFile, log)
		if err != nil {
			return nil, fmt.Errorf("--client-ca-file %s: %w", o.ClientCAFile, err)
		}
		s.clientCAs = cas
	}
	s.handshakes = newHandshakeLog(log, rec.TLSHandshakeError)
	s.probeProto = readinessProbeProto()
	s.tlsConfig = &tls.Config{
		MinVersion:         tls.VersionTLS12,
		GetCertificate:     s.getCertificate,
		GetConfigForClient: s.configForClient,
		// TLS 1.2 with forward-secret AEAD suites only (TLS 1.3's are
		// fixed and all modern); HTTP/1.1 only.
		CipherSuites: ModernCipherSuites,
		NextProtos:   []string{"http/1.1"},
	}
	s.handler = &Handler{
		Policy:          &s.policy,
		Rules:           validate.Registry(),
		DryRun:          o.DryRun,
		MaxRequestBytes: o.MaxRequestBytes,
		MaxInFlight:     o.MaxInFlight,
		Log:             log,
		Metrics:         rec,
	}
	if o.Cluster != nil {
		s.handler.Cluster = o.Cluster
	}
	if o.TracerProvider != nil {
		s.handler.Tracer = o.TracerProvider.Tracer(TracerName, trace.WithInstrumentationVersion(o.Version))
		s.handler.Propagator = o.Propagator
	}

	var err error
	if s.admission, err = net.Listen("tcp", o.Listen); err != nil {
		return nil, fmt.Errorf("--listen: %w", err)
	}
	so := o.serving()
	so.Registry, so.Ready = s.registry, s.ready
	if s.plain, err = serving.Listen(so); err != nil {
		s.admission.Close()
		return nil, err
	}
	return s, nil
}

// Addr is the admission listener's address.
func (s *Server) Addr() net.Addr { return s.admission.Addr() }

// HealthAddr is the health listener's address, or nil when it is off.
func (s *Server) HealthAddr() net.Addr { return s.plain.HealthAddr() }

// MetricsAddr is the metrics listener's address, or nil when it is off.
func (s *Server) MetricsAddr() net.Addr { return s.plain.MetricsAddr() }

// Run serves until ctx ends, then shuts down gracefully: /readyz turns
// not ready first, ShutdownDelay passes, and in-flight requests complete.
func (s *Server) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 3) // one per goroutine that may send

	if p := s.opts.TLSProvider; p != nil {
		go func() {
			if err := p.Run(ctx); err != nil {
				errc <- fmt.Errorf("self-managed TLS: %w", err)
			}
		}()
	}
	go func() {
		cw, err := s.watchCerts(ctx)
		if err == nil {
			err = cw.Start(ctx)
		}
		if err != nil && ctx.Err() == nil {
			errc <- fmt.Errorf("watching the TLS certificate: %w", err)
		}
	}()
	if s.clientCAs != nil {
		go func() {
			if err := s.clientCAs.Start(ctx); err != nil && ctx.Err() == nil {
				errc <- fmt.Errorf("watching the client CA: %w", err)
			}
		}()
	}
	if s.opts.ConfigFile != "" {
		w := &policy.Watcher{
			Path: s.opts.ConfigFile, KnownRules: validate.IDs(), Interval: s.opts.ConfigPollInterval,
			OnLoad: func(p *policy.Policy) {
				s.setPolicy(p)
				s.watchCluster(ctx, p)
				s.handler.Metrics.PolicyReload(true)
				s.log.Info("policy reloaded", "file", s.opts.ConfigFile, "policy_hash", p.Hash())
			},
			OnError: func(err error) {
				s.handler.Metrics.PolicyReload(false)
				s.log.Error("policy file not reloaded; the last good policy stays in force", "file", s.opts.ConfigFile, "error", err.Error(), "policy_hash", s.policy.Load().Hash())
			},
		}
		// Read the file again and put it in force: it may have changed
		// since NewServer, and the watcher only reports later changes.
		// If it no longer loads, the first poll reports it.
		if p, err := w.LoadNow(); err == nil {
			s.setPolicy(p)
		}
		go w.Run(ctx)
	}
	s.watchCluster(ctx, s.policy.Load())

	mux := http.NewServeMux()
	mux.HandleFunc("/mutate/{mode}", s.handler.ServeMutate)
	mux.HandleFunc("/validate/{mode}", s.handler.ServeValidate)
	// The listener does the TLS handshake with s.tlsConfig (see
	// listener.go), so failed handshakes are counted and logged there.
	admission := &http.Server{
		Handler: mux,
		// HTTP/2 is off: the API server speaks HTTP/1.1 to webhooks, and
		// HTTP/2 brings the rapid-reset class of attacks.
		TLSNextProto:      map[string]func(*http.Server, *tls.Conn, http.Handler){},
		ReadHeaderTimeout: orDefault(s.opts.ReadHeaderTimeout, 5*time.Second),
		ReadTimeout:       orDefault(s.opts.ReadTimeout, 15*time.Second),
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       90 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          log.New(errorLogWriter{s.log}, "", 0),
	}
	s.plain.Serve(admission, &admissionListener{Listener: s.admission, config: s.tlsConfig, hs: s.handshakes})
	s.plain.Start()
	s.log.Info("plimsoll is serving", "listen", s.Addr().String(), "health", addrString(s.HealthAddr()), "metrics", addrString(s.MetricsAddr()),
		"dry_run", s.opts.DryRun, "policy_hash", s.policy.Load().Hash())

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	case runErr = <-s.plain.Err():
	}
	s.log.Info("shutting down: not ready any more, finishing in-flight requests", "delay", s.opts.ShutdownDelay.String())
	delay := s.opts.ShutdownDelay
	if runErr != nil {
		delay = 0
	}
	err := s.plain.Shutdown(delay, s.opts.ShutdownTimeout)
	if runErr != nil {
		return runErr
	}
	if err != nil {
		return fmt.Errorf("graceful shutdown: %w", err)
	}
	s.log.Info("stopped")
	return nil
}

// addrString is an address for the log, "off" for a listener turned off.
func addrString(a net.Addr) string {
	if a == nil {
		return "off"
	}
	return a.String()
}

// watchCerts returns the certificate watcher, first waiting for a
// TLSProvider to write the files.
func (s *Server) watchCerts(ctx context.Context) (*certs.CertWatcher, error) {
	for {
		if cw := s.certs.Load(); cw != nil {
			return cw, nil
		}
		if cw, err := certs.NewCertWatcher(s.opts.TLSCertFile, s.opts.TLSKeyFile, s.log); err == nil {
			s.certs.Store(cw)
			continue
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (s *Server) getCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	cw := s.certs.Load()
	if cw == nil {
		return nil, errors.New("no serving certificate yet")
	}
	return cw.GetCertificate(hello)
}

// ready is /readyz (internal/serving answers "shutting down" itself once
// the shutdown has begun): ready only when the policy and certificate are
// loaded and the TLS listener really answers a handshake (with a client
// CA: up to its request for a client certificate).
func (s *Server) ready() error {
	if s.policy.Load() == nil {
		return errors.New("no policy loaded")
	}
	if p := s.opts.TLSProvider; p != nil {
		if err := p.Ready(); err != nil {
			return fmt.Errorf("self-managed TLS: %w", err)
		}
	}
	if cert, _ := s.getCertificate(nil); cert == nil {
		return errors.New("no TLS certificate loaded")
	}
	addr, ok := s.admission.Addr().(*net.TCPAddr)
	if !ok {
		return fmt.Errorf("the admission listener's address %v is not TCP", s.admission.Addr())
	}
	host := "127.0.0.1"
	if addr.IP != nil && !addr.IP.IsUnspecified() {
		host = addr.IP.String()
	}
	probe := &tls.Config{
		// Only the listener's liveness is checked here, not its identity.
		InsecureSkipVerify: true, //nolint:gosec
		MinVersion:         tls.VersionTLS12,
		// Tells the listener this handshake is plimsoll's own, so it is
		// not counted or logged as a refused one.
		NextProtos: []string{s.probeProto, "http/1.1"},
	}
	// With a client CA the listener completes a handshake only with a
	// certificate of that CA, which plimsoll does not hold: only the API
	// server does. So the probe goes as far as an honest client without
	// one can: the listener has accepted the connection, presented
	// plimsoll's certificate and asked for a client certificate — it
	// answers, and demands what it should. The probe stops there.
	asked := false
	if s.clientCAs != nil {
		probe.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			asked = true
			return nil, errReadinessProbe
		}
	}
	d := &net.Dialer{Timeout: 2 * time.Second}
	conn, err := tls.DialWithDialer(d, "tcp", net.JoinHostPort(host, fmt.Sprint(addr.Port)), probe)
	if err == nil {
		conn.Close()
	}
	switch {
	case asked:
	case err != nil:
		return fmt.Errorf("the TLS listener does not answer: %w", err)
	case s.clientCAs != nil:
		return errors.New("the TLS listener does not ask for a client certificate, though --client-ca-file is set")
	}
	return nil
}

// setPolicy puts p in force and says so in plimsoll_policy_info; what the
// policy does that its author may not mean (policy.Policy.Advice) is
// logged once per policy, and counted in plimsoll_policy_advice.
func (s *Server) setPolicy(p *policy.Policy) {
	old := s.policy.Swap(p)
	s.rec.PolicyInForce(p.Hash())
	if old != nil && old.Hash() == p.Hash() {
		return
	}
	for _, a := range p.Advice() {
		s.log.Warn("the policy is loaded, but look at this", "advice", a, "policy_hash", p.Hash())
	}
}

// watchCluster starts the caches of the cluster once p turns the context
// rules on. Once started they run until ctx ends, even if a later policy
// turns the rules off (they are then not read).
func (s *Server) watchCluster(ctx context.Context, p *policy.Policy) {
	if s.opts.Cluster != nil && p.ContextRulesOn() {
		s.opts.Cluster.Start(ctx)
	}
}

// certificateNotAfter is the serving certificate's expiry, or zero.
func (s *Server) certificateNotAfter() time.Time {
	cw := s.certs.Load()
	if cw == nil {
		return time.Time{}
	}
	cert, _ := cw.GetCertificate(nil)
	if cert == nil || len(cert.Certificate) == 0 {
		return time.Time{}
	}
	leaf := cert.Leaf
	if leaf == nil {
		var err error
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return time.Time{}
		}
	}
	return leaf.NotAfter
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// ModernCipherSuites are the TLS 1.2 cipher suites the admission listener
// accepts: ECDHE key exchange with AES-GCM or ChaCha20-Poly1305.
var ModernCipherSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}
