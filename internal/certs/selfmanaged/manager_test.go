package selfmanaged

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/plimsoll/plimsoll/internal/kube/kubetest"
)

const ns = "plimsoll-system"

// newFake returns a clientset that, like the API server, refuses an
// update carrying a stale resourceVersion.
func newFake(objects ...runtime.Object) *fake.Clientset {
	c := fake.NewClientset(objects...)
	var mu sync.Mutex
	rv := 100
	c.PrependReactor("create", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		mu.Lock()
		defer mu.Unlock()
		rv++
		a.(k8stesting.CreateAction).GetObject().(metav1.Object).SetResourceVersion(strconv.Itoa(rv))
		return false, nil, nil
	})
	c.PrependReactor("update", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		u := a.(k8stesting.UpdateAction)
		obj := u.GetObject().(metav1.Object)
		cur, err := c.Tracker().Get(u.GetResource(), u.GetNamespace(), obj.GetName())
		if err != nil {
			return false, nil, nil
		}
		mu.Lock()
		defer mu.Unlock()
		if cur.(metav1.Object).GetResourceVersion() != obj.GetResourceVersion() {
			return true, nil, apierrors.NewConflict(u.GetResource().GroupResource(), obj.GetName(), errors.New("the object has been modified"))
		}
		rv++
		obj.SetResourceVersion(strconv.Itoa(rv))
		return false, nil, nil
	})
	return c
}

// configs are webhook configurations with an empty caBundle, as the chart
// renders them.
func configs(name string) []runtime.Object {
	url := "https://127.0.0.1:9443/x"
	cc := admissionregistrationv1.WebhookClientConfig{URL: &url}
	return []runtime.Object{
		&admissionregistrationv1.MutatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: name, ResourceVersion: "1"},
			Webhooks: []admissionregistrationv1.MutatingWebhook{{Name: "enforce.mutate.plimsoll.dev", ClientConfig: cc}, {Name: "warn.mutate.plimsoll.dev", ClientConfig: cc}}},
		&admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: name, ResourceVersion: "1"},
			Webhooks: []admissionregistrationv1.ValidatingWebhook{{Name: "enforce.validate.plimsoll.dev", ClientConfig: cc}}},
	}
}

func testOptions(t *testing.T) Options {
	dir := t.TempDir()
	o := DefaultOptions()
	o.SecretNamespace = ns
	o.CertFile, o.KeyFile = filepath.Join(dir, "certs", "tls.crt"), filepath.Join(dir, "certs", "tls.key")
	o.ExtraSANs = []string{"127.0.0.1"}
	return o
}

func newManager(t *testing.T, c *fake.Clientset, o Options, now time.Time) *Manager {
	t.Helper()
	m, err := New(o, kubetest.Wrap(c), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	m.now = func() time.Time { return now }
	return m
}

// getSecret returns the serving Secret.
func getSecret(t *testing.T, c *fake.Clientset) *corev1.Secret {
	t.Helper()
	return getSecretNamed(t, c, "plimsoll-tls")
}

// getCASecret returns the CA Secret.
func getCASecret(t *testing.T, c *fake.Clientset) *corev1.Secret {
	t.Helper()
	return getSecretNamed(t, c, "plimsoll-tls-ca")
}

func getSecretNamed(t *testing.T, c *fake.Clientset, name string) *corev1.Secret {
	t.Helper()
	s, err := c.CoreV1().Secrets(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// emptySecret is a Secret as an install creates it for plimsoll to fill
// in: no data, no type but the default.
func emptySecret(name string) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, ResourceVersion: "1"}, Type: corev1.SecretTypeOpaque}
}

// forbidCreate makes the fake refuse to create Secrets, as the API server
// does for the chart's Role.
func forbidCreate(c *fake.Clientset) {
	c.PrependReactor("create", "secrets", func(a k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(a.GetResource().GroupResource(), "", errors.New("the Role grants no create"))
	})
}

