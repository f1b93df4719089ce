// Package tracing sets up OpenTelemetry tracing for `plimsoll serve`: an
// OTLP/HTTP exporter, a parent-based sampler, W3C trace-context
// propagation, and a flush at shutdown. It has one job — build the
// provider the webhook traces with — and knows nothing about admission.
//
// Tracing is off unless an endpoint is given (--otlp-endpoint) or the
// standard OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
// is set; OTEL_SDK_DISABLED=true turns it off whatever else is set. Off, Start
// returns nil and the webhook creates no span at all.
//
// It holds neither the spans nor their attributes (the webhook's, in
// webhook/tracing.go) nor any receiver: the OTLP/HTTP receiver the unit
// tests read spans with is otlptest. It is internal: no library API.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// ServiceName is the service.name plimsoll reports (OTEL_SERVICE_NAME
// overrides it).
const ServiceName = "plimsoll"

// tracesPath is the OTLP/HTTP path of traces, appended to a base endpoint.
const tracesPath = "/v1/traces"

// Options configure tracing. Each field's default is the flag's.
type Options struct {
	// Endpoint is the collector's OTLP/HTTP base URL, such as
	// http://otel-collector.observability:4318 (""). The scheme says
	// whether to use TLS; /v1/traces is appended unless the path already
	// ends with it. Empty: tracing is off, unless the standard
	// OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is
	// set, which the SDK then reads.
	Endpoint string
	// SampleRatio is the share of new traces recorded (1). A request that
	// carries a traceparent follows its caller's decision instead: when
	// the API server traces, its sampling rate governs.
	SampleRatio float64
	// ServiceVersion is reported as service.version.
	ServiceVersion string
}

// DefaultOptions returns the defaults of `plimsoll serve`.
func DefaultOptions() Options {
	return Options{SampleRatio: 1}
}

// Validate says what is wrong with o, in terms of flags.
func (o Options) Validate() error {
	var errs []error
	if o.Endpoint != "" {
		if _, err := TracesURL(o.Endpoint); err != nil {
			errs = append(errs, fmt.Errorf("--otlp-endpoint: %w", err))
		}
	}
	if !(o.SampleRatio >= 0 && o.SampleRatio <= 1) {
		errs = append(errs, fmt.Errorf("--trace-sample-ratio %v: must be between 0 and 1", o.SampleRatio))
	}
	return errors.Join(errs...)
}

// Enabled says whether tracing is on: an endpoint is given, by flag or by
// the standard environment, and OTEL_SDK_DISABLED is not true.
func (o Options) Enabled() bool {
	if strings.EqualFold(strings.TrimSpace(os.Getenv("OTEL_SDK_DISABLED")), "true") {
		return false
	}
	return o.Endpoint != "" || os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != ""
}

// TracesURL turns a base endpoint into the URL spans are posted to: the
// scheme must be http or https, and /v1/traces is appended to the path
// unless it already ends with it (as OTEL_EXPORTER_OTLP_ENDPOINT is read).
func TracesURL(endpoint string) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return "", fmt.Errorf("%q is not a URL: %w", endpoint, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("%q: want an http:// or https:// URL of an OTLP/HTTP receiver (port 4318 on a collector)", endpoint)
	}
	if u.Host == "" {
		return "", fmt.Errorf("%q has no host", endpoint)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("%q: want scheme, host, port and path only", endpoint)
	}
	if !strings.HasSuffix(u.Path, tracesPath) {
		u.Path = strings.TrimSuffix(u.Path, "/") + tracesPath
	}
	return u.String(), nil
}

// Tracing is a running tracer provider. A nil *Tracing is tracing off:
// its methods return nil and do nothing.
type Tracing struct {
	provider   *sdktrace.TracerProvider
	propagator propagation.TextMapPropagator
}

