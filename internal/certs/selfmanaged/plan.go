package selfmanaged

import (
	"bytes"
	"crypto/x509"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// The keys of the two Secrets. The CA Secret (--tls-ca-secret-name) holds
// every CA with its key and the bundle; the serving Secret
// (--tls-secret-name) holds the serving certificate and key, the CA
// certificate that signs and the bundle, and never a CA's key: whatever
// reads the serving Secret (a tool checking expiry, a backup, a person
// granted it) cannot sign a certificate the API server would trust.
// tls.crt and tls.key make the serving Secret usable as a
// kubernetes.io/tls Secret by other tools too.
const (
	// KeyCACert and KeyCAKey are the CA that signs the serving
	// certificate; its key only in the CA Secret.
	KeyCACert = "ca.crt"
	KeyCAKey  = "ca.key"
	// KeyNextCACert and KeyNextCAKey are, during a CA rotation, the CA
	// that is already trusted but does not sign yet (CA Secret only).
	KeyNextCACert = "next-ca.crt"
	KeyNextCAKey  = "next-ca.key"
	// KeyCABundle is what the webhook configurations trust: every CA that
	// signs, will sign or has signed a certificate that is still valid.
	KeyCABundle = "ca-bundle.crt"
	// KeyTLSCert and KeyTLSKey are the serving certificate and its key
	// (serving Secret only).
	KeyTLSCert = corev1.TLSCertKey
	KeyTLSKey  = corev1.TLSPrivateKeyKey
)

// caKeys are the keys plimsoll writes in the CA Secret.
var caKeys = []string{KeyCACert, KeyCAKey, KeyNextCACert, KeyNextCAKey, KeyCABundle}

// servingKeys are the keys plimsoll writes in the serving Secret, and
// those it removes from it: before the CA had a Secret of its own, the
// serving Secret held the CA's keys too.
var servingKeys = []string{KeyTLSCert, KeyTLSKey, KeyCACert, KeyCABundle, KeyCAKey, KeyNextCACert, KeyNextCAKey}

// state is what the two Secrets hold, parsed. A part that is missing,
// malformed or inconsistent is nil, and plan replaces it.
type state struct {
	ca, next, serving *keyPair
	bundle            []*x509.Certificate
	// caFromServing says that the CA came from the serving Secret, as an
	// earlier plimsoll kept it there: storing st moves it.
	caFromServing bool
}

// readState parses the CA Secret's and the serving Secret's data (either
// may be nil). The CA Secret's CAs win; a serving Secret written before
// the CA had a Secret of its own still holds the CA's key, which is taken
// from there when the CA Secret holds no CA. The bundle is every
// certificate either Secret says is trusted.
func readState(caData, servingData map[string][]byte) state {
	var st state
	st.ca, st.next = readCAs(caData)
	if st.ca == nil && st.next == nil {
		if st.ca, st.next = readCAs(servingData); st.ca != nil || st.next != nil {
			st.caFromServing = true
		}
	}
	if kp, err := parseKeyPair(servingData[KeyTLSCert], servingData[KeyTLSKey]); err == nil {
		st.serving = kp
	}
	for _, c := range append(parseCerts(caData[KeyCABundle]), parseCerts(servingData[KeyCABundle])...) {
		if !containsCert(st.bundle, c) {
			st.bundle = append(st.bundle, c)
		}
	}
	return st
}

// readCAs parses the current and the next CA of data.
func readCAs(data map[string][]byte) (ca, next *keyPair) {
	if kp, err := parseKeyPair(data[KeyCACert], data[KeyCAKey]); err == nil && kp.cert.IsCA {
		ca = kp
	}
	if kp, err := parseKeyPair(data[KeyNextCACert], data[KeyNextCAKey]); err == nil && kp.cert.IsCA {
		next = kp
	}
	return ca, next
}

// caData is st as the CA Secret's keys; the next CA's keys are absent
// when there is no next CA.
func (st state) caData() map[string][]byte {
	d := map[string][]byte{
		KeyCACert:   st.ca.certPEM,
		KeyCAKey:    st.ca.keyPEM,
		KeyCABundle: encodeCerts(st.bundle),
	}
	if st.next != nil {
		d[KeyNextCACert] = st.next.certPEM
		d[KeyNextCAKey] = st.next.keyPEM
	}
	return d
}

// servingData is st as the serving Secret's keys: no CA key.
func (st state) servingData() map[string][]byte {
	return map[string][]byte{
		KeyTLSCert:  st.serving.certPEM,
		KeyTLSKey:   st.serving.keyPEM,
		KeyCACert:   st.ca.certPEM,
		KeyCABundle: encodeCerts(st.bundle),
	}
}

// differs says whether storing want changes any of keys in have.
func differs(have, want map[string][]byte, keys []string) bool {
	for _, k := range keys {
		w, inWant := want[k]
		h, inHave := have[k]
		if inWant != inHave || !bytes.Equal(w, h) {
			return true
		}
	}
	return false
}

// planInput is what plan needs besides the stored state.
type planInput struct {
	now          time.Time
	caLifetime   time.Duration
	certLifetime time.Duration
	caName       string
	sans         []string
	// nextTrusted says that every webhook configuration that exists
	// already trusts the next CA, so it may start signing.
	nextTrusted bool
}

// plan is the whole rotation policy, a function of the stored state and
// the time. It returns the state to store and why it differs (nothing
// when it does not).
//
//   - The serving certificate is renewed once two thirds of its validity
//     have passed, when the CA that signs changes, and when it does not
//     cover every name wanted; it never outlives its CA.
//   - A CA rotation has two steps. Once two thirds of the CA's validity
//     have passed, a next CA is created and put in the bundle beside the
//     current one; it signs nothing yet. Once five sixths have passed, and
//     every webhook configuration trusts the next CA, it becomes the CA
//     and a serving certificate signed by it is issued. Until the old CA
//     expires the bundle keeps it, so a replica still serving the old
//     certificate is trusted throughout.
//   - A CA leaves the bundle when it expires.
func plan(st state, in planInput) (state, []string, error) {
	now := in.now
	var did []string
	valid := func(kp *keyPair) bool { return kp != nil && now.Before(kp.cert.NotAfter) }

	// Whatever the Secret held and still validates stays trusted.
	var bundle []*x509.Certificate
	for _, c := range append(append([]*x509.Certificate{}, st.bundle...), certOf(st.ca), certOf(st.next)) {
		if c != nil && now.Before(c.NotAfter) && !containsCert(bundle, c) {
			bundle = append(bundle, c)
		}
	}

	if st.next != nil && !valid(st.next) {
		st.next = nil
		did = append(did, "dropped an expired next CA")
	}
	switch {
	case !valid(st.ca) && st.next != nil:
		st.ca, st.next = st.next, nil
		did = append(did, "the CA is missing or expired: the next CA signs from now on")
	case !valid(st.ca):
		ca, err := newCA(now, in.caLifetime, in.caName)
		if err != nil {
			return st, nil, err
		}
		st.ca = ca
		did = append(did, "created a CA")
	case st.next != nil && !now.Before(promoteAt(st.ca.cert)) && in.nextTrusted:
		st.ca, st.next = st.next, nil
		did = append(did, "CA rotation, step 2: the next CA signs from now on; the old one stays trusted until it expires")
	case st.next == nil && !now.Before(renewAt(st.ca.cert)):
		next, err := newCA(now, in.caLifetime, in.caName)
		if err != nil {
			return st, nil, err
		}
		st.next = next
		did = append(did, "CA rotation, step 1: created the next CA and added it to the bundle")
	}
	for _, c := range []*x509.Certificate{st.ca.cert, certOf(st.next)} {
		if c != nil && !containsCert(bundle, c) {
			bundle = append(bundle, c)
		}
	}
	if !bytes.Equal(encodeCerts(bundle), encodeCerts(st.bundle)) && len(did) == 0 {
		did = append(did, "removed expired CAs from the bundle")
	}
	st.bundle = bundle

	var why string
	switch {
	case st.serving == nil:
		why = "issued a serving certificate"
	case st.serving.cert.CheckSignatureFrom(st.ca.cert) != nil:
		why = "issued a serving certificate signed by the current CA"
	case !now.Before(renewAt(st.serving.cert)):
		why = "renewed the serving certificate"
	case !coversSANs(st.serving.cert, in.sans):
		why = "issued a serving certificate for the names wanted"
	}
	if why != "" {
		serving, err := newServing(now, in.certLifetime, st.ca, in.sans)
		if err != nil {
			return st, nil, err
		}
		st.serving = serving
		did = append(did, why)
	}
	return st, did, nil
}

// nextCheck is when plan next has something to do for st, if nothing
// happens before.
func (st state) nextCheck() time.Time {
	t := renewAt(st.serving.cert)
	if st.next == nil {
		t = earliest(t, renewAt(st.ca.cert))
	} else {
		t = earliest(t, promoteAt(st.ca.cert), st.next.cert.NotAfter)
	}
	for _, c := range st.bundle {
		t = earliest(t, c.NotAfter)
	}
	return t
}

func earliest(t time.Time, more ...time.Time) time.Time {
	for _, u := range more {
		if u.Before(t) {
			t = u
		}
	}
	return t
}

func certOf(kp *keyPair) *x509.Certificate {
	if kp == nil {
		return nil
	}
	return kp.cert
}