// bundles returns every caBundle of both configurations.
func bundles(t *testing.T, c *fake.Clientset) [][]byte {
	t.Helper()
	ctx := context.Background()
	mwc, err := c.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, "plimsoll", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	vwc, err := c.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, "plimsoll", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, w := range mwc.Webhooks {
		out = append(out, w.ClientConfig.CABundle)
	}
	for _, w := range vwc.Webhooks {
		out = append(out, w.ClientConfig.CABundle)
	}
	return out
}

// assertConsistent checks that the files, the Secrets and every caBundle
// agree, that the served certificate verifies against the bundle and is
// signed by the CA Secret's CA, and that no CA key is in the serving
// Secret.
func assertConsistent(t *testing.T, c *fake.Clientset, m *Manager) {
	t.Helper()
	s := getSecret(t, c)
	caS := getCASecret(t, c)
	for _, k := range []string{KeyCAKey, KeyNextCACert, KeyNextCAKey} {
		if _, ok := s.Data[k]; ok {
			t.Errorf("the serving Secret holds %s", k)
		}
	}
	for _, k := range []string{KeyTLSCert, KeyTLSKey} {
		if _, ok := caS.Data[k]; ok {
			t.Errorf("the CA Secret holds %s", k)
		}
	}
	if !bytes.Equal(s.Data[KeyCABundle], caS.Data[KeyCABundle]) || !bytes.Equal(s.Data[KeyCACert], caS.Data[KeyCACert]) {
		t.Error("the serving Secret's CA certificate or bundle differs from the CA Secret's")
	}
	ca, err := parseKeyPair(caS.Data[KeyCACert], caS.Data[KeyCAKey])
	if err != nil {
		t.Fatalf("the CA Secret holds no CA: %v", err)
	}
	certPEM, _ := os.ReadFile(m.opts.CertFile)
	keyPEM, _ := os.ReadFile(m.opts.KeyFile)
	if !bytes.Equal(certPEM, s.Data[KeyTLSCert]) || !bytes.Equal(keyPEM, s.Data[KeyTLSKey]) {
		t.Error("the files differ from the Secret")
	}
	for i, b := range bundles(t, c) {
		if !bytes.Equal(b, s.Data[KeyCABundle]) {
			t.Errorf("caBundle %d differs from the Secret's bundle", i)
		}
	}
	kp, err := parseKeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	if err := verify(kp.cert, parseCerts(s.Data[KeyCABundle]), m.now()); err != nil {
		t.Error(err)
	}
	if err := kp.cert.CheckSignatureFrom(ca.cert); err != nil {
		t.Errorf("the serving certificate is not signed by the CA Secret's CA: %v", err)
	}
	if !m.NotAfter().Equal(kp.cert.NotAfter) {
		t.Errorf("NotAfter() = %s, want %s", m.NotAfter(), kp.cert.NotAfter)
	}
}

func TestStartingWithNoSecret(t *testing.T) {
	c := newFake(configs("plimsoll")...)
	m := newManager(t, c, testOptions(t), t0)
	if m.Ready() == nil {
		t.Fatal("ready before anything happened")
	}
	if _, err := m.reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := m.Ready(); err != nil {
		t.Fatalf("not ready after the first check: %v", err)
	}
	s := getSecret(t, c)
	if s.Type != corev1.SecretTypeTLS || s.Labels["app.kubernetes.io/managed-by"] != "plimsoll" {
		t.Errorf("Secret type %q, labels %v", s.Type, s.Labels)
	}
	for _, k := range []string{KeyCACert, KeyTLSCert, KeyTLSKey, KeyCABundle} {
		if len(s.Data[k]) == 0 {
			t.Errorf("Secret lacks %s", k)
		}
	}
	caS := getCASecret(t, c)
	if caS.Type != corev1.SecretTypeOpaque || caS.Labels["app.kubernetes.io/managed-by"] != "plimsoll" {
		t.Errorf("CA Secret type %q, labels %v", caS.Type, caS.Labels)
	}
	for _, k := range []string{KeyCACert, KeyCAKey, KeyCABundle} {
		if len(caS.Data[k]) == 0 {
			t.Errorf("CA Secret lacks %s", k)
		}
	}
	assertConsistent(t, c, m)
	kp, _ := parseKeyPair(s.Data[KeyTLSCert], s.Data[KeyTLSKey])
	if !coversSANs(kp.cert, []string{"plimsoll.plimsoll-system.svc", "plimsoll.plimsoll-system.svc.cluster.local", "127.0.0.1"}) {
		t.Errorf("names %v %v", kp.cert.DNSNames, kp.cert.IPAddresses)
	}
	if info, err := os.Stat(m.opts.KeyFile); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v, mode %v", err, info.Mode())
	}

	// A second check with nothing due writes nothing.
	c.ClearActions()
	if _, err := m.reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, a := range c.Actions() {
		if a.GetVerb() != "get" {
			t.Errorf("a check with nothing to do did %s %s", a.GetVerb(), a.GetResource().Resource)
		}
	}
}

