// Package serving holds what the long-running subcommands share about
// listening, `plimsoll serve` and `plimsoll audit --watch` alike: the
// health listener (/healthz, and /readyz asking a readiness function),
// the metrics listener (/metrics from a registry that carries Go's and
// the process's collectors, and Go's profiles on request), the one rule
// for addresses (Off, "0", turns a listener off; an empty address is a
// mistake, not a way to turn one off), and the graceful shutdown: /readyz
// turns not ready, a delay passes so endpoints can drain, then every
// server finishes its in-flight requests within a timeout.
//
// It does not hold the admission listener, its TLS or its handlers (the
// webhook's transport, package webhook), nor any metric of plimsoll's own
// (each subcommand registers those in the registry it is handed). It is
// internal: no library API.
package serving

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Off is the listener address that turns a listener off, in both
// subcommands and for both listeners.
const Off = "0"

// readHeaderTimeout bounds how long the plain-HTTP listeners wait for a
// request's headers.
const readHeaderTimeout = 5 * time.Second

// CheckAddr says what is wrong with a listener address given to flag: an
// empty one is refused (net.Listen would pick a port at random on every
// interface), and names the way to turn the listener off.
func CheckAddr(flag, addr string) error {
	if addr == "" {
		return fmt.Errorf("%s must not be empty: give an address, or %q to turn the listener off", flag, Off)
	}
	return nil
}

// NewRegistry returns a registry that already carries the Go runtime's
// and the process's collectors (go_*, process_*), as every plimsoll
// process exports them.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// Options configure the health and metrics listeners.
type Options struct {
	// HealthListen serves /healthz and /readyz (Off: not served).
	HealthListen string
	// MetricsListen serves /metrics (Off: not served).
	MetricsListen string
	// Registry is what /metrics serves (default: NewRegistry()).
	Registry *prometheus.Registry
	// Profiling also serves Go's profiles (net/http/pprof, /debug/pprof/)
	// on the metrics listener.
	Profiling bool
	// Ready says whether the process is ready: nil, or why not. /readyz
	// answers 200 "ok", or 503 "not ready: " and the reason. Once
	// Shutdown has begun it is not asked: the answer is "shutting down".
	// Nil: ready while serving.
	Ready func() error
}

// Validate says what is wrong with o, in terms of flags.
func (o Options) Validate() error {
	var errs []error
	errs = append(errs, CheckAddr("--health-listen", o.HealthListen), CheckAddr("--metrics-listen", o.MetricsListen))
	if o.Profiling && o.MetricsListen == Off {
		errs = append(errs, fmt.Errorf(`--profiling serves /debug/pprof/ on the metrics listener, which --metrics-listen %q turns off: set --metrics-listen to an address, e.g. 127.0.0.1:8080`, Off))
	}
	return errors.Join(errs...)
}

// Servers are the plain-HTTP servers of a process — health and metrics —
// and any other server the caller adds (the admission listener), run
// together and shut down together.
type Servers struct {
	o               Options
	health, metrics net.Listener

	// own are the caller's servers (Serve), shut down first; theirs is
	// the error Shutdown reports.
	own, ours []*http.Server
	errc      chan error
	started   bool
	stopping  atomic.Bool
}

// Listen checks o and binds the listeners it turns on; an error names the
// flag of the listener that could not be bound. Nothing is served before
// Start.
func Listen(o Options) (*Servers, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.Registry == nil {
		o.Registry = NewRegistry()
	}
	s := &Servers{o: o, errc: make(chan error, 8)}
	var err error
	if s.health, err = listen("--health-listen", o.HealthListen); err != nil {
		return nil, err
	}
	if s.metrics, err = listen("--metrics-listen", o.MetricsListen); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// listen binds addr, or nothing when it is Off.
func listen(flag, addr string) (net.Listener, error) {
	if addr == Off {
		return nil, nil
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	return l, nil
}

// HealthAddr is the health listener's address, or nil when it is off.
func (s *Servers) HealthAddr() net.Addr { return addrOf(s.health) }

// MetricsAddr is the metrics listener's address, or nil when it is off.
func (s *Servers) MetricsAddr() net.Addr { return addrOf(s.metrics) }

func addrOf(l net.Listener) net.Addr {
	if l == nil {
		return nil
	}
	return l.Addr()
}

// Close closes the listeners of a Servers that was never started (a
// constructor that fails after Listen); Start's servers are stopped by
// Shutdown.
func (s *Servers) Close() {
	for _, l := range []net.Listener{s.health, s.metrics} {
		if l != nil {
			l.Close()
		}
	}
}

// Serve serves srv on l until Shutdown, which shuts it down first and
// reports its error; a failure to serve is sent on Err.
func (s *Servers) Serve(srv *http.Server, l net.Listener) {
	s.own = append(s.own, srv)
	s.serve(srv, l)
}

func (s *Servers) serve(srv *http.Server, l net.Listener) {
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.errc <- err
		}
	}()
}

// Start serves the health and metrics listeners that are on.
func (s *Servers) Start() {
	if s.started {
		return
	}
	s.started = true
	if s.health != nil {
		srv := &http.Server{Handler: s.healthMux(), ReadHeaderTimeout: readHeaderTimeout}
		s.ours = append(s.ours, srv)
		s.serve(srv, s.health)
	}
	if s.metrics != nil {
		srv := &http.Server{Handler: s.metricsMux(), ReadHeaderTimeout: readHeaderTimeout}
		s.ours = append(s.ours, srv)
		s.serve(srv, s.metrics)
	}
}

// Err receives the error of a server that stopped serving on its own (a
// listener that failed); the process should then shut down.
func (s *Servers) Err() <-chan error { return s.errc }

// ShuttingDown reports whether Shutdown has begun.
func (s *Servers) ShuttingDown() bool { return s.stopping.Load() }

// Shutdown stops gracefully: /readyz turns not ready at once ("shutting
// down"), delay passes (endpoints drop the Pod meanwhile, and requests
// are still served), then every server stops accepting and finishes its
// in-flight requests, the caller's first, all within timeout. It returns
// the first error of the caller's servers; the health and metrics
// servers' are of no consequence (a profile being taken, say).
func (s *Servers) Shutdown(delay, timeout time.Duration) error {
	s.stopping.Store(true)
	if delay > 0 {
		time.Sleep(delay)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var first error
	for _, srv := range s.own {
		if err := srv.Shutdown(ctx); err != nil && first == nil {
			first = err
		}
	}
	for _, srv := range s.ours {
		_ = srv.Shutdown(ctx)
	}
	if !s.started {
		s.Close()
	}
	return first
}

// healthMux serves /healthz (the process answers) and /readyz.
func (s *Servers) healthMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		var why error
		switch {
		case s.stopping.Load():
			why = errors.New("shutting down")
		case s.o.Ready != nil:
			why = s.o.Ready()
		}
		if why != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "not ready:", why.Error())
			return
		}
		fmt.Fprintln(w, "ok")
	})
	return mux
}

// metricsMux serves /metrics and, with Profiling, /debug/pprof/.
func (s *Servers) metricsMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(s.o.Registry, promhttp.HandlerOpts{Registry: s.o.Registry}))
	if s.o.Profiling {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	return mux
}
