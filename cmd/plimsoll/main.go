// Command plimsoll is the admission webhook (`plimsoll serve`) and its
// command-line checker. This file is wiring only: flags into options, a
// logger, one Run, an exit code.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"k8s.io/klog/v2"

	"github.com/plimsoll/plimsoll/internal/clusterwatch"
	"github.com/plimsoll/plimsoll/internal/kube"
	"github.com/plimsoll/plimsoll/internal/tracing"
	"github.com/plimsoll/plimsoll/webhook"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `plimsoll holds Kubernetes workloads to good practice.

Usage:
  plimsoll serve [flags]                 run the admission webhook
  plimsoll check -f PATH [flags]         check manifests as the webhook would
  plimsoll audit [flags]                 judge what is running in the cluster (--watch: keep reporting)
  plimsoll export [flags]                print the policy as admission policies the API server runs itself
  plimsoll version                       print the version

Run "plimsoll serve -h" or "plimsoll check -h" for their flags.
`

func main() {
	if asKubectlPlugin(os.Args[0]) {
		usageText = strings.ReplaceAll(usage, "plimsoll ", "kubectl plimsoll ")
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// usageText is usage as the user invoked plimsoll: `kubectl plimsoll …`
// when it runs as a kubectl plugin.
var usageText = usage

// asKubectlPlugin reports whether the binary was invoked as kubectl's
// plugin, kubectl-plimsoll (`make install-plugin` links it so): kubectl
// runs `kubectl-plimsoll check …` for `kubectl plimsoll check …`, passing
// the flags after the plugin's name, --context, -n and --kubeconfig among
// them, which audit takes as kubectl does.
func asKubectlPlugin(argv0 string) bool {
	return strings.TrimSuffix(filepath.Base(argv0), ".exe") == "kubectl-plimsoll"
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usageText)
		return 2
	}
	switch args[0] {
	case "serve":
		return serve(args[1:], stderr)
	case "check":
		return runCheck(args[1:], os.Stdin, stdout, stderr)
	case "audit":
		return runAudit(args[1:], stdout, stderr)
	case "export":
		return runExport(args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "plimsoll", version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usageText)
		return 0
	}
	fmt.Fprintf(stderr, "plimsoll: unknown command %q\n\n%s", args[0], usageText)
	return 2
}

// serveGCPercent is plimsoll serve's GOGC when the environment does not
// set one. Its live heap is a few MB, so at Go's default of 100 the
// collector runs after every 4 MB allocated — dozens of times a second
// under load, a cost paid on every request and in its latency. 200 halves
// that for a few MB more of heap; GOMEMLIMIT (the chart sets it from the
// memory limit) still bounds the heap.
const serveGCPercent = 200

// setGCPercent applies serveGCPercent unless GOGC is set, and returns the
// percentage in force.
func setGCPercent(getenv func(string) string) int {
	if getenv("GOGC") != "" {
		p := debug.SetGCPercent(100)
		debug.SetGCPercent(p)
		return p
	}
	debug.SetGCPercent(serveGCPercent)
	return serveGCPercent
}

