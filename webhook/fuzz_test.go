package webhook

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	admissionv1 "k8s.io/api/admission/v1"
	"sigs.k8s.io/yaml"

	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/validate"
)

// FuzzAdmissionReview sends any body to every endpoint. Invariants: no
// panic; the answer is always a well-formed AdmissionReview; a body that
// the handler's own decoder (decodeReview) refuses is never admitted, and
// is answered with that decoder's code and message. (An internal test, so
// that validity is decided by the real decoder, not guessed from the body.)
func FuzzAdmissionReview(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yaml")
	for _, file := range files {
		data, _ := os.ReadFile(file)
		raw, err := yaml.YAMLToJSON(data)
		if err != nil {
			continue
		}
		for _, op := range []string{"CREATE", "UPDATE"} {
			f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"group":"","version":"v1","kind":"Pod"},"operation":"` + op + `","object":` + string(raw) + `,"oldObject":` + string(raw) + `}}`))
		}
	}
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":null}`))
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{}}`))
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","UID":"v"}}`))
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v2","kind":"AdmissionReview","request":{"uid":"u"}}`))
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReviewList","request":{"uid":"u"}}`))
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{"uid":"u","operation":"DELETE"}}`))
	f.Add([]byte(`{`))
	const limit = 1 << 20
	var pol atomic.Pointer[policy.Policy]
	pol.Store(policy.Default())
	h := &Handler{Policy: &pol, Rules: validate.Registry(), Log: slog.New(slog.DiscardHandler), Metrics: NewPrometheusRecorder(prometheus.NewRegistry()), MaxRequestBytes: limit}
	mux := http.NewServeMux()
	mux.HandleFunc("/mutate/{mode}", h.ServeMutate)
	mux.HandleFunc("/validate/{mode}", h.ServeValidate)
	f.Fuzz(func(t *testing.T, body []byte) {
		_, decodeErr := decodeReview(body)
		var refused *badRequest
		if decodeErr != nil && !errors.As(decodeErr, &refused) {
			t.Fatalf("decodeReview returned %T, not a *badRequest: %v", decodeErr, decodeErr)
		}
		for _, path := range []string{"/mutate/enforce", "/validate/enforce", "/validate/audit"} {
			req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(string(body)))
			req.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			mux.ServeHTTP(w, req)
			var out admissionv1.AdmissionReview
			if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || out.Response == nil || out.Kind != "AdmissionReview" {
				t.Fatalf("%s: not a well-formed AdmissionReview answer: %s", path, w.Body.String())
			}
			if refused == nil && len(body) <= limit {
				continue // a valid AdmissionReview: judged, whatever the verdict
			}
			if out.Response.Allowed {
				t.Fatalf("%s admitted a body that is not a valid AdmissionReview (%v): %q", path, decodeErr, body)
			}
			if refused != nil && len(body) <= limit {
				if r := out.Response.Result; r == nil || r.Code != refused.code || r.Message != "plimsoll: "+refused.msg || out.Response.UID != refused.uid {
					t.Fatalf("%s answered %+v, want the decoder's refusal %d %q", path, out.Response.Result, refused.code, refused.msg)
				}
			}
		}
	})
}
