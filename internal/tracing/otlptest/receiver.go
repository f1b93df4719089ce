// Package otlptest holds an OTLP/HTTP trace receiver for tests (what
// plimsoll exports with): it decodes what an exporter posts to /v1/traces
// (protobuf, optionally gzipped) and keeps the spans as a collector would
// receive them, flattened into Span. It holds no gRPC receiver (what the
// kube-apiserver exports with): that one is test/otlpgrpc, in the test
// tree, so that gRPC's server stays out of the packages the binary is
// built from; it reuses Span and SpansOf from here.
package otlptest

import (
	"compress/gzip"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonv1 "go.opentelemetry.io/proto/otlp/common/v1"
	tracev1 "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// Span is one received span with its resource's and its own attributes,
// as strings.
type Span struct {
	Name         string
	Kind         tracev1.Span_SpanKind
	TraceID      string // hex
	SpanID       string // hex
	ParentSpanID string // hex, "" for a root span
	Scope        string
	Attributes   map[string]string
	Resource     map[string]string
	StatusCode   tracev1.Status_StatusCode
}

// store keeps what a receiver got.
type store struct {
	mu    sync.Mutex
	spans []Span
	errs  []string
}

// Spans returns every span received so far.
func (r *store) Spans() []Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Span(nil), r.spans...)
}

// Errors returns what could not be decoded.
func (r *store) Errors() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.errs...)
}

func (r *store) add(in *collectortrace.ExportTraceServiceRequest) {
	got := SpansOf(in)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.spans = append(r.spans, got...)
}

// Receiver is a running OTLP/HTTP receiver.
type Receiver struct {
	// URL is the base endpoint, e.g. http://127.0.0.1:PORT (the exporter
	// appends /v1/traces).
	URL string
	srv *httptest.Server
	store
}

// Start starts a receiver on a loopback port.
func Start() *Receiver {
	r := &Receiver{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/traces", r.export)
	r.srv = httptest.NewServer(mux)
	r.URL = r.srv.URL
	return r
}

// Close stops the receiver.
func (r *Receiver) Close() { r.srv.Close() }

func (r *Receiver) fail(w http.ResponseWriter, msg string) {
	r.mu.Lock()
	r.errs = append(r.errs, msg)
	r.mu.Unlock()
	http.Error(w, msg, http.StatusBadRequest)
}

func (r *Receiver) export(w http.ResponseWriter, req *http.Request) {
	if ct := req.Header.Get("Content-Type"); ct != "application/x-protobuf" {
		r.fail(w, "Content-Type "+ct+", want application/x-protobuf")
		return
	}
	var body io.Reader = req.Body
	if req.Header.Get("Content-Encoding") == "gzip" {
		gz, err := gzip.NewReader(req.Body)
		if err != nil {
			r.fail(w, err.Error())
			return
		}
		body = gz
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		r.fail(w, err.Error())
		return
	}
	var in collectortrace.ExportTraceServiceRequest
	if err := proto.Unmarshal(raw, &in); err != nil {
		r.fail(w, "not an ExportTraceServiceRequest: "+err.Error())
		return
	}
	r.add(&in)
	out, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

// SpansOf flattens an export request, as every receiver keeps it.
func SpansOf(in *collectortrace.ExportTraceServiceRequest) []Span {
	var got []Span
	for _, rs := range in.GetResourceSpans() {
		res := attributes(rs.GetResource().GetAttributes())
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				got = append(got, Span{
					Name:         s.GetName(),
					Kind:         s.GetKind(),
					TraceID:      hex.EncodeToString(s.GetTraceId()),
					SpanID:       hex.EncodeToString(s.GetSpanId()),
					ParentSpanID: hex.EncodeToString(s.GetParentSpanId()),
					Scope:        ss.GetScope().GetName(),
					Attributes:   attributes(s.GetAttributes()),
					Resource:     res,
					StatusCode:   s.GetStatus().GetCode(),
				})
			}
		}
	}
	return got
}

// attributes renders attributes as strings: scalars as they read, arrays
// as their values joined with commas.
func attributes(kvs []*commonv1.KeyValue) map[string]string {
	out := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		out[kv.GetKey()] = valueString(kv.GetValue())
	}
	return out
}

func valueString(v *commonv1.AnyValue) string {
	switch x := v.GetValue().(type) {
	case *commonv1.AnyValue_StringValue:
		return x.StringValue
	case *commonv1.AnyValue_BoolValue:
		return strconv.FormatBool(x.BoolValue)
	case *commonv1.AnyValue_IntValue:
		return strconv.FormatInt(x.IntValue, 10)
	case *commonv1.AnyValue_DoubleValue:
		return strconv.FormatFloat(x.DoubleValue, 'g', -1, 64)
	case *commonv1.AnyValue_ArrayValue:
		var vs []string
		for _, e := range x.ArrayValue.GetValues() {
			vs = append(vs, valueString(e))
		}
		return strings.Join(vs, ",")
	}
	return ""
}