// Start builds the exporter and the tracer provider, or returns nil if
// tracing is off. Exporting is asynchronous (in batches): a collector that
// is down or slow never delays an admission answer; failures are logged,
// at most once a minute.
func Start(ctx context.Context, o Options, log *slog.Logger) (*Tracing, error) {
	if !o.Enabled() {
		return nil, nil
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	var opts []otlptracehttp.Option
	if o.Endpoint != "" {
		u, _ := TracesURL(o.Endpoint)
		opts = append(opts, otlptracehttp.WithEndpointURL(u))
	}
	exporter, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("OTLP trace exporter: %w", err)
	}
	res, err := Resource(ctx, o.ServiceVersion)
	if err != nil {
		// A detector failed (partly): keep what was detected.
		log.Warn("tracing: some resource attributes could not be detected", "error", err.Error())
	}
	// The SDK reports export failures and its own troubles through these.
	otel.SetErrorHandler(rateLimitedErrors(log, time.Minute))
	otel.SetLogger(logr.FromSlogHandler(log.Handler()))
	t := &Tracing{
		provider: sdktrace.NewTracerProvider(
			sdktrace.WithBatcher(exporter),
			sdktrace.WithResource(res),
			sdktrace.WithSampler(Sampler(o.SampleRatio)),
		),
		propagator: Propagator(),
	}
	log.Info("tracing is on", "endpoint", endpointForLog(o.Endpoint), "sample_ratio", o.SampleRatio)
	return t, nil
}

// Sampler follows the caller's sampling decision when the request carries
// a trace context, and samples ratio of the traces plimsoll starts.
func Sampler(ratio float64) sdktrace.Sampler {
	return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio))
}

// Propagator reads W3C trace context (traceparent, tracestate) and baggage,
// what the kube-apiserver sends on webhook calls when it traces.
func Propagator() propagation.TextMapPropagator {
	return propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
}

// Resource describes the process: service.name plimsoll (or
// OTEL_SERVICE_NAME), service.version, OTEL_RESOURCE_ATTRIBUTES, and what
// the SDK detects of the host, process, runtime and container. Command
// arguments and the process owner are left out.
func Resource(ctx context.Context, version string) (*resource.Resource, error) {
	return resource.New(ctx,
		// Earlier options are overridden by later ones: the environment wins.
		resource.WithAttributes(
			attribute.String("service.name", ServiceName),
			attribute.String("service.version", version),
		),
		resource.WithTelemetrySDK(),
		resource.WithHost(),
		resource.WithOSType(),
		resource.WithProcessPID(),
		resource.WithProcessExecutableName(),
		resource.WithProcessRuntimeName(),
		resource.WithProcessRuntimeVersion(),
		resource.WithContainerID(),
		resource.WithFromEnv(),
	)
}

// TracerProvider is what the webhook starts spans with; nil when off.
func (t *Tracing) TracerProvider() trace.TracerProvider {
	if t == nil {
		return nil
	}
	return t.provider
}

// Propagator is how incoming trace context is read; nil when off.
func (t *Tracing) Propagator() propagation.TextMapPropagator {
	if t == nil {
		return nil
	}
	return t.propagator
}

// Shutdown exports the spans still queued and stops the exporter, within
// ctx. Call it once the server has finished its in-flight requests.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return t.provider.Shutdown(ctx)
}

// endpointForLog is the endpoint as logged: the flag's, or where the
// environment sends spans.
func endpointForLog(flag string) string {
	if flag != "" {
		u, _ := TracesURL(flag)
		return u
	}
	if v := os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"); v != "" {
		return v + " (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)"
	}
	return os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") + " (OTEL_EXPORTER_OTLP_ENDPOINT)"
}

// rateLimitedErrors logs the SDK's errors (a collector that cannot be
// reached fails every batch) at most once per interval, saying how many
// were not logged in between.
func rateLimitedErrors(log *slog.Logger, interval time.Duration) otel.ErrorHandler {
	var (
		mu         sync.Mutex
		last       time.Time
		suppressed int
	)
	return otel.ErrorHandlerFunc(func(err error) {
		mu.Lock()
		now := time.Now()
		if !last.IsZero() && now.Sub(last) < interval {
			suppressed++
			mu.Unlock()
			return
		}
		n := suppressed
		last, suppressed = now, 0
		mu.Unlock()
		log.Warn("tracing: spans could not be exported", "error", err.Error(), "suppressed", n)
	})
}
