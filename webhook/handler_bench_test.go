package webhook_test

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/test/bench/fixtures"
	"github.com/plimsoll/plimsoll/validate"
	"github.com/plimsoll/plimsoll/webhook"
)

// discardWriter is a ResponseWriter that keeps only the byte count, so the
// benchmark measures the handler and not a recorder.
type discardWriter struct {
	h http.Header
	n int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { w.n += len(p); return len(p), nil }
func (w *discardWriter) WriteHeader(int)             {}

// warmups is how many requests a benchmark of fixture sends before it
// measures.
func warmups(fixture string) int {
	if fixture == fixtures.Pod3000 || fixture == fixtures.Pod30000 {
		return 3
	}
	return 1
}

// BenchmarkHandler serves AdmissionReview bytes in → response bytes out
// through the server's mux, with the whole catalogue, the built-in policy,
// the Prometheus recorder and a JSON logger at info (as `plimsoll serve`
// runs), for /validate/enforce and /mutate/enforce and every fixture.
func BenchmarkHandler(b *testing.B) {
	var p atomic.Pointer[policy.Policy]
	p.Store(policy.Default())
	h := &webhook.Handler{
		Policy:  &p,
		Rules:   validate.Registry(),
		Log:     slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo})),
		Metrics: webhook.NewPrometheusRecorder(prometheus.NewRegistry()),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/mutate/{mode}", h.ServeMutate)
	mux.HandleFunc("/validate/{mode}", h.ServeValidate)
	for _, path := range []string{"/validate/enforce", "/mutate/enforce"} {
		for _, f := range fixtures.All() {
			body := f.Review("5b0f7f3e-8c1d-4f7a-a1f0-3c9e2d6b4a10")
			b.Run(fmt.Sprintf("%s/%s", path[1:], f.Name), func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(body)))
				rd := bytes.NewReader(body)
				req, _ := http.NewRequest(http.MethodPost, "https://plimsoll.bench"+path, rd)
				req.Header.Set("Content-Type", "application/json")
				w := &discardWriter{h: http.Header{}}
				serve := func() {
					rd.Reset(body)
					req.Body = io.NopCloser(rd)
					req.ContentLength = int64(len(body))
					w.n = 0
					mux.ServeHTTP(w, req)
					if w.n == 0 {
						b.Fatal("no answer")
					}
				}
				// Warm up first, as a server that has been answering is:
				// a Pod of 30,000 containers takes a heap of hundreds of
				// MB, and the first requests pay for the process growing
				// to it, which a benchmark of a handful of them would
				// otherwise charge to plimsoll's work.
				for range warmups(f.Name) {
					serve()
				}
				cpu := fixtures.ProcessCPU()
				for b.Loop() {
					serve()
				}
				fixtures.ReportCPU(b, cpu)
			})
		}
	}
}
