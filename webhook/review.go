package webhook

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	jsonv2 "encoding/json/v2"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"sync"
	"unicode/utf8"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/plimsoll/plimsoll/admission"
)

// DefaultMaxRequestBytes bounds an AdmissionReview body. The API server
// limits an object to 3 MiB; a review carries the object and, on UPDATE,
// the old one, so 7 MiB holds every legitimate request.
const DefaultMaxRequestBytes = 7 << 20

// DefaultMaxInFlight is the default cap on AdmissionReviews judged at once.
// It is sized for the chart's CPU limit of one core: an AdmissionReview
// costs plimsoll well under a millisecond of CPU (docs/performance.md), so
// 256 at once are answered within about a quarter of a second. Past that,
// answers would queue toward the API server's deadline (10s by default)
// while it waited; the excess is answered at once instead.
const DefaultMaxInFlight = 256

const (
	admissionV1      = "admission.k8s.io/v1"
	admissionV1beta1 = "admission.k8s.io/v1beta1"
)

// badRequest is an input error: it is answered with a review that does not
// admit, carrying code and a message for whoever sent the request.
type badRequest struct {
	code int32
	msg  string
	uid  types.UID
	// apiVersion to answer in, once known.
	apiVersion string
}

func (e *badRequest) Error() string { return e.msg }

// readReview reads and decodes an AdmissionReview. A body over limit is
// refused before it is read whole.
func readReview(r *http.Request, limit int64) (*admissionv1.AdmissionReview, error) {
	if r.Method != http.MethodPost {
		return nil, &badRequest{code: http.StatusMethodNotAllowed, msg: fmt.Sprintf("AdmissionReviews must be sent with POST, not %s", r.Method)}
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" { // what the API server sends; else parse
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			return nil, &badRequest{code: http.StatusUnsupportedMediaType, msg: fmt.Sprintf("AdmissionReviews must be sent as Content-Type application/json, not %q", ct)}
		}
	}
	if r.ContentLength > limit {
		return nil, &badRequest{code: http.StatusRequestEntityTooLarge, msg: fmt.Sprintf("AdmissionReview of %d bytes is over the limit of %d bytes", r.ContentLength, limit)}
	}
	buf := getBuffer()
	defer putBuffer(buf)
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength) + bytes.MinRead)
	}
	if _, err := buf.ReadFrom(http.MaxBytesReader(nil, r.Body, limit)); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, &badRequest{code: http.StatusRequestEntityTooLarge, msg: fmt.Sprintf("AdmissionReview is over the limit of %d bytes", limit)}
		}
		return nil, &badRequest{code: http.StatusBadRequest, msg: "could not read the AdmissionReview: " + err.Error()}
	}
	// decodeReview copies out what it keeps (strings, the objects' raw
	// bytes), so the buffer can serve the next request.
	return decodeReview(buf.Bytes())
}

// Request bodies and answers are read and written through pooled buffers:
// at thousands of requests a second, growing a fresh buffer for each is
// garbage the collector has to chase. Buffers that grew past
// maxPooledBuffer (a rare huge object) are left to the collector, so the
// pool never pins much memory.
var bufferPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

const maxPooledBuffer = 256 << 10

func getBuffer() *bytes.Buffer {
	b, ok := bufferPool.Get().(*bytes.Buffer)
	if !ok { // the pool holds only buffers; New makes them
		return new(bytes.Buffer)
	}
	b.Reset()
	return b
}

func putBuffer(b *bytes.Buffer) {
	if b.Cap() <= maxPooledBuffer {
		bufferPool.Put(b)
	}
}

// decodeReview decodes an AdmissionReview of admission.k8s.io/v1 or
// v1beta1 (the two are the same on the wire).
func decodeReview(body []byte) (*admissionv1.AdmissionReview, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, &badRequest{code: http.StatusBadRequest, msg: "the request body is empty: expected an AdmissionReview"}
	}
	// encoding/json/v2 matches field names case-sensitively, as the API
	// server does, refuses a name given twice (the API server never sends
	// one) and refuses invalid UTF-8 (RFC 8259), which encoding/json would
	// quietly turn into U+FFFD, judging an object other than the one sent.
	review := &admissionv1.AdmissionReview{}
	if err := jsonv2.Unmarshal(body, review); err != nil {
		if !utf8.Valid(body) {
			return nil, withUID(body, &badRequest{code: http.StatusBadRequest, msg: "the request body is not valid UTF-8, as JSON must be"})
		}
		return nil, withUID(body, &badRequest{code: http.StatusBadRequest, msg: "the request body is not a valid AdmissionReview: " + err.Error()})
	}
	switch review.APIVersion {
	case admissionV1, admissionV1beta1:
	default:
		return nil, &badRequest{code: http.StatusBadRequest, msg: fmt.Sprintf("expected an AdmissionReview of %s (or v1beta1), not apiVersion %q", admissionV1, review.APIVersion)}
	}
	if review.Kind != "AdmissionReview" {
		return nil, &badRequest{code: http.StatusBadRequest, apiVersion: review.APIVersion, msg: fmt.Sprintf("expected kind AdmissionReview, not %q", review.Kind)}
	}
	if review.Request == nil {
		return nil, &badRequest{code: http.StatusBadRequest, apiVersion: review.APIVersion, msg: "the AdmissionReview has no request"}
	}
	if review.Request.UID == "" {
		return nil, &badRequest{code: http.StatusBadRequest, apiVersion: review.APIVersion, msg: "the AdmissionReview request has no uid"}
	}
	return review, nil
}

