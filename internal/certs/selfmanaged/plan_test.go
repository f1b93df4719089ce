package selfmanaged

import (
	"crypto/x509"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

func input(now time.Time) planInput {
	return planInput{
		now: now, caLifetime: 30 * 24 * time.Hour, certLifetime: 7 * 24 * time.Hour, caName: "plimsoll test",
		sans: []string{"plimsoll.plimsoll-system.svc", "plimsoll.plimsoll-system.svc.cluster.local", "127.0.0.1"}, nextTrusted: true,
	}
}

func mustPlan(t *testing.T, st state, in planInput) (state, []string) {
	t.Helper()
	st, did, err := plan(st, in)
	if err != nil {
		t.Fatal(err)
	}
	return st, did
}

// verify checks that the API server, trusting bundle, accepts serving at
// time at for the service's name.
func verify(serving *x509.Certificate, bundle []*x509.Certificate, at time.Time) error {
	roots := x509.NewCertPool()
	for _, c := range bundle {
		roots.AddCert(c)
	}
	_, err := serving.Verify(x509.VerifyOptions{
		Roots: roots, CurrentTime: at, DNSName: "plimsoll.plimsoll-system.svc",
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	return err
}

func TestPlan(t *testing.T) {
	t.Run("an empty Secret gets a CA, a serving certificate for every name, and a bundle of that CA", func(t *testing.T) {
		st, did := mustPlan(t, state{}, input(t0))
		if len(did) == 0 || st.ca == nil || st.serving == nil || st.next != nil {
			t.Fatalf("did %v; ca %v, serving %v, next %v", did, st.ca != nil, st.serving != nil, st.next != nil)
		}
		if len(st.bundle) != 1 || !st.bundle[0].Equal(st.ca.cert) {
			t.Errorf("bundle holds %d certificates, want the CA alone", len(st.bundle))
		}
		if err := verify(st.serving.cert, st.bundle, t0); err != nil {
			t.Error(err)
		}
		if !coversSANs(st.serving.cert, input(t0).sans) {
			t.Errorf("serving certificate covers %v %v", st.serving.cert.DNSNames, st.serving.cert.IPAddresses)
		}
		if got := st.serving.cert.NotAfter.Sub(t0); got != 7*24*time.Hour {
			t.Errorf("serving certificate lives %s after issue, want 168h", got)
		}
	})

	t.Run("what the Secrets hold survives a round trip and needs nothing more", func(t *testing.T) {
		st, _ := mustPlan(t, state{}, input(t0))
		ca, serving := st.caData(), st.servingData()
		again, did := mustPlan(t, readState(ca, serving), input(t0.Add(time.Hour)))
		if len(did) != 0 || differs(ca, again.caData(), caKeys) || differs(serving, again.servingData(), servingKeys) || again.caFromServing {
			t.Errorf("a fresh state was changed: %v", did)
		}
	})

	t.Run("no CA key goes into the serving Secret, not even during a rotation", func(t *testing.T) {
		st, _ := mustPlan(t, state{}, input(t0))
		st, _ = mustPlan(t, st, input(renewAt(st.ca.cert)))
		if st.next == nil {
			t.Fatal("no rotation under way")
		}
		serving := st.servingData()
		for k, v := range serving {
			if strings.Contains(string(v), "PRIVATE KEY") && k != KeyTLSKey {
				t.Errorf("the serving Secret's %s holds a private key", k)
			}
		}
		if string(serving[KeyTLSKey]) != string(st.serving.keyPEM) || string(serving[KeyCACert]) != string(st.ca.certPEM) {
			t.Error("the serving Secret lacks the serving key or the CA's certificate")
		}
		ca := st.caData()
		if string(ca[KeyCAKey]) != string(st.ca.keyPEM) || string(ca[KeyNextCAKey]) != string(st.next.keyPEM) {
			t.Error("the CA Secret lacks a CA's key")
		}
		if _, ok := ca[KeyTLSKey]; ok {
			t.Error("the CA Secret holds the serving key")
		}
	})

	t.Run("a serving Secret of the old layout gives its CA, and says so", func(t *testing.T) {
		old, _ := mustPlan(t, state{}, input(t0))
		legacy := old.servingData()
		for k, v := range old.caData() {
			legacy[k] = v
		}
		for _, caData := range []map[string][]byte{nil, {}} {
			st := readState(caData, legacy)
			if !st.caFromServing || st.ca == nil || !st.ca.cert.Equal(old.ca.cert) || st.serving == nil {
				t.Fatalf("the CA of the old layout was not read: from serving %t", st.caFromServing)
			}
			st, did := mustPlan(t, st, input(t0.Add(time.Hour)))
			if len(did) != 0 || differs(legacy, st.servingData(), []string{KeyTLSCert, KeyTLSKey, KeyCACert, KeyCABundle}) {
				t.Errorf("moving the CA changed what is trusted or served: %v", did)
			}
		}
	})

	t.Run("the serving certificate is renewed after two thirds of its life, by the same CA", func(t *testing.T) {
		st, _ := mustPlan(t, state{}, input(t0))
		first := st.serving.cert
		st, did := mustPlan(t, st, input(renewAt(first).Add(-time.Second)))
		if len(did) != 0 {
			t.Fatalf("renewed too early: %v", did)
		}
		st, did = mustPlan(t, st, input(renewAt(first)))
		if st.serving.cert.Equal(first) || !strings.Contains(strings.Join(did, ";"), "renewed the serving certificate") {
			t.Fatalf("not renewed at two thirds: %v", did)
		}
		if st.serving.cert.CheckSignatureFrom(st.ca.cert) != nil || len(st.bundle) != 1 {
			t.Error("the renewed certificate must come from the same CA, with the same bundle")
		}
		if renewAt(first).Sub(t0) < 4*24*time.Hour || renewAt(first).Sub(t0) > 5*24*time.Hour {
			t.Errorf("a 7-day certificate is renewed after %s", renewAt(first).Sub(t0))
		}
	})

	t.Run("a serving certificate that misses a wanted name is reissued", func(t *testing.T) {
		st, _ := mustPlan(t, state{}, input(t0))
		in := input(t0)
		in.sans = append(in.sans, "plimsoll.example.com")
		st, did := mustPlan(t, st, in)
		if len(did) != 1 || !coversSANs(st.serving.cert, in.sans) {
			t.Errorf("did %v; covers %v", did, st.serving.cert.DNSNames)
		}
	})

	t.Run("a serving certificate never outlives its CA", func(t *testing.T) {
		in := input(t0)
		in.certLifetime = in.caLifetime
		st, _ := mustPlan(t, state{}, in)
		st, _ = mustPlan(t, st, func() planInput { in.now = renewAt(st.serving.cert); return in }())
		if st.serving.cert.NotAfter.After(st.ca.cert.NotAfter) {
			t.Errorf("serving certificate ends %s, after its CA (%s)", st.serving.cert.NotAfter, st.ca.cert.NotAfter)
		}
	})

	t.Run("garbage in the Secret is replaced", func(t *testing.T) {
		st := readState(map[string][]byte{KeyCACert: []byte("nonsense"), KeyCAKey: []byte("x")}, map[string][]byte{KeyTLSCert: []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")})
		st, _ = mustPlan(t, st, input(t0))
		if err := verify(st.serving.cert, st.bundle, t0); err != nil {
			t.Error(err)
		}
	})

	t.Run("a serving certificate and key that do not belong together are replaced", func(t *testing.T) {
		a, _ := mustPlan(t, state{}, input(t0))
		b, _ := mustPlan(t, state{}, input(t0))
		data := a.servingData()
		data[KeyTLSKey] = b.servingData()[KeyTLSKey]
		st, did := mustPlan(t, readState(a.caData(), data), input(t0))
		if len(did) != 1 || !st.ca.cert.Equal(a.ca.cert) {
			t.Errorf("want only the serving certificate reissued, did %v", did)
		}
	})

	t.Run("an expired CA is replaced, and leaves the bundle", func(t *testing.T) {
		st, _ := mustPlan(t, state{}, input(t0))
		old := st.ca.cert
		st, _ = mustPlan(t, st, input(old.NotAfter.Add(time.Hour)))
		if st.ca.cert.Equal(old) || containsCert(st.bundle, old) || len(st.bundle) != 1 {
			t.Errorf("the expired CA is still there")
		}
		if err := verify(st.serving.cert, st.bundle, old.NotAfter.Add(time.Hour)); err != nil {
			t.Error(err)
		}
	})
}

func TestCARotationInTwoSteps(t *testing.T) {
	st, _ := mustPlan(t, state{}, input(t0))
	old := st.ca.cert

	// Step 1: at two thirds, a next CA joins the bundle but signs nothing.
	st, did := mustPlan(t, st, input(renewAt(old)))
	if st.next == nil || !st.ca.cert.Equal(old) || len(st.bundle) != 2 {
		t.Fatalf("step 1 did %v; want the next CA beside the current one", did)
	}
	if st.serving.cert.CheckSignatureFrom(old) != nil {
		t.Error("step 1 must not change the signer of the serving certificate")
	}
	next := st.next.cert

	// Step 2 waits until every webhook configuration trusts the next CA.
	in := input(promoteAt(old))
	in.nextTrusted = false
	st, did = mustPlan(t, st, in)
	if !st.ca.cert.Equal(old) {
		t.Fatalf("promoted before the webhook configurations trust the next CA: %v", did)
	}
	st, did = mustPlan(t, st, input(promoteAt(old)))
	if !st.ca.cert.Equal(next) || st.next != nil || st.serving.cert.CheckSignatureFrom(next) != nil {
		t.Fatalf("step 2 did %v; want the next CA signing", did)
	}
	if !containsCert(st.bundle, old) || !containsCert(st.bundle, next) {
		t.Error("the old CA must stay trusted until it expires")
	}

	// The old CA leaves the bundle when it expires.
	st, _ = mustPlan(t, st, input(old.NotAfter))
	if containsCert(st.bundle, old) || len(st.bundle) != 1 {
		t.Error("the expired CA must leave the bundle")
	}
}

// TestNoCallFailsAcrossRotations walks through three CA lifetimes an hour
// at a time with two replicas, one an hour late in picking up the Secret,
// and an API server an hour late in picking up the bundle: at every step,
// every certificate served verifies against every bundle the API server
// may hold.
func TestNoCallFailsAcrossRotations(t *testing.T) {
	st, _ := mustPlan(t, state{}, input(t0))
	apiBundle := st.bundle     // what the webhook configurations hold
	lagging := st.serving.cert // what the late replica serves
	cas := map[string]bool{}   // CAs that signed
	maxBundle, renewals := 0, 0
	for now := t0; now.Before(t0.Add(3 * 30 * 24 * time.Hour)); now = now.Add(time.Hour) {
		in := input(now)
		// as reconcileOnce decides it, from configurations holding apiBundle
		in.nextTrusted = st.next == nil || trusts(mutatingWith(encodeCerts(apiBundle)), validatingWith(encodeCerts(apiBundle)), st.next.cert.Raw)
		before := st.serving.cert
		st, _ = mustPlan(t, st, in)
		if !st.serving.cert.Equal(before) {
			renewals++
		}
		cas[string(st.ca.cert.Raw)] = true
		for name, c := range map[string]*x509.Certificate{"current": st.serving.cert, "lagging": lagging} {
			for view, bundle := range map[string][]*x509.Certificate{"old": apiBundle, "new": st.bundle} {
				if err := verify(c, bundle, now); err != nil {
					t.Fatalf("%s: the %s certificate fails against the %s bundle: %v", now, name, view, err)
				}
			}
		}
		maxBundle = max(maxBundle, len(st.bundle))
		apiBundle, lagging = st.bundle, st.serving.cert
	}
	if len(cas) < 3 {
		t.Errorf("%d CAs signed over three CA lifetimes, want at least 3", len(cas))
	}
	if maxBundle != 2 {
		t.Errorf("the bundle held up to %d CAs, want 2", maxBundle)
	}
	t.Logf("%d serving certificates and %d CAs over 90 days", renewals+1, len(cas))
}

func TestNextCheckIsTheNextThingToDo(t *testing.T) {
	st, _ := mustPlan(t, state{}, input(t0))
	if got, want := st.nextCheck(), renewAt(st.serving.cert); !got.Equal(want) {
		t.Errorf("next check %s, want the serving certificate's renewal %s", got, want)
	}
	st, _ = mustPlan(t, st, input(renewAt(st.ca.cert)))
	if got := st.nextCheck(); got.After(promoteAt(st.ca.cert)) {
		t.Errorf("next check %s after the promotion at %s", got, promoteAt(st.ca.cert))
	}
}
