package tracing_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/plimsoll/plimsoll/internal/tracing"
	"github.com/plimsoll/plimsoll/internal/tracing/otlptest"
)

var discard = slog.New(slog.DiscardHandler)

// clearEnv unsets the standard variables that would turn tracing on.
func clearEnv(t *testing.T) {
	t.Helper()
	for _, k := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_SDK_DISABLED", "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES"} {
		t.Setenv(k, "")
	}
}

func TestTracesURL(t *testing.T) {
	for _, tt := range []struct{ in, want, err string }{
		{in: "http://otel-collector.observability:4318", want: "http://otel-collector.observability:4318/v1/traces"},
		{in: "http://otel-collector.observability:4318/", want: "http://otel-collector.observability:4318/v1/traces"},
		{in: "https://collector.example.com/otlp", want: "https://collector.example.com/otlp/v1/traces"},
		{in: "https://collector.example.com:4318/v1/traces", want: "https://collector.example.com:4318/v1/traces"},
		{in: "otel-collector:4318", err: "http:// or https://"},
		{in: "grpc://otel-collector:4317", err: "http:// or https://"},
		{in: "http:///v1/traces", err: "no host"},
		{in: "http://user:pass@collector:4318", err: "scheme, host, port and path only"},
	} {
		got, err := tracing.TracesURL(tt.in)
		switch {
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("TracesURL(%q) = %q, %v; want an error saying %q", tt.in, got, err, tt.err)
		case tt.err == "" && (err != nil || got != tt.want):
			t.Errorf("TracesURL(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	o := tracing.DefaultOptions()
	if o.Endpoint != "" || o.SampleRatio != 1 || o.Validate() != nil {
		t.Errorf("defaults %+v (%v): want tracing off, ratio 1, valid", o, o.Validate())
	}
	for _, r := range []float64{-0.1, 1.5} {
		o.SampleRatio = r
		if err := o.Validate(); err == nil || !strings.Contains(err.Error(), "--trace-sample-ratio") {
			t.Errorf("ratio %v: %v, want an error naming --trace-sample-ratio", r, err)
		}
	}
	o = tracing.Options{Endpoint: "collector:4318", SampleRatio: 1}
	if err := o.Validate(); err == nil || !strings.Contains(err.Error(), "--otlp-endpoint") {
		t.Errorf("endpoint without scheme: %v, want an error naming --otlp-endpoint", err)
	}
}

// Off by default; on by flag or the standard environment; OTEL_SDK_DISABLED wins.
func TestEnabled(t *testing.T) {
	for _, tt := range []struct {
		name     string
		endpoint string
		env      map[string]string
		want     bool
	}{
		{name: "nothing set is off", want: false},
		{name: "the flag turns it on", endpoint: "http://c:4318", want: true},
		{name: "OTEL_EXPORTER_OTLP_ENDPOINT turns it on", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, want: true},
		{name: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT turns it on", env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"}, want: true},
		{name: "OTEL_SDK_DISABLED turns it off", endpoint: "http://c:4318", env: map[string]string{"OTEL_SDK_DISABLED": "true"}, want: false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			o := tracing.Options{Endpoint: tt.endpoint, SampleRatio: 1}
			if got := o.Enabled(); got != tt.want {
				t.Errorf("Enabled() = %v, want %v", got, tt.want)
			}
			tr, err := tracing.Start(context.Background(), o, discard)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = tr.Shutdown(context.Background()) }()
			if (tr != nil) != tt.want || (tr.TracerProvider() != nil) != tt.want {
				t.Errorf("Start returned %v, want tracing on: %v", tr, tt.want)
			}
		})
	}
}

// Spans reach an OTLP/HTTP receiver at the flag's endpoint with plimsoll's
// resource, and Shutdown flushes what is queued.
func TestStartExportsToTheEndpoint(t *testing.T) {
	clearEnv(t)
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "k8s.pod.name=plimsoll-abc")
	rcv := otlptest.Start()
	defer rcv.Close()
	tr, err := tracing.Start(context.Background(), tracing.Options{Endpoint: rcv.URL, SampleRatio: 1, ServiceVersion: "v1.2.3"}, discard)
	if err != nil {
		t.Fatal(err)
	}
	_, span := tr.TracerProvider().Tracer("test").Start(context.Background(), "hello", trace.WithSpanKind(trace.SpanKindServer))
	span.End()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tr.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	spans := rcv.Spans()
	if len(spans) != 1 || spans[0].Name != "hello" {
		t.Fatalf("received %+v (errors %v), want the span hello", spans, rcv.Errors())
	}
	res := spans[0].Resource
	for k, want := range map[string]string{"service.name": "plimsoll", "service.version": "v1.2.3", "k8s.pod.name": "plimsoll-abc", "telemetry.sdk.language": "go"} {
		if res[k] != want {
			t.Errorf("resource %s = %q, want %q (resource %v)", k, res[k], want, res)
		}
	}
}

// OTEL_SERVICE_NAME overrides the service name.
func TestServiceNameFromTheEnvironment(t *testing.T) {
	clearEnv(t)
	t.Setenv("OTEL_SERVICE_NAME", "plimsoll-staging")
	res, err := tracing.Resource(context.Background(), "v1")
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := res.Set().Value("service.name"); v.AsString() != "plimsoll-staging" {
		t.Errorf("service.name = %q, want plimsoll-staging", v.AsString())
	}
}

// The sampler follows a caller's decision and samples ratio of new traces.
func TestSamplerIsParentBased(t *testing.T) {
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	parent := func(sampled bool) context.Context {
		var flags trace.TraceFlags
		if sampled {
			flags = trace.FlagsSampled
		}
		return trace.ContextWithRemoteSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: flags, Remote: true}))
	}
	for _, tt := range []struct {
		name  string
		ratio float64
		ctx   context.Context
		want  bool
	}{
		{"a sampled caller is followed even at ratio 0", 0, parent(true), true},
		{"an unsampled caller is followed even at ratio 1", 1, parent(false), false},
		{"a new trace at ratio 1 is sampled", 1, context.Background(), true},
		{"a new trace at ratio 0 is not", 0, context.Background(), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(tracing.Sampler(tt.ratio)))
			defer func() { _ = tp.Shutdown(context.Background()) }()
			_, span := tp.Tracer("test").Start(tt.ctx, "s")
			defer span.End()
			if got := span.SpanContext().IsSampled(); got != tt.want {
				t.Errorf("sampled = %v, want %v", got, tt.want)
			}
		})
	}
}
