// Package decoders compares the JSON decoders plimsoll could read an
// AdmissionReview and its object with: sigs.k8s.io/json (encoding/json as
// of Go 1.17, case-sensitive, which plimsoll used until Go 1.27),
// encoding/json (implemented on encoding/json/v2 since Go 1.27, as the
// no-op baseline uses it) and encoding/json/v2 (what plimsoll uses now).
//
//	cd test && go test -run '^$' -bench . -benchmem ./bench/decoders/
package decoders

import (
	json1 "encoding/json"
	json2 "encoding/json/v2"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"
	sigsjson "sigs.k8s.io/json"

	"github.com/plimsoll/plimsoll/internal/fixtures"
)

// BenchmarkDecode decodes the review of the Deployment fixture, and the
// Deployment itself, with each decoder.
func BenchmarkDecode(b *testing.B) {
	f := fixtures.Get("deployment-3c-sidecar")
	body := f.Review("x")
	var rv admissionv1.AdmissionReview
	if err := json2.Unmarshal(body, &rv); err != nil {
		b.Fatal(err)
	}
	obj := rv.Request.Object.Raw
	b.Run("review/sigs", func(b *testing.B) {
		for b.Loop() {
			var r admissionv1.AdmissionReview
			_ = sigsjson.UnmarshalCaseSensitivePreserveInts(body, &r)
		}
	})
	b.Run("review/v1", func(b *testing.B) {
		for b.Loop() {
			var r admissionv1.AdmissionReview
			_ = json1.Unmarshal(body, &r)
		}
	})
	b.Run("review/v2", func(b *testing.B) {
		for b.Loop() {
			var r admissionv1.AdmissionReview
			if err := json2.Unmarshal(body, &r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("object/sigs", func(b *testing.B) {
		for b.Loop() {
			var d appsv1.Deployment
			_ = sigsjson.UnmarshalCaseSensitivePreserveInts(obj, &d)
		}
	})
	b.Run("object/v2", func(b *testing.B) {
		for b.Loop() {
			var d appsv1.Deployment
			if err := json2.Unmarshal(obj, &d); err != nil {
				b.Fatal(err)
			}
		}
	})
}
