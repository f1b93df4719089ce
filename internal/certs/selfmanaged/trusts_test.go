package selfmanaged

import (
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
)

func mutatingWith(bundles ...[]byte) *admissionregistrationv1.MutatingWebhookConfiguration {
	c := &admissionregistrationv1.MutatingWebhookConfiguration{}
	for _, b := range bundles {
		c.Webhooks = append(c.Webhooks, admissionregistrationv1.MutatingWebhook{ClientConfig: admissionregistrationv1.WebhookClientConfig{CABundle: b}})
	}
	return c
}

func validatingWith(bundles ...[]byte) *admissionregistrationv1.ValidatingWebhookConfiguration {
	c := &admissionregistrationv1.ValidatingWebhookConfiguration{}
	for _, b := range bundles {
		c.Webhooks = append(c.Webhooks, admissionregistrationv1.ValidatingWebhook{ClientConfig: admissionregistrationv1.WebhookClientConfig{CABundle: b}})
	}
	return c
}

// TestTrusts pins the check that lets the next CA take over: every
// webhook of every configuration that exists must hold that very
// certificate (not one of the same name) in its caBundle.
func TestTrusts(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	mk := func() *keyPair {
		kp, err := newCA(now, 30*24*time.Hour, "plimsoll")
		if err != nil {
			t.Fatal(err)
		}
		return kp
	}
	cur, next, other := mk(), mk(), mk()
	der := next.cert.Raw
	both := encodeCerts([]*x509.Certificate{cur.cert, next.cert})
	nextFirst := encodeCerts([]*x509.Certificate{next.cert, cur.cert})
	onlyCur := encodeCerts([]*x509.Certificate{cur.cert})
	onlyOther := encodeCerts([]*x509.Certificate{other.cert})
	// The next CA's certificate cut short, and its bytes under another
	// block type: neither is the certificate.
	damaged := append(append([]byte(nil), onlyCur...), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der[:len(der)-10]})...)
	keyBlock := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})

	for _, tt := range []struct {
		name string
		mwc  *admissionregistrationv1.MutatingWebhookConfiguration
		vwc  *admissionregistrationv1.ValidatingWebhookConfiguration
		want bool
	}{
		{"every webhook of both configurations holds it", mutatingWith(both, both), validatingWith(nextFirst), true},
		{"its place in the bundle does not matter", mutatingWith(nextFirst), validatingWith(both), true},
		{"a bundle of the next CA alone", mutatingWith(encodeCerts([]*x509.Certificate{next.cert})), validatingWith(both), true},
		{"one mutating webhook of two lacks it", mutatingWith(both, onlyCur), validatingWith(both), false},
		{"the validating configuration lacks it", mutatingWith(both), validatingWith(onlyCur), false},
		{"the mutating configuration lacks it", mutatingWith(onlyCur), validatingWith(both), false},
		{"a webhook with an empty caBundle", mutatingWith(both), validatingWith(nil), false},
		{"another CA is not the next CA", mutatingWith(onlyOther), validatingWith(onlyOther), false},
		{"a damaged certificate does not count", mutatingWith(damaged), validatingWith(both), false},
		{"a non-CERTIFICATE block with the same bytes does not count", mutatingWith(append(append([]byte(nil), onlyCur...), keyBlock...)), validatingWith(both), false},
		{"only the mutating configuration exists and holds it", mutatingWith(both), nil, true},
		{"only the validating configuration exists and lacks it", nil, validatingWith(onlyCur), false},
		// Nothing to wait for: configurations that do not exist (or have
		// no webhooks) are given the bundle when they are created.
		{"neither configuration exists", nil, nil, true},
		{"configurations without webhooks", mutatingWith(), validatingWith(), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := trusts(tt.mwc, tt.vwc, der); got != tt.want {
				t.Errorf("trusts = %v, want %v", got, tt.want)
			}
		})
	}
}