// The chart and config/ create both Secrets empty so that plimsoll needs
// no right to create Secrets: plimsoll fills them in with updates only,
// keeping keys it does not own.
func TestEmptySecretsGivenByTheInstallAreFilledInWithoutCreate(t *testing.T) {
	serving, ca := emptySecret("plimsoll-tls"), emptySecret("plimsoll-tls-ca")
	serving.Data = map[string][]byte{"other": []byte("kept")}
	c := newFake(append(configs("plimsoll"), serving, ca)...)
	forbidCreate(c)
	m := newManager(t, c, testOptions(t), t0)
	if _, err := m.reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	assertConsistent(t, c, m)
	if string(getSecret(t, c).Data["other"]) != "kept" {
		t.Error("a key plimsoll does not own was dropped")
	}
	for _, a := range c.Actions() {
		if a.GetVerb() == "create" {
			t.Errorf("plimsoll tried to create %s although the install created them", a.GetResource().Resource)
		}
	}
}

// Without the right to create Secrets and with one missing, plimsoll says
// what the install should do.
func TestAMissingSecretWithoutCreateSaysWhatToDo(t *testing.T) {
	c := newFake(append(configs("plimsoll"), emptySecret("plimsoll-tls"))...)
	forbidCreate(c)
	m := newManager(t, c, testOptions(t), t0)
	_, err := m.reconcile(context.Background())
	if err == nil || !strings.Contains(err.Error(), "plimsoll-tls-ca") || !strings.Contains(err.Error(), "create the Secret empty") {
		t.Fatalf("reconcile() = %v, want it to name the CA Secret and say how to provide it", err)
	}
	if m.Ready() == nil {
		t.Error("ready without a CA")
	}
}

