package webhook_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	admissionv1 "k8s.io/api/admission/v1"

	"github.com/plimsoll/plimsoll/internal/fixtures"
	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/validate"
	"github.com/plimsoll/plimsoll/webhook"
)

// discardWriter is a ResponseWriter that keeps only the byte count, so the
// benchmark measures the handler and not a recorder; while keep is set it
// also keeps the bytes (the first answer, to check the verdict).
type discardWriter struct {
	h    http.Header
	n    int
	keep *bytes.Buffer
}

func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) {
	w.n += len(p)
	if w.keep != nil {
		w.keep.Write(p)
	}
	return len(p), nil
}
func (w *discardWriter) WriteHeader(int) {}

// warmups is how many requests a benchmark of fixture sends before it
// measures.
func warmups(fixture string) int {
	if fixture == fixtures.Pod3000 || fixture == fixtures.Pod30000 {
		return 3
	}
	return 1
}

// verdict is what the handler must answer for a fixture on a path: a
// handler that failed early (an error, a wrong answer) would look faster,
// so each benchmark checks its first answer before it measures.
type verdict struct {
	allowed bool
	patch   bool // a JSONPatch comes back
	warns   bool // warnings come back
}

// wantVerdicts are the answers under the built-in policy. In enforce, a
// Pod CREATE is judged as it arrives (defaulting is the mutating
// webhook's, a separate request), so a bare Pod and the crowds are
// denied; a workload's Pods will be defaulted, so what defaulting fixes
// only warns. /mutate defaults Pods (a patch unless already compliant)
// and leaves workloads alone.
var wantVerdicts = map[string]map[string]verdict{
	"/validate/enforce": {
		fixtures.BarePod:       {allowed: false, warns: true},
		fixtures.CompliantPod:  {allowed: true},
		fixtures.CompliantSent: {allowed: true},
		fixtures.Deployment:    {allowed: true, warns: true},
		fixtures.CronJob:       {allowed: true, warns: true},
		fixtures.Pod50:         {allowed: false, warns: true},
		fixtures.Pod3000:       {allowed: false, warns: true},
		fixtures.Pod30000:      {allowed: false, warns: true},
	},
	"/mutate/enforce": {
		fixtures.BarePod:       {allowed: true, patch: true},
		fixtures.CompliantPod:  {allowed: true},
		fixtures.CompliantSent: {allowed: true},
		fixtures.Deployment:    {allowed: true},
		fixtures.CronJob:       {allowed: true},
		fixtures.Pod50:         {allowed: true, patch: true},
		fixtures.Pod3000:       {allowed: true, patch: true},
		fixtures.Pod30000:      {allowed: true, patch: true},
	},
}

// checkVerdict decodes the handler's answer and fails b unless it is
// want, for the request uid.
func checkVerdict(b *testing.B, answer []byte, uid string, want verdict) {
	b.Helper()
	if os.Getenv("PLIMSOLL_BENCH_BEFORE") != "" {
		// `make bench` runs this on an earlier revision (BENCH_BEFORE) to
		// compare costs; that revision may judge differently, and a change
		// of verdict is what the comparison prices.
		return
	}
	var review admissionv1.AdmissionReview
	if err := json.Unmarshal(answer, &review); err != nil {
		b.Fatalf("the answer is not an AdmissionReview: %v", err)
	}
	r := review.Response
	if r == nil {
		b.Fatal("the answer holds no response")
	}
	if string(r.UID) != uid {
		b.Fatalf("answer for uid %q, want %q", r.UID, uid)
	}
	got := verdict{allowed: r.Allowed, patch: len(r.Patch) > 0, warns: len(r.Warnings) > 0}
	if got != want {
		msg := ""
		if r.Result != nil {
			msg = r.Result.Message
			if len(msg) > 300 {
				msg = msg[:300] + "..."
			}
		}
		b.Fatalf("answered %+v, want %+v (%s)", got, want, msg)
	}
	if !r.Allowed && (r.Result == nil || r.Result.Code != http.StatusForbidden) {
		b.Fatalf("a denial without code 403: %+v", r.Result)
	}
	if r.Allowed && r.Result != nil && r.Result.Code >= 400 {
		b.Fatalf("allowed with status %d: %s", r.Result.Code, r.Result.Message)
	}
}

// BenchmarkHandler serves AdmissionReview bytes in → response bytes out
// through the server's mux, with the whole catalogue, the built-in policy,
// the Prometheus recorder and a JSON logger at info (as `plimsoll serve`
// runs), for /validate/enforce and /mutate/enforce and every fixture,
// after checking the first answer's verdict (wantVerdicts).
func BenchmarkHandler(b *testing.B) {
	var p atomic.Pointer[policy.Policy]
	p.Store(policy.Default())
	h := &webhook.Handler{
		Policy:  &p,
		Rules:   validate.Registry(),
		Log:     slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo})), //nolint:sloglint // the benchmark counts the cost of writing the log line
		Metrics: webhook.NewPrometheusRecorder(prometheus.NewRegistry()),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/mutate/{mode}", h.ServeMutate)
	mux.HandleFunc("/validate/{mode}", h.ServeValidate)
	const uid = "5b0f7f3e-8c1d-4f7a-a1f0-3c9e2d6b4a10"
	for _, path := range []string{"/validate/enforce", "/mutate/enforce"} {
		for _, f := range fixtures.All() {
			want, ok := wantVerdicts[path][f.Name]
			if !ok {
				b.Fatalf("no expected verdict for %s of fixture %s: add it to wantVerdicts", path, f.Name)
			}
			body := f.Review(uid)
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
				// otherwise charge to plimsoll's work. The first warm-up's
				// answer is kept and its verdict checked.
				w.keep = &bytes.Buffer{}
				serve()
				checkVerdict(b, w.keep.Bytes(), uid, want)
				w.keep = nil
				for range warmups(f.Name) - 1 {
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