func serve(args []string, stderr io.Writer) int {
	setGCPercent(os.Getenv)
	o := webhook.DefaultOptions()
	o.Version = version
	fs := flag.NewFlagSet("plimsoll serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.Listen, "listen", o.Listen, "HTTPS address of the admission endpoints /mutate/{mode} and /validate/{mode}")
	fs.StringVar(&o.TLSCertFile, "tls-cert-file", envOr("PLIMSOLL_TLS_CERT_FILE", ""), "serving certificate (PEM); reloaded when it changes; with --tls-self-managed, plimsoll writes it (env PLIMSOLL_TLS_CERT_FILE)")
	fs.StringVar(&o.TLSKeyFile, "tls-key-file", envOr("PLIMSOLL_TLS_KEY_FILE", ""), "serving key (PEM); reloaded when it changes; with --tls-self-managed, plimsoll writes it (env PLIMSOLL_TLS_KEY_FILE)")
	fs.StringVar(&o.ClientCAFile, "client-ca-file", envOr("PLIMSOLL_CLIENT_CA_FILE", ""), "CA certificates (PEM): when set, the admission listener requires a client certificate signed by one of them, so only the API server (given such a certificate by its AdmissionConfiguration) can call it; reloaded when it changes (env PLIMSOLL_CLIENT_CA_FILE)")
	fs.StringVar(&o.MetricsListen, "metrics-listen", o.MetricsListen, `address of /metrics (plain HTTP); "0" turns it off, as "0" does every listener but --listen`)
	fs.BoolVar(&o.Profiling, "profiling", false, "also serve Go's CPU and memory profiles at /debug/pprof/ on the metrics listener (for performance work; off in production)")
	fs.StringVar(&o.HealthListen, "health-listen", o.HealthListen, `address of /healthz and /readyz (plain HTTP); "0" turns it off, as "0" does every listener but --listen (then no probe can tell whether plimsoll is ready)`)
	fs.StringVar(&o.ConfigFile, "config", envOr("PLIMSOLL_CONFIG", ""), "policy file (YAML); reloaded when it changes; empty: the built-in policy (env PLIMSOLL_CONFIG)")
	fs.DurationVar(&o.ConfigPollInterval, "config-poll-interval", o.ConfigPollInterval, "how often the policy file is checked for changes")
	fs.BoolVar(&o.DryRun, "dry-run", os.Getenv("PLIMSOLL_DRY_RUN") == "true", "audit every namespace, whatever its mode label: nothing is denied or changed (env PLIMSOLL_DRY_RUN=true)")
	fs.Int64Var(&o.MaxRequestBytes, "max-request-bytes", o.MaxRequestBytes, "largest AdmissionReview body accepted")
	fs.IntVar(&o.MaxInFlight, "max-in-flight", o.MaxInFlight, "most AdmissionReviews judged at once; the excess is answered at once without being judged (denied in enforce, admitted with a warning in warn and audit) rather than queued past the API server's deadline. The default suits one core, the chart's CPU limit: raise it with the limit")
	fs.DurationVar(&o.ShutdownDelay, "shutdown-delay", o.ShutdownDelay, "after SIGTERM, keep serving this long while /readyz says not ready")
	fs.DurationVar(&o.ShutdownTimeout, "shutdown-timeout", o.ShutdownTimeout, "longest wait for in-flight requests at shutdown")
	logFormat := fs.String("log-format", envOr("PLIMSOLL_LOG_FORMAT", "json"), "log format: json or text (env PLIMSOLL_LOG_FORMAT)")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn or error")
	to := tracing.DefaultOptions()
	to.ServiceVersion = version
	fs.StringVar(&to.Endpoint, "otlp-endpoint", to.Endpoint, "OpenTelemetry collector's OTLP/HTTP URL, e.g. http://otel-collector.observability:4318 (https:// for TLS; /v1/traces is appended); empty: tracing off unless OTEL_EXPORTER_OTLP_ENDPOINT is set")
	fs.Float64Var(&to.SampleRatio, "trace-sample-ratio", to.SampleRatio, "share of new traces recorded, 0 to 1; a request carrying a traceparent follows the API server's sampling decision")
	selfManaged := addSelfManagedFlags(fs)
	fs.Usage = usageWithoutHidden(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "plimsoll serve: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	log, err := newLogger(stderr, *logFormat, *logLevel)
	if err != nil {
		fmt.Fprintln(stderr, "plimsoll serve:", err)
		return 2
	}
	if err := errors.Join(o.Validate(), selfManaged.validate(o), to.Validate()); err != nil {
		fmt.Fprintln(stderr, "plimsoll serve:", err)
		return 2
	}
	if o.TLSProvider, err = selfManaged.provider(log); err != nil {
		log.Error("cannot start", "error", err.Error())
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	tr, err := tracing.Start(ctx, to, log)
	if err != nil {
		log.Error("cannot start", "error", err.Error())
		return 1
	}
	// Runs after the server has finished its in-flight requests, so their
	// spans are ended and exported.
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := tr.Shutdown(sctx); err != nil {
			log.Warn("tracing: not every span could be exported at shutdown", "error", err.Error())
		}
	}()
	o.TracerProvider, o.Propagator = tr.TracerProvider(), tr.Propagator()
	o.Cluster = clusterWatch(selfManaged.kubeconfig, log)
	srv, err := webhook.NewServer(o, log)
	if err != nil {
		log.Error("cannot start", "error", err.Error())
		return 1
	}
	if err := srv.Run(ctx); err != nil {
		log.Error("stopped with an error", "error", err.Error())
		return 1
	}
	return 0
}

// clusterWatch returns the caches of the cluster that the context rules
// read at admission, over the API server found as kubectl finds it
// (--kubeconfig, $KUBECONFIG, ~/.kube/config, the in-cluster service
// account). The server starts them only if the policy turns the context
// rules on. Without an API server it says once that the context rules
// are off, and returns nil: plimsoll serves all the same.
func clusterWatch(kubeconfig string, log *slog.Logger) webhook.ClusterWatch {
	cfg, _, err := kubeClientConfig(kubeconfig, "")
	if err == nil {
		cfg.UserAgent = "plimsoll/" + version
		var client *kube.Client
		if client, err = kube.NewForConfig(cfg); err == nil {
			return clusterwatch.New(client, log)
		}
	}
	level := slog.LevelInfo
	if kubeconfig != "" {
		level = slog.LevelWarn // asked for, and not there
	}
	log.Log(context.Background(), level, "context rules are off for lack of cluster access: pod-disruption-budget, hpa-target and replicas-with-hpa are skipped at admission",
		"error", err.Error())
	return nil
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	var h slog.Handler
	switch format {
	case "json":
		h = slog.NewJSONHandler(w, opts)
	case "text":
		h = slog.NewTextHandler(w, opts)
	default:
		return nil, fmt.Errorf("--log-format %q: use json or text", format)
	}
	log := slog.New(h).With("version", version)
	// client-go (self-managed TLS) logs through klog.
	klog.SetSlogLogger(log)
	return log, nil
}

func envOr(key, def string) string {
	if v, ok := os.LookupEnv(key); ok {
		return v
	}
	return def
}