// A serving Secret written by a plimsoll that kept the CA's key in it (the
// layout before the CA Secret): the CA moves into the CA Secret, missing or
// created empty by the install, and leaves the serving Secret; the CA, the
// serving certificate and the caBundle stay what they were, so the upgrade
// changes nothing the API server trusts. A rotation in progress (a next
// CA) moves along.
func TestUpgradeMovesTheCAKeyOutOfTheServingSecret(t *testing.T) {
	for _, tc := range []struct {
		name     string
		caSecret bool // the install created the CA Secret empty
		rotating bool
	}{
		{name: "CA Secret created empty by the install", caSecret: true},
		{name: "no CA Secret yet"},
		{name: "during a CA rotation", caSecret: true, rotating: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := planInput{now: t0, caLifetime: DefaultOptions().CALifetime, certLifetime: DefaultOptions().CertLifetime,
				caName: "old", sans: testOptions(t).SANs(), nextTrusted: true}
			old, _ := mustPlan(t, state{}, in)
			now := t0.Add(time.Hour)
			if tc.rotating {
				now = renewAt(old.ca.cert)
				in.now = now
				old, _ = mustPlan(t, old, in)
				if old.next == nil {
					t.Fatal("no next CA")
				}
			}
			// The old layout: every key in the serving Secret.
			legacy := old.servingData()
			maps.Copy(legacy, old.caData())
			legacy["other"] = []byte("kept")
			objs := configs("plimsoll")
			for _, o := range objs {
				switch w := o.(type) {
				case *admissionregistrationv1.MutatingWebhookConfiguration:
					for i := range w.Webhooks {
						w.Webhooks[i].ClientConfig.CABundle = legacy[KeyCABundle]
					}
				case *admissionregistrationv1.ValidatingWebhookConfiguration:
					for i := range w.Webhooks {
						w.Webhooks[i].ClientConfig.CABundle = legacy[KeyCABundle]
					}
				}
			}
			serving := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "plimsoll-tls", Namespace: ns, ResourceVersion: "1"}, Type: corev1.SecretTypeTLS, Data: legacy}
			objs = append(objs, serving)
			if tc.caSecret {
				objs = append(objs, emptySecret("plimsoll-tls-ca"))
			}
			c := newFake(objs...)
			m := newManager(t, c, testOptions(t), now)
			if _, err := m.reconcile(context.Background()); err != nil {
				t.Fatal(err)
			}
			assertConsistent(t, c, m)
			caS, s := getCASecret(t, c), getSecret(t, c)
			for _, k := range []string{KeyCACert, KeyCAKey, KeyCABundle} {
				if !bytes.Equal(caS.Data[k], legacy[k]) {
					t.Errorf("the CA Secret's %s is not the one the serving Secret held", k)
				}
			}
			if tc.rotating && (!bytes.Equal(caS.Data[KeyNextCAKey], legacy[KeyNextCAKey]) || !bytes.Equal(caS.Data[KeyNextCACert], legacy[KeyNextCACert])) {
				t.Error("the next CA did not move into the CA Secret")
			}
			if !bytes.Equal(s.Data[KeyTLSCert], legacy[KeyTLSCert]) || string(s.Data["other"]) != "kept" {
				t.Error("the serving certificate was reissued or a foreign key dropped: the upgrade must change nothing but where the CA is kept")
			}
			for _, a := range c.Actions() {
				if a.GetVerb() == "update" && a.GetResource().Resource != "secrets" {
					t.Errorf("the upgrade rewrote the %s: the caBundle must stay as it was", a.GetResource().Resource)
				}
			}
			// A second check finds nothing to do.
			c.ClearActions()
			if _, err := m.reconcile(context.Background()); err != nil {
				t.Fatal(err)
			}
			for _, a := range c.Actions() {
				if a.GetVerb() != "get" {
					t.Errorf("a check after the move did %s %s", a.GetVerb(), a.GetResource().Resource)
				}
			}
		})
	}
}

// The key leaves the serving Secret only once the CA Secret holds it: when
// writing the CA Secret fails, the serving Secret keeps the key.
func TestAFailedMoveKeepsTheCAKey(t *testing.T) {
	in := planInput{now: t0, caLifetime: DefaultOptions().CALifetime, certLifetime: DefaultOptions().CertLifetime,
		caName: "old", sans: testOptions(t).SANs(), nextTrusted: true}
	old, _ := mustPlan(t, state{}, in)
	legacy := old.servingData()
	maps.Copy(legacy, old.caData())
	c := newFake(append(configs("plimsoll"), emptySecret("plimsoll-tls-ca"),
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "plimsoll-tls", Namespace: ns, ResourceVersion: "1"}, Data: legacy})...)
	c.PrependReactor("update", "secrets", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.(k8stesting.UpdateAction).GetObject().(*corev1.Secret).Name == "plimsoll-tls-ca" {
			return true, nil, apierrors.NewInternalError(errors.New("etcd is having a bad day"))
		}
		return false, nil, nil
	})
	m := newManager(t, c, testOptions(t), t0)
	if _, err := m.reconcile(context.Background()); err == nil {
		t.Fatal("reconcile succeeded although the CA Secret could not be written")
	}
	if !bytes.Equal(getSecret(t, c).Data[KeyCAKey], legacy[KeyCAKey]) {
		t.Error("the CA's key left the serving Secret before the CA Secret held it")
	}
}

