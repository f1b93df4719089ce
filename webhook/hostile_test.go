package webhook_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/plimsoll/plimsoll/webhook"
)

// countingReader counts what the handler read of a body.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// padded is an AdmissionReview of size bytes: a valid review whose object
// carries a long annotation.
func padded(t *testing.T, size int) []byte {
	t.Helper()
	head := `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u-big","kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},"operation":"CREATE","object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"big","annotations":{"pad":"`
	tail := `"}},"spec":{"containers":[{"name":"a","image":"nginx:1.27"}]}}}}`
	n := size - len(head) - len(tail)
	if n < 0 {
		t.Fatal("size too small")
	}
	return []byte(head + strings.Repeat("x", n) + tail)
}

// manyContainers is a Pod with n untagged containers.
func manyContainers(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"crowd","namespace":"team-a"},"spec":{"containers":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"name":"c%d","image":"nginx","ports":[{"containerPort":%d}]}`, i, 1000+i%50000)
	}
	b.WriteString(`]}}`)
	return []byte(b.String())
}

func TestHostileInput(t *testing.T) {
	privileged := load(t, "pod-privileged.yaml")
	deployment := load(t, "deployment-compliant.yaml")
	const limit = webhook.DefaultMaxRequestBytes

	tests := []struct {
		name string
		// request builds the HTTP request; body counts what was read.
		request func(t *testing.T) (*http.Request, *countingReader)
		// wantAllowed is false for every hostile input but the two
		// legitimate ones at the end that are merely unusual.
		wantAllowed    bool
		wantCode       int32
		wantReason     metav1.StatusReason
		wantUID        types.UID
		wantAPIVersion string
		wantMessage    string
		// maxRead bounds what the handler may read of the body (0: no bound).
		maxRead int64
	}{
		{
			name:        "malformed JSON is refused as a bad request",
			request:     post("/validate/enforce", []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u-1",`)),
			wantCode:    400,
			wantReason:  metav1.StatusReasonBadRequest,
			wantMessage: "plimsoll: the request body is not a valid AdmissionReview: ",
		},
		{
			name:        "a review whose fields have the wrong types is refused with its UID",
			request:     post("/validate/enforce", []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u-types","operation":5,"object":{}}}`)),
			wantCode:    400,
			wantReason:  metav1.StatusReasonBadRequest,
			wantUID:     "u-types",
			wantMessage: "plimsoll: the request body is not a valid AdmissionReview: ",
		},
		{
			name:        "a malformed review is answered in v1 whatever apiVersion it claims",
			request:     post("/validate/enforce", []byte(`{"apiVersion":"evil.example/v9","kind":"AdmissionReview","request":{"uid":"u-evil","operation":5}}`)),
			wantCode:    400,
			wantUID:     "u-evil",
			wantMessage: "plimsoll: the request body is not a valid AdmissionReview: ",
		},
		{
			name:           "a malformed v1beta1 review is answered in v1beta1",
			request:        post("/validate/enforce", []byte(`{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{"uid":"u-beta","operation":5}}`)),
			wantCode:       400,
			wantUID:        "u-beta",
			wantAPIVersion: "admission.k8s.io/v1beta1",
			wantMessage:    "plimsoll: the request body is not a valid AdmissionReview: ",
		},
		{
			name:        "an empty body is refused",
			request:     post("/validate/enforce", nil),
			wantCode:    400,
			wantMessage: "plimsoll: the request body is empty: expected an AdmissionReview",
		},
		{
			name:        "a review whose request is null is refused",
			request:     post("/validate/enforce", []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":null}`)),
			wantCode:    400,
			wantMessage: "plimsoll: the AdmissionReview has no request",
		},
		{
			name:        "a review without a uid is refused",
			request:     post("/mutate/enforce", []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"operation":"CREATE"}}`)),
			wantCode:    400,
			wantMessage: "plimsoll: the AdmissionReview request has no uid",
		},
		{
			name:        "a body of another kind is refused",
			request:     post("/validate/enforce", []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"Pod","request":{"uid":"u-2"}}`)),
			wantCode:    400,
			wantMessage: `plimsoll: expected kind AdmissionReview, not "Pod"`,
		},
		{
			name:        "a CREATE whose object is null is refused on validate",
			request:     postReview("/validate/enforce", reviewOf{op: admissionv1.Create, kind: &metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}, name: "p", namespace: "team-a"}),
			wantCode:    400,
			wantUID:     testUID,
			wantMessage: "plimsoll: the request carries no object to judge",
		},
		{
			name:        "a CREATE whose object is null is refused on mutate",
			request:     postReview("/mutate/enforce", reviewOf{op: admissionv1.Create, kind: &metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}, name: "p", namespace: "team-a"}),
			wantCode:    400,
			wantUID:     testUID,
			wantMessage: "plimsoll: the request carries no object to default",
		},
		{
			name: "a body of 8 MiB with its length announced is refused before it is read",
			request: func(t *testing.T) (*http.Request, *countingReader) {
				body := &countingReader{r: bytes.NewReader(padded(t, 8<<20))}
				r := httptest.NewRequest(http.MethodPost, "/validate/enforce", body)
				r.Header.Set("Content-Type", "application/json")
				r.ContentLength = 8 << 20
				return r, body
			},
			wantCode:    413,
			wantReason:  metav1.StatusReasonRequestEntityTooLarge,
			wantMessage: fmt.Sprintf("plimsoll: AdmissionReview of %d bytes is over the limit of %d bytes", 8<<20, limit),
			maxRead:     -1, // nothing at all
		},
		{
			name: "a chunked body over the limit is refused once the limit is read",
			request: func(t *testing.T) (*http.Request, *countingReader) {
				body := &countingReader{r: bytes.NewReader(padded(t, 8<<20))}
				r := httptest.NewRequest(http.MethodPost, "/validate/enforce", body)
				r.Header.Set("Content-Type", "application/json")
				r.ContentLength = -1
				r.TransferEncoding = []string{"chunked"}
				return r, body
			},
			wantCode:    413,
			wantReason:  metav1.StatusReasonRequestEntityTooLarge,
			wantMessage: fmt.Sprintf("plimsoll: AdmissionReview is over the limit of %d bytes", limit),
			maxRead:     limit + 1,
		},
		{
			name: "a body in another Content-Type is refused",
			request: func(t *testing.T) (*http.Request, *countingReader) {
				r := httptest.NewRequest(http.MethodPost, "/validate/enforce", bytes.NewReader(create(deployment).body(t)))
				r.Header.Set("Content-Type", "application/yaml")
				return r, nil
			},
			wantCode:    415,
			wantReason:  metav1.StatusReasonUnsupportedMediaType,
			wantMessage: `plimsoll: AdmissionReviews must be sent as Content-Type application/json, not "application/yaml"`,
		},
		{
			name: "a GET is refused",
			request: func(t *testing.T) (*http.Request, *countingReader) {
				return httptest.NewRequest(http.MethodGet, "/validate/enforce", nil), nil
			},
			wantCode:    405,
			wantReason:  metav1.StatusReasonMethodNotAllowed,
			wantMessage: "plimsoll: AdmissionReviews must be sent with POST, not GET",
		},
		{
			name:           "another apiVersion of AdmissionReview is refused, in v1",
			request:        postReview("/validate/enforce", reviewOf{apiVersion: "admission.k8s.io/v2", object: deployment}),
			wantCode:       400,
			wantAPIVersion: "admission.k8s.io/v1",
			wantMessage:    `plimsoll: expected an AdmissionReview of admission.k8s.io/v1 (or v1beta1), not apiVersion "admission.k8s.io/v2"`,
		},
		{
			name:        "an object whose kind disagrees with request.kind is refused on validate",
			request:     postReview("/validate/enforce", reviewOf{op: admissionv1.Create, kind: &metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}, object: deployment}),
			wantCode:    400,
			wantUID:     testUID,
			wantMessage: "plimsoll: the object is apps/v1 Deployment but the request says v1 Pod",
		},
		{
			name:        "an object whose kind disagrees with request.kind is refused on mutate",
			request:     postReview("/mutate/enforce", reviewOf{op: admissionv1.Create, kind: &metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}, object: deployment}),
			wantCode:    400,
			wantUID:     testUID,
			wantMessage: "plimsoll: the object is apps/v1 Deployment but the request says v1 Pod",
		},
		{
			name:        "the path of mode off is not served",
			request:     postReview("/validate/off", create(privileged)),
			wantCode:    404,
			wantUID:     testUID,
			wantMessage: `plimsoll: unknown mode "off": plimsoll serves enforce, warn and audit`,
		},
		{
			name:        "an unknown mode is not served",
			request:     postReview("/mutate/bogus", create(privileged)),
			wantCode:    404,
			wantUID:     testUID,
			wantMessage: `plimsoll: unknown mode "bogus": plimsoll serves enforce, warn and audit`,
		},
		{
			name: "invalid UTF-8 in a string field is refused, with the UID",
			request: post("/validate/enforce", bytes.Replace(create(load(t, "deployment-compliant.yaml")).body(t),
				[]byte("example.com/web:1.4.2"), []byte("example.com/web:1.4.2\xff\xfe"), 1)),
			wantCode:    400,
			wantUID:     testUID,
			wantMessage: "plimsoll: the request body is not valid UTF-8",
		},
		{
			// The API server never sends one; a body that does is not
			// from it, and no reading of it is safe to judge.
			name: "a field given twice is refused, not read either way",
			request: post("/validate/enforce", bytes.Replace(create(deployment).body(t),
				[]byte(`"image":"example.com/web:1.4.2"`), []byte(`"image":"example.com/web:1.4.2","image":"nginx"`), 1)),
			wantCode:    400,
			wantUID:     testUID,
			wantMessage: "plimsoll: the request body is not a valid AdmissionReview: ",
		},
		{
			// As the API server reads it: "Privileged" is not a field.
			name: "field names are matched case-sensitively",
			request: post("/validate/enforce", bytes.Replace(create(deployment).body(t),
				[]byte(`"securityContext":{`), []byte(`"securityContext":{"Privileged":true,`), 2)),
			wantAllowed: true,
			wantUID:     testUID,
		},
		{
			name: "JSON nested 100000 deep inside the object is refused",
			request: post("/validate/enforce", bytes.Replace(create(load(t, "pod-bare-nginx.yaml")).body(t),
				[]byte(`"spec":{`), []byte(`"spec":{"futureField":`+strings.Repeat("[", 100000)+strings.Repeat("]", 100000)+`,`), 1)),
			wantCode:    400,
			wantMessage: "plimsoll: the request body is not a valid AdmissionReview: ",
		},
		{
			name:        "a Pod with 10,000 containers is judged, not crashed on",
			request:     postReview("/validate/enforce", create(manyContainers(10000))),
			wantCode:    403,
			wantReason:  metav1.StatusReasonForbidden,
			wantUID:     testUID,
			wantMessage: `plimsoll denied Pod "crowd" in namespace "team-a": 70000 violations of enforced rules:` + "\n" + `[cpu-limits] container "c0" has no cpu limit`,
		},
		{
			name:           "a v1beta1 review is judged and answered in v1beta1",
			request:        postReview("/validate/enforce", reviewOf{apiVersion: "admission.k8s.io/v1beta1", op: admissionv1.Create, object: privileged}),
			wantCode:       403,
			wantReason:     metav1.StatusReasonForbidden,
			wantUID:        testUID,
			wantAPIVersion: "admission.k8s.io/v1beta1",
			wantMessage:    `plimsoll denied Pod "debug-tools" in namespace "team-a": 12 violations of enforced rules:`,
		},
		{
			name:        "a Pod with 10,000 containers is defaulted, not crashed on",
			request:     postReview("/mutate/enforce", create(manyContainers(10000))),
			wantAllowed: true,
			wantUID:     testUID,
		},
	}
	f := newFixture(t)
	good := create(deployment).body(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, body := tt.request(t)
			a := f.do(t, req)
			wantAPIVersion := tt.wantAPIVersion
			if wantAPIVersion == "" {
				wantAPIVersion = "admission.k8s.io/v1"
			}
			if a.apiVersion != wantAPIVersion {
				t.Errorf("answered in %q, want %q", a.apiVersion, wantAPIVersion)
			}
			r := a.resp
			if r.Allowed != tt.wantAllowed {
				t.Errorf("allowed %v, want %v", r.Allowed, tt.wantAllowed)
			}
			if r.UID != tt.wantUID {
				t.Errorf("uid %q, want %q", r.UID, tt.wantUID)
			}
			if a.code() != tt.wantCode {
				t.Errorf("code %d, want %d (%.300s)", a.code(), tt.wantCode, a.message())
			}
			if !r.Allowed {
				wantReason := tt.wantReason
				if wantReason == "" {
					wantReason = metav1.StatusReasonBadRequest
				}
				if r.Result.Reason != wantReason || r.Result.Status != metav1.StatusFailure {
					t.Errorf("status %q reason %q, want Failure and %q", r.Result.Status, r.Result.Reason, wantReason)
				}
				if r.Patch != nil {
					t.Errorf("a refusal carries a patch")
				}
			}
			if !strings.HasPrefix(a.message(), tt.wantMessage) {
				t.Errorf("message %.400q, want it to start with %q", a.message(), tt.wantMessage)
			}
			switch {
			case tt.maxRead < 0 && body.n > 0:
				t.Errorf("read %d bytes of a body refused for its announced length", body.n)
			case tt.maxRead > 0 && body.n > tt.maxRead:
				t.Errorf("read %d bytes, more than the limit of %d", body.n, tt.maxRead)
			}

			// The handler keeps serving.
			if next := f.send(t, "/validate/enforce", good); !next.resp.Allowed {
				t.Fatalf("the request after %q was refused: %s", tt.name, next.message())
			}
		})
	}
}

