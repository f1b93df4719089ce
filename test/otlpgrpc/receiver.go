// Package otlpgrpc is an OTLP/gRPC trace receiver for end-to-end tests:
// what the kube-apiserver exports its own spans with (its
// TracingConfiguration names a host:port). It keeps the spans as
// internal/tracing/otlptest does, as otlptest.Span values, so a test can
// join the API server's spans with plimsoll's. It lives in the test tree
// because it is the one user of gRPC's server: the packages the plimsoll
// binary is built from do not import it.
package otlpgrpc

import (
	"context"
	"net"
	"sync"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"

	"github.com/plimsoll/plimsoll/internal/tracing/otlptest"
)

// Receiver is a running OTLP/gRPC receiver (plain text).
type Receiver struct {
	// Addr is host:port, as the kube-apiserver's TracingConfiguration
	// endpoint names it.
	Addr string
	srv  *grpc.Server

	mu    sync.Mutex
	spans []otlptest.Span

	collectortrace.UnimplementedTraceServiceServer
}

// Start starts a receiver on a loopback port.
func Start() (*Receiver, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &Receiver{Addr: l.Addr().String(), srv: grpc.NewServer()}
	collectortrace.RegisterTraceServiceServer(r.srv, r)
	go func() { _ = r.srv.Serve(l) }()
	return r, nil
}

// Export implements the OTLP trace service.
func (r *Receiver) Export(_ context.Context, in *collectortrace.ExportTraceServiceRequest) (*collectortrace.ExportTraceServiceResponse, error) {
	got := otlptest.SpansOf(in)
	r.mu.Lock()
	r.spans = append(r.spans, got...)
	r.mu.Unlock()
	return &collectortrace.ExportTraceServiceResponse{}, nil
}

// Spans returns every span received so far.
func (r *Receiver) Spans() []otlptest.Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]otlptest.Span(nil), r.spans...)
}

// Close stops the receiver.
func (r *Receiver) Close() { r.srv.Stop() }