// The CA Secret's CA wins over a key left in the serving Secret (an
// interrupted move, or a rollback to a plimsoll of the old layout that made
// a CA of its own there): the key leaves the serving Secret, and every CA
// either Secret trusted stays in the bundle until it expires.
func TestTheCASecretWinsOverAKeyLeftInTheServingSecret(t *testing.T) {
	in := planInput{now: t0, caLifetime: DefaultOptions().CALifetime, certLifetime: DefaultOptions().CertLifetime,
		caName: "x", sans: testOptions(t).SANs(), nextTrusted: true}
	kept, _ := mustPlan(t, state{}, in)
	stray, _ := mustPlan(t, state{}, in)
	legacy := stray.servingData()
	maps.Copy(legacy, stray.caData())
	c := newFake(append(configs("plimsoll"),
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "plimsoll-tls-ca", Namespace: ns, ResourceVersion: "1"}, Data: kept.caData()},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "plimsoll-tls", Namespace: ns, ResourceVersion: "1"}, Data: legacy})...)
	m := newManager(t, c, testOptions(t), t0)
	if _, err := m.reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	assertConsistent(t, c, m)
	caS := getCASecret(t, c)
	if !bytes.Equal(caS.Data[KeyCAKey], kept.ca.keyPEM) {
		t.Error("the CA Secret's CA was replaced")
	}
	bundle := parseCerts(caS.Data[KeyCABundle])
	if !containsCert(bundle, kept.ca.cert) || !containsCert(bundle, stray.ca.cert) {
		t.Error("a CA either Secret trusted left the bundle before it expired")
	}
}

func TestNotReadyUntilBothWebhookConfigurationsExist(t *testing.T) {
	objs := configs("plimsoll")
	c := newFake(objs[0])
	m := newManager(t, c, testOptions(t), t0)
	if _, err := m.reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	err := m.Ready()
	if err == nil || !strings.Contains(err.Error(), "ValidatingWebhookConfiguration plimsoll") {
		t.Fatalf("Ready() = %v, want it to name the missing configuration", err)
	}
	if _, err := c.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(context.Background(),
		objs[1].(*admissionregistrationv1.ValidatingWebhookConfiguration), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := m.Ready(); err != nil {
		t.Fatal(err)
	}
	assertConsistent(t, c, m)
}

func TestAReplicaThatLosesTheRaceReadsAgain(t *testing.T) {
	c := newFake(configs("plimsoll")...)
	a := newManager(t, c, testOptions(t), t0)
	if _, err := a.reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	first := readState(getCASecret(t, c).Data, getSecret(t, c).Data)

	// At renewal time, replica b renews first, between a's read of the
	// Secret and a's update.
	due := renewAt(first.serving.cert)
	a.now = func() time.Time { return due }
	var won state
	interfered := false
	c.PrependReactor("update", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
		if interfered {
			return false, nil, nil
		}
		interfered = true
		cur, _ := c.Tracker().Get(corev1.SchemeGroupVersion.WithResource("secrets"), ns, "plimsoll-tls")
		caCur, _ := c.Tracker().Get(corev1.SchemeGroupVersion.WithResource("secrets"), ns, "plimsoll-tls-ca")
		s := cur.(*corev1.Secret).DeepCopy()
		won, _ = mustPlan(t, readState(caCur.(*corev1.Secret).Data, s.Data), planInput{now: due, caLifetime: a.opts.CALifetime, certLifetime: a.opts.CertLifetime, caName: "b", sans: a.opts.SANs(), nextTrusted: true})
		s.Data = won.servingData()
		s.ResourceVersion += "0"
		if err := c.Tracker().Update(corev1.SchemeGroupVersion.WithResource("secrets"), s, ns); err != nil {
			t.Fatal(err)
		}
		return false, nil, nil // a's update now carries a stale resourceVersion
	})
	if _, err := a.reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !interfered {
		t.Fatal("the race was not staged")
	}
	got := readState(getCASecret(t, c).Data, getSecret(t, c).Data)
	if !got.serving.cert.Equal(won.serving.cert) {
		t.Error("the loser overwrote the winner's certificate")
	}
	assertConsistent(t, c, a)
}