// post returns a request builder posting body as application/json.
func post(path string, body []byte) func(*testing.T) (*http.Request, *countingReader) {
	return func(*testing.T) (*http.Request, *countingReader) {
		c := &countingReader{r: bytes.NewReader(body)}
		r := httptest.NewRequest(http.MethodPost, path, c)
		r.Header.Set("Content-Type", "application/json")
		return r, c
	}
}

// postReview returns a request builder posting the review r.
func postReview(path string, r reviewOf) func(*testing.T) (*http.Request, *countingReader) {
	return func(t *testing.T) (*http.Request, *countingReader) {
		return post(path, r.body(t))(t)
	}
}

func TestAContentTypeWithParametersIsAccepted(t *testing.T) {
	f := newFixture(t)
	r := httptest.NewRequest(http.MethodPost, "/validate/enforce", bytes.NewReader(create(load(t, "deployment-compliant.yaml")).body(t)))
	r.Header.Set("Content-Type", "application/json; charset=utf-8")
	if a := f.do(t, r); !a.resp.Allowed {
		t.Fatalf("refused: %s", a.message())
	}
}

func TestALowerLimitIsHonoured(t *testing.T) {
	f := newFixture(t)
	f.h.MaxRequestBytes = 1024
	body := create(load(t, "deployment-compliant.yaml")).body(t)
	if len(body) <= 1024 {
		t.Fatalf("the fixture is only %d bytes", len(body))
	}
	a := f.send(t, "/validate/enforce", body)
	if a.resp.Allowed || a.code() != 413 {
		t.Fatalf("allowed=%v code=%d, want refused with 413", a.resp.Allowed, a.code())
	}
}
