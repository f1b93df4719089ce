package webhook_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/plimsoll/plimsoll/internal/tracing"
	"github.com/plimsoll/plimsoll/webhook"
)

// The trace context the API server sends: trace and span IDs in W3C form.
const (
	callerTraceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	callerSpanID  = "00f067aa0ba902b7"
	traceparent   = "00-" + callerTraceID + "-" + callerSpanID + "-01"
)

// secretEnv is the env value of pod-secret-env.yaml: no span may carry it.
const secretEnv = "s3cr3t-value"

// recordingProvider returns a tracer provider that keeps every span it
// ends in memory, with plimsoll's own sampler.
func recordingProvider(t *testing.T) (*sdktrace.TracerProvider, *tracetest.InMemoryExporter) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithSampler(tracing.Sampler(1)))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp, exp
}

// tracedFixture is newFixture with tracing on.
func tracedFixture(t *testing.T) (*fixture, *tracetest.InMemoryExporter) {
	t.Helper()
	f := newFixture(t)
	tp, exp := recordingProvider(t)
	f.h.Tracer = tp.Tracer(webhook.TracerName)
	f.h.Propagator = tracing.Propagator()
	return f, exp
}

// sendTraced posts body to path with the given traceparent ("" for none).
func (f *fixture) sendTraced(t *testing.T, path string, body []byte, tp string) answer {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if tp != "" {
		req.Header.Set("traceparent", tp)
	}
	return f.do(t, req)
}

// spanTree indexes spans by name (each name once) and checks that every
// span is in one trace and that each has the parent named in parents
// ("" for the server span, whose parent is the caller's or none).
func spanTree(t *testing.T, spans tracetest.SpanStubs, parents map[string]string) map[string]tracetest.SpanStub {
	t.Helper()
	byName := map[string]tracetest.SpanStub{}
	var names []string
	for _, s := range spans {
		if _, dup := byName[s.Name]; dup {
			t.Errorf("span %q recorded twice", s.Name)
		}
		byName[s.Name] = s
		names = append(names, s.Name)
	}
	if len(spans) != len(parents) {
		t.Fatalf("spans %v, want exactly %d: %v", names, len(parents), parents)
	}
	var server tracetest.SpanStub
	for name, parent := range parents {
		if parent == "" {
			server = byName[name]
		}
	}
	for name, parent := range parents {
		s, ok := byName[name]
		if !ok {
			t.Fatalf("no span %q among %v", name, names)
		}
		if s.SpanContext.TraceID() != server.SpanContext.TraceID() {
			t.Errorf("span %q is in trace %s, the server span in %s", name, s.SpanContext.TraceID(), server.SpanContext.TraceID())
		}
		if parent == "" {
			continue
		}
		if s.SpanKind != trace.SpanKindInternal {
			t.Errorf("span %q has kind %v, want internal", name, s.SpanKind)
		}
		if want := byName[parent].SpanContext.SpanID(); s.Parent.SpanID() != want {
			t.Errorf("span %q has parent %s, want %q (%s)", name, s.Parent.SpanID(), parent, want)
		}
	}
	return byName
}

// attrs returns a span's attributes by key.
func attrs(s tracetest.SpanStub) map[attribute.Key]attribute.Value {
	out := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes {
		out[kv.Key] = kv.Value
	}
	return out
}

// assertNothingOf checks that no span name, attribute, event, link or
// status of spans contains any of the strings in leaks.
func assertNothingOf(t *testing.T, spans tracetest.SpanStubs, leaks ...string) {
	t.Helper()
	check := func(where, v string) {
		for _, leak := range leaks {
			if strings.Contains(v, leak) {
				t.Errorf("%s holds %q: %.200s", where, leak, v)
			}
		}
	}
	for _, s := range spans {
		check("span name", s.Name)
		check("status of "+s.Name, s.Status.Description)
		for _, kv := range s.Attributes {
			check("attribute "+string(kv.Key)+" of "+s.Name, kv.Value.String())
		}
		for _, e := range s.Events {
			check("event of "+s.Name, e.Name)
			for _, kv := range e.Attributes {
				check("event attribute "+string(kv.Key)+" of "+s.Name, kv.Value.String())
			}
		}
		for _, l := range s.Links {
			for _, kv := range l.Attributes {
				check("link attribute of "+s.Name, kv.Value.String())
			}
		}
	}
}

// inOrder checks that the named spans ran one after the other.
func inOrder(t *testing.T, spans map[string]tracetest.SpanStub, names ...string) {
	t.Helper()
	for i := 1; i < len(names); i++ {
		a, b := spans[names[i-1]], spans[names[i]]
		if b.StartTime.Before(a.EndTime) {
			t.Errorf("span %q starts before %q ends", names[i], names[i-1])
		}
	}
}