func TestReplicasStartingTogetherAgree(t *testing.T) {
	c := newFake(configs("plimsoll")...)
	var ms []*Manager
	for range 3 {
		ms = append(ms, newManager(t, c, testOptions(t), t0))
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(ms))
	for _, m := range ms {
		wg.Go(func() {
			if _, err := m.reconcile(context.Background()); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, m := range ms {
		assertConsistent(t, c, m)
	}
}

func TestRunRepairsACABundleResetByAnUpgrade(t *testing.T) {
	c := newFake(configs("plimsoll")...)
	m := newManager(t, c, testOptions(t), t0)
	m.now = time.Now
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	waitFor(t, "ready", func() bool { return m.Ready() == nil })

	// helm upgrade renders the configuration again, with an empty caBundle.
	adm := c.AdmissionregistrationV1().ValidatingWebhookConfigurations()
	vwc, err := adm.Get(ctx, "plimsoll", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	vwc.Webhooks[0].ClientConfig.CABundle = nil
	if _, err := adm.Update(ctx, vwc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	want := getSecret(t, c).Data[KeyCABundle]
	waitFor(t, "the caBundle written again", func() bool {
		vwc, err := adm.Get(ctx, "plimsoll", metav1.GetOptions{})
		return err == nil && bytes.Equal(vwc.Webhooks[0].ClientConfig.CABundle, want)
	})
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestOptions(t *testing.T) {
	valid := func() Options {
		o := DefaultOptions()
		o.SecretNamespace, o.CertFile, o.KeyFile = "ns", "/tmp/c/tls.crt", "/tmp/c/tls.key"
		return o
	}
	tests := []struct {
		name string
		edit func(*Options)
		want string
	}{
		{"the defaults with a namespace and files are valid", func(*Options) {}, ""},
		{"a missing namespace names the env variable", func(o *Options) { o.SecretNamespace = "" }, "POD_NAMESPACE"},
		{"missing files are refused", func(o *Options) { o.CertFile = "" }, "--tls-cert-file"},
		{"an empty secret name is refused", func(o *Options) { o.SecretName = "" }, "--tls-secret-name"},
		{"a CA Secret named as the serving Secret is refused", func(o *Options) { o.CASecretName = o.SecretName }, "--tls-ca-secret-name must differ"},
		{"a CA Secret of another name is accepted", func(o *Options) { o.CASecretName = "plimsoll-ca-key" }, ""},
		{"a SAN that is neither name nor address is refused", func(o *Options) { o.ExtraSANs = []string{"not a name"} }, `"not a name"`},
		{"an IP SAN is accepted", func(o *Options) { o.ExtraSANs = []string{"127.0.0.1", "::1", "plimsoll.example.com"} }, ""},
		{"a serving certificate outliving the CA is refused", func(o *Options) { o.CertLifetime = 2 * o.CALifetime }, "lifetimes"},
		{"a lifetime of a second is refused", func(o *Options) { o.CertLifetime = time.Second }, "lifetimes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := valid()
			tt.edit(&o)
			err := o.Validate()
			if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("Validate() = %v, want %q", err, tt.want)
			}
		})
	}
	o := valid()
	if o.CASecret() != "plimsoll-tls-ca" {
		t.Errorf("the CA Secret defaults to %q, want plimsoll-tls-ca", o.CASecret())
	}
	o.ExtraSANs = []string{"127.0.0.1", "ns.example"}
	got := strings.Join(o.SANs(), " ")
	if got != "127.0.0.1 ns.example plimsoll.ns.svc plimsoll.ns.svc.cluster.local" {
		t.Errorf("SANs() = %s", got)
	}
}