// withUID sets br's UID and apiVersion from a body that did not decode, if
// the body still says them, so the answer can name the request.
func withUID(body []byte, br *badRequest) *badRequest {
	var partial struct {
		APIVersion string `json:"apiVersion"`
		Request    *struct {
			UID types.UID `json:"uid"`
		} `json:"request"`
	}
	if json.Unmarshal(body, &partial) == nil && partial.Request != nil {
		br.uid = partial.Request.UID
		if partial.APIVersion == admissionV1beta1 {
			br.apiVersion = admissionV1beta1
		}
	}
	return br
}

// writeReview answers resp in the apiVersion the request used.
func writeReview(w http.ResponseWriter, apiVersion string, resp *admissionv1.AdmissionResponse) {
	if apiVersion == "" {
		apiVersion = admissionV1
	}
	out := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: apiVersion, Kind: "AdmissionReview"},
		Response: resp,
	}
	buf := getBuffer()
	defer putBuffer(buf)
	buf.Grow(1024 + base64.StdEncoding.EncodedLen(len(resp.Patch)))
	if len(resp.Patch) > 0 {
		// The patch goes in as base64, written straight into the answer:
		// the encoder would build it in a buffer of its own first, and a
		// Pod of many containers has a patch of tens of MB. The rest of the
		// answer is encoded as usual, with the patch left out, and the
		// patch is put back in as the last member of "response".
		patch := resp.Patch
		resp.Patch = nil
		_ = json.NewEncoder(buf).Encode(&out)
		resp.Patch = patch
		appendPatch(buf, patch)
	} else {
		_ = json.NewEncoder(buf).Encode(&out)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	_, _ = w.Write(buf.Bytes())
}

// appendPatch adds "patch":"<base64 of patch>" as the last member of the
// response whose review buf holds, encoded and ending in "}}\n": the
// response's closing brace, then the review's. The base64 is written into
// buf as it is made, with nothing in between.
func appendPatch(buf *bytes.Buffer, patch []byte) {
	b := bytes.TrimRight(buf.Bytes(), "\n")
	buf.Truncate(len(b) - 2)
	if b[len(b)-3] != '{' {
		buf.WriteByte(',')
	}
	buf.WriteString(`"patch":"`)
	enc := base64.NewEncoder(base64.StdEncoding, buf)
	_, _ = enc.Write(patch)
	_ = enc.Close()
	buf.WriteString("\"}}\n")
}

// response is the AdmissionResponse that carries answer a to the request
// uid. A denial's details name the object (name, kind) and list its
// causes.
func response(uid types.UID, a admission.Answer, name, kind string) *admissionv1.AdmissionResponse {
	resp := &admissionv1.AdmissionResponse{UID: uid, Allowed: a.Allowed, Warnings: a.Warnings, AuditAnnotations: a.AuditAnnotations}
	switch {
	case !a.Allowed:
		resp.Result = &metav1.Status{Status: metav1.StatusFailure, Code: a.Code, Reason: reasonFor(a.Code), Message: a.Message}
		if a.Code == http.StatusForbidden {
			causes := make([]metav1.StatusCause, len(a.Causes))
			for i, c := range a.Causes {
				causes[i] = metav1.StatusCause{Type: metav1.CauseTypeForbidden, Field: c.Field, Message: c.Message}
			}
			resp.Result.Details = &metav1.StatusDetails{Name: name, Kind: kind, Causes: causes}
		}
	case a.Message != "":
		resp.Result = &metav1.Status{Status: metav1.StatusSuccess, Code: http.StatusOK, Message: a.Message}
	}
	if len(a.Patch) > 0 {
		pt := admissionv1.PatchTypeJSONPatch
		resp.Patch, resp.PatchType = a.Patch, &pt
	}
	return resp
}

func reasonFor(code int32) metav1.StatusReason {
	switch code {
	case http.StatusForbidden:
		return metav1.StatusReasonForbidden
	case http.StatusRequestEntityTooLarge:
		return metav1.StatusReasonRequestEntityTooLarge
	case http.StatusUnsupportedMediaType:
		return metav1.StatusReasonUnsupportedMediaType
	case http.StatusMethodNotAllowed:
		return metav1.StatusReasonMethodNotAllowed
	case http.StatusTooManyRequests:
		return metav1.StatusReasonTooManyRequests
	case http.StatusInternalServerError:
		return metav1.StatusReasonInternalError
	case http.StatusGatewayTimeout:
		return metav1.StatusReasonTimeout
	}
	return metav1.StatusReasonBadRequest
}