// Through the real server (TLS, mux, handler): the API server's
// traceparent becomes the server span's parent, with one child per step,
// the decision on the span and nothing of the object's content.
func TestTracingFollowsTheCallersTraceContext(t *testing.T) {
	tp, exp := recordingProvider(t)
	ts := startServer(t, func(o *webhook.Options) {
		o.TracerProvider, o.Propagator = tp, tracing.Propagator()
		o.Version = "v1.2.3"
	})
	// The server's policy has only image-tag on: a :latest image breaks it.
	pod := edit(t, load(t, "pod-secret-env.yaml"), func(m map[string]any) {
		podSpec(m)["containers"].([]any)[0].(map[string]any)["image"] = "example.com/billing:latest"
	})
	body := create(pod).body(t)
	req, err := http.NewRequest(http.MethodPost, ts.admission+"/validate/enforce", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("traceparent", traceparent)
	resp, err := ts.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	a := decodeAnswer(t, resp.StatusCode, resp.Header.Get("Content-Type"), raw)
	if a.resp.Allowed {
		t.Fatalf("a :latest image in enforce was admitted: %s", raw)
	}

	got := exp.GetSpans()
	spans := spanTree(t, got, map[string]string{
		"POST /validate/{mode}": "",
		webhook.SpanDecode:      "POST /validate/{mode}",
		webhook.SpanCheck:       "POST /validate/{mode}",
		// No default span: a Pod CREATE in enforce is judged as it
		// arrives, without a defaulted copy (TestWorkloadsAreJudgedOnADefaultedCopyInsideCheck).
		webhook.SpanEncode: "POST /validate/{mode}",
	})
	server := spans["POST /validate/{mode}"]
	if server.SpanKind != trace.SpanKindServer {
		t.Errorf("server span kind %v, want server", server.SpanKind)
	}
	if got := server.SpanContext.TraceID().String(); got != callerTraceID {
		t.Errorf("trace ID %s, want the caller's %s", got, callerTraceID)
	}
	if got := server.Parent.SpanID().String(); got != callerSpanID || !server.Parent.IsRemote() {
		t.Errorf("server span's parent %s (remote %v), want the caller's span %s", got, server.Parent.IsRemote(), callerSpanID)
	}
	if server.InstrumentationScope.Name != webhook.TracerName || server.InstrumentationScope.Version != "v1.2.3" {
		t.Errorf("instrumentation scope %+v, want %s v1.2.3", server.InstrumentationScope, webhook.TracerName)
	}
	inOrder(t, spans, webhook.SpanDecode, webhook.SpanCheck, webhook.SpanEncode)
	at := attrs(server)
	for key, want := range map[attribute.Key]string{
		webhook.AttrUID:       string(testUID),
		webhook.AttrKind:      "Pod",
		webhook.AttrNamespace: "team-a",
		webhook.AttrName:      "billing",
		webhook.AttrOperation: "CREATE",
		webhook.AttrEndpoint:  "validate",
		webhook.AttrMode:      "enforce",
		webhook.AttrDecision:  "denied",
		"http.route":          "/validate/{mode}",
		"http.request.method": "POST",
	} {
		if got := at[key].String(); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	if got := at[webhook.AttrViolations].AsInt64(); got != 1 {
		t.Errorf("violations = %d, want 1", got)
	}
	if got := at[webhook.AttrRules].AsStringSlice(); !slices.Equal(got, []string{"image-tag"}) {
		t.Errorf("rules = %v, want [image-tag]", got)
	}
	if server.Status.Code == codes.Error {
		t.Errorf("a denial is a decision, not an error: status %v", server.Status)
	}
	assertNothingOf(t, got, secretEnv, "example.com/billing", "API_TOKEN", string(pod))
}

// /mutate: decode, default (the Pod and its patch), encode; the span
// counts the patch's operations and names the default families.
func TestTracingMutateSpans(t *testing.T) {
	f, exp := tracedFixture(t)
	body := create(load(t, "pod-secret-env.yaml")).body(t)
	a := f.sendTraced(t, "/mutate/enforce", body, traceparent)
	ops := patchOps(t, a.resp)
	if len(ops) == 0 {
		t.Fatal("the bare Pod was not defaulted")
	}
	const name = "POST /mutate/{mode}"
	got := exp.GetSpans()
	spans := spanTree(t, got, map[string]string{
		name:                "",
		webhook.SpanDecode:  name,
		webhook.SpanDefault: name,
		webhook.SpanEncode:  name,
	})
	inOrder(t, spans, webhook.SpanDecode, webhook.SpanDefault, webhook.SpanEncode)
	server := spans[name]
	if server.Parent.SpanID().String() != callerSpanID {
		t.Errorf("server span's parent %s, want %s", server.Parent.SpanID(), callerSpanID)
	}
	at := attrs(server)
	if got := at[webhook.AttrPatchOperations].AsInt64(); got != int64(len(ops)) {
		t.Errorf("patch_operations = %d, want the patch's %d", got, len(ops))
	}
	if got := at[webhook.AttrDefaulted].AsStringSlice(); len(got) == 0 {
		t.Errorf("defaulted = %v, want the families applied", got)
	}
	if got := at[webhook.AttrDecision].AsString(); got != "allowed" {
		t.Errorf("decision = %q, want allowed", got)
	}
	assertNothingOf(t, got, secretEnv, "API_TOKEN", "example.com/billing", string(body))
}

// A request without a traceparent starts a trace of its own.
func TestTracingStartsATraceWithoutTraceparent(t *testing.T) {
	f, exp := tracedFixture(t)
	f.sendTraced(t, "/validate/warn", create(load(t, "pod-secret-env.yaml")).body(t), "")
	spans := exp.GetSpans()
	if len(spans) == 0 {
		t.Fatal("no span recorded")
	}
	server := spans[len(spans)-1] // the server span ends last
	if server.Name != "POST /validate/{mode}" {
		t.Fatalf("last span %q, want the server span", server.Name)
	}
	if server.Parent.IsValid() {
		t.Errorf("server span has parent %s, want none", server.Parent.SpanID())
	}
	if !server.SpanContext.TraceID().IsValid() || server.SpanContext.TraceID().String() == callerTraceID {
		t.Errorf("trace ID %s, want a new one", server.SpanContext.TraceID())
	}
	if got := attrs(server)[webhook.AttrDecision].AsString(); got != "warned" {
		t.Errorf("decision = %q, want warned", got)
	}
}

// A caller that traces but did not sample this request decides for
// plimsoll too: nothing is recorded.
func TestTracingFollowsAnUnsampledCaller(t *testing.T) {
	f, exp := tracedFixture(t)
	f.sendTraced(t, "/validate/enforce", create(load(t, "pod-secret-env.yaml")).body(t), "00-"+callerTraceID+"-"+callerSpanID+"-00")
	if spans := exp.GetSpans(); len(spans) != 0 {
		t.Errorf("%d spans recorded for an unsampled caller", len(spans))
	}
}

// Tracing off (no Tracer) records nothing, not even through a global
// tracer provider, and the decision log line has no trace_id.
func TestTracingOffRecordsNothing(t *testing.T) {
	tp, exp := recordingProvider(t)
	prev := otel.GetTracerProvider()
	otel.SetTracerProvider(tp)
	t.Cleanup(func() { otel.SetTracerProvider(prev) })

	f := newFixture(t)
	f.sendTraced(t, "/mutate/enforce", create(load(t, "pod-secret-env.yaml")).body(t), traceparent)
	f.sendTraced(t, "/validate/enforce", create(load(t, "pod-privileged.yaml")).body(t), traceparent)
	f.sendTraced(t, "/validate/enforce", []byte("{"), traceparent)
	if spans := exp.GetSpans(); len(spans) != 0 {
		t.Errorf("tracing off recorded %d spans", len(spans))
	}
	for _, l := range f.log.lines(t) {
		if _, ok := l["trace_id"]; ok {
			t.Errorf("tracing off, yet a log line has a trace_id: %v", l)
		}
	}
}

// A malformed request fails its decode span and its server span.
func TestTracingMarksMalformedRequestsAsErrors(t *testing.T) {
	f, exp := tracedFixture(t)
	a := f.sendTraced(t, "/validate/enforce", []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":null}`), traceparent)
	if a.resp.Allowed {
		t.Fatal("a malformed request was admitted")
	}
	const name = "POST /validate/{mode}"
	spans := spanTree(t, exp.GetSpans(), map[string]string{name: "", webhook.SpanDecode: name, webhook.SpanEncode: name})
	if s := spans[webhook.SpanDecode].Status; s.Code != codes.Error || !strings.Contains(s.Description, "no request") {
		t.Errorf("decode span status %+v, want an error saying the review has no request", s)
	}
	server := spans[name]
	if server.Status.Code != codes.Error {
		t.Errorf("server span status %+v, want an error", server.Status)
	}
	if got := attrs(server)[webhook.AttrDecision].AsString(); got != "error" {
		t.Errorf("decision = %q, want error", got)
	}
}

// The decision log line carries the trace ID, so logs and traces join.
func TestTracingPutsTheTraceIDInTheLog(t *testing.T) {
	f, _ := tracedFixture(t)
	f.sendTraced(t, "/validate/enforce", create(load(t, "pod-privileged.yaml")).body(t), traceparent)
	lines := withMsg(f.log.lines(t), "admission decision")
	if len(lines) != 1 {
		t.Fatalf("%d decision lines, want 1", len(lines))
	}
	if got := lines[0]["trace_id"]; got != callerTraceID {
		t.Errorf("trace_id = %v, want %s", got, callerTraceID)
	}
}

// A workload is judged on a copy defaulted as its Pods will be: the copy
// is made inside check, and traced as its own span.
func TestWorkloadsAreJudgedOnADefaultedCopyInsideCheck(t *testing.T) {
	f, exp := tracedFixture(t)
	a := f.sendTraced(t, "/validate/enforce", create(load(t, "deployment-latest.yaml")).body(t), traceparent)
	if a.resp.Allowed {
		t.Fatalf("a :latest Deployment in enforce was admitted")
	}
	const name = "POST /validate/{mode}"
	spanTree(t, exp.GetSpans(), map[string]string{
		name:                "",
		webhook.SpanDecode:  name,
		webhook.SpanCheck:   name,
		webhook.SpanDefault: webhook.SpanCheck,
		webhook.SpanEncode:  name,
	})
}
