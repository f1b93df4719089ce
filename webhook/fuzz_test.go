package webhook_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	"sigs.k8s.io/yaml"

	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/validate"
	"github.com/plimsoll/plimsoll/webhook"
)

// FuzzAdmissionReview sends any body to every endpoint. Invariants: no
// panic; the answer is always a well-formed AdmissionReview; a body that
// is not a valid AdmissionReview is never admitted.
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
	f.Add([]byte(`{`))
	var pol atomic.Pointer[policy.Policy]
	pol.Store(policy.Default())
	h := &webhook.Handler{Policy: &pol, Rules: validate.Registry(), Log: slog.New(slog.NewJSONHandler(io.Discard, nil)), Metrics: &fakeRecorder{}, MaxRequestBytes: 1 << 20}
	mux := http.NewServeMux()
	mux.HandleFunc("/mutate/{mode}", h.ServeMutate)
	mux.HandleFunc("/validate/{mode}", h.ServeValidate)
	f.Fuzz(func(t *testing.T, body []byte) {
		valid := json.Valid(body) && strings.Contains(string(body), `"AdmissionReview"`)
		for _, path := range []string{"/mutate/enforce", "/validate/enforce", "/validate/audit"} {
			req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(string(body)))
			req.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			mux.ServeHTTP(w, req)
			var out admissionv1.AdmissionReview
			if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || out.Response == nil || out.Kind != "AdmissionReview" {
				t.Fatalf("%s: not a well-formed AdmissionReview answer: %s", path, w.Body.String())
			}
			if !valid && out.Response.Allowed {
				t.Fatalf("%s admitted a body that is not an AdmissionReview: %q", path, body)
			}
		}
	})
}
