package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/plimsoll/plimsoll/internal/certs/selfmanaged"
	"github.com/plimsoll/plimsoll/test/chart"
	"github.com/plimsoll/plimsoll/test/harness"
)

// TestSelfManagedTLS runs a second plimsoll with --tls-self-managed against
// webhook configurations of its own, with an empty caBundle, that select
// only a namespace labelled plimsoll-e2e=selfmanaged. Starting with no
// Secret, plimsoll must create the CA Secret and the serving Secret (the
// CA's key in the first only), write the caBundle and be called by the API
// server; then, with lifetimes of seconds, the serving certificate and the
// CA rotate while clients keep creating Pods, no call may fail, and no CA
// key ever shows in the serving Secret.
func TestSelfManagedTLS(t *testing.T) {
	const (
		name       = "plimsoll-selfmanaged"
		systemNS   = "plimsoll-selfmanaged-system"
		secretName = "plimsoll-selfmanaged-tls"
		// The default of --tls-ca-secret-name: <--tls-secret-name>-ca.
		caSecretName = secretName + "-ca"
		teamNS       = "team-selfmanaged"
		label        = "plimsoll-e2e"
		// With these lifetimes the serving certificate is renewed about every
		// 6s; the next CA joins the bundle about 15s after the first CA is
		// created, signs from about 20s, and the old CA expires at 24s.
		certLifetime = 9 * time.Second
		caLifetime   = 24 * time.Second
	)
	ctx := context.Background()
	client := env.Client
	for _, ns := range []*corev1.Namespace{
		{ObjectMeta: metav1.ObjectMeta{Name: systemNS}},
		{ObjectMeta: metav1.ObjectMeta{Name: teamNS, Labels: map[string]string{label: "selfmanaged"}}},
	} {
		if _, err := client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range []string{secretName, caSecretName} {
		if _, err := client.CoreV1().Secrets(systemNS).Get(ctx, s, metav1.GetOptions{}); err == nil {
			t.Fatalf("the Secret %s must not exist before plimsoll starts", s)
		}
	}

	// The enforce entries of the configurations the chart renders, calling
	// the second server, with an empty caBundle and a selector of their own.
	port, err := harness.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	mwc, vwc, err := chart.Webhooks(chart.WebhookValues{Name: name, Namespace: systemNS},
		chart.URLClientConfig(fmt.Sprintf("127.0.0.1:%d", port), nil))
	if err != nil {
		t.Fatal(err)
	}
	selector := &metav1.LabelSelector{MatchLabels: map[string]string{label: "selfmanaged"}}
	mwc.Webhooks = mwc.Webhooks[:1]
	vwc.Webhooks = vwc.Webhooks[:1]
	if !strings.HasPrefix(mwc.Webhooks[0].Name, "enforce.") || !strings.HasPrefix(vwc.Webhooks[0].Name, "enforce.") {
		t.Fatalf("expected the enforce entries first, got %s and %s", mwc.Webhooks[0].Name, vwc.Webhooks[0].Name)
	}
	mwc.Webhooks[0].Name, mwc.Webhooks[0].NamespaceSelector = "enforce.mutate.selfmanaged.e2e.plimsoll.dev", selector
	vwc.Webhooks[0].Name, vwc.Webhooks[0].NamespaceSelector = "enforce.validate.selfmanaged.e2e.plimsoll.dev", selector
	adm := client.AdmissionregistrationV1()
	if _, err := adm.MutatingWebhookConfigurations().Create(ctx, mwc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := adm.ValidatingWebhookConfigurations().Create(ctx, vwc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = adm.MutatingWebhookConfigurations().Delete(ctx, name, metav1.DeleteOptions{})
		_ = adm.ValidatingWebhookConfigurations().Delete(ctx, name, metav1.DeleteOptions{})
	})

	dir := t.TempDir()
	kubeconfig := writeKubeconfig(t, env.Config, filepath.Join(dir, "kubeconfig"))
	started := time.Now()
	p, err := harness.StartPlimsollOn(ctx, port, filepath.Join(env.BinDir, "plimsoll"), filepath.Join(env.Dir, name+".log"),
		"--tls-self-managed", "--kubeconfig", kubeconfig,
		"--tls-secret-name", secretName, "--tls-secret-namespace", systemNS,
		"--webhook-config-name", name, "--tls-service-name", "plimsoll", "--tls-extra-san", "127.0.0.1",
		"--tls-cert-file", filepath.Join(dir, "certs", "tls.crt"), "--tls-key-file", filepath.Join(dir, "certs", "tls.key"),
		"--tls-cert-lifetime", certLifetime.String(), "--tls-ca-lifetime", caLifetime.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = p.Stop()
		if t.Failed() {
			t.Logf("the self-managed plimsoll's log:\n%s", p.Log())
		}
	})
	t.Logf("ready %s after start", time.Since(started).Round(time.Millisecond))

	// Ready means: both Secrets exist, the CA's key in the CA Secret only,
	// and both caBundles hold the bundle.
	secret, err := client.CoreV1().Secrets(systemNS).Get(ctx, secretName, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("plimsoll is ready but its Secret is not there: %v", err)
	}
	caSecret, err := client.CoreV1().Secrets(systemNS).Get(ctx, caSecretName, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("plimsoll is ready but its CA Secret is not there: %v", err)
	}
	for _, k := range []string{selfmanaged.KeyCACert, selfmanaged.KeyTLSCert, selfmanaged.KeyTLSKey, selfmanaged.KeyCABundle} {
		if len(secret.Data[k]) == 0 {
			t.Errorf("the Secret lacks %s", k)
		}
	}
	for _, k := range []string{selfmanaged.KeyCACert, selfmanaged.KeyCAKey, selfmanaged.KeyCABundle} {
		if len(caSecret.Data[k]) == 0 {
			t.Errorf("the CA Secret lacks %s", k)
		}
	}
	caKeyInServing := func(s *corev1.Secret) string {
		for _, k := range []string{selfmanaged.KeyCAKey, selfmanaged.KeyNextCAKey} {
			if _, ok := s.Data[k]; ok {
				return k
			}
		}
		return ""
	}
	if k := caKeyInServing(secret); k != "" {
		t.Errorf("the serving Secret holds the CA's %s", k)
	}
	firstCA := parsePEM(t, caSecret.Data[selfmanaged.KeyCACert])[0]
	for what, bundle := range caBundles(t, ctx) {
		if len(bundle) == 0 || !bytes.Equal(bundle, secret.Data[selfmanaged.KeyCABundle]) {
			t.Errorf("%s: caBundle does not hold the Secret's bundle", what)
		}
	}

	// The API server calls plimsoll with the caBundle it wrote.
	bare := func(n int) *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p%d", n), Namespace: teamNS},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "registry.k8s.io/pause:3.10"}}},
		}
	}
	privileged := func(n int) *corev1.Pod {
		pod := bare(n)
		pod.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: ptr(true)}
		return pod
	}
	dryRun := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}
	// check returns "" if the API server gave the verdict plimsoll gives.
	check := func(n int) string {
		if n%2 == 0 {
			got, err := client.CoreV1().Pods(teamNS).Create(ctx, bare(n), dryRun)
			switch {
			case err != nil:
				return "bare Pod: " + err.Error()
			case got.Annotations["plimsoll.dev/mutations"] == "":
				return "bare Pod admitted without defaults"
			}
			return ""
		}
		_, err := client.CoreV1().Pods(teamNS).Create(ctx, privileged(n), dryRun)
		switch {
		case err == nil:
			return "privileged Pod admitted"
		case !strings.Contains(err.Error(), "plimsoll denied"):
			return "privileged Pod: " + err.Error()
		}
		return ""
	}
	// The API server learns of the caBundle through its informer: allow it
	// a moment.
	deadline := time.Now().Add(10 * time.Second)
	for n := 0; ; n++ {
		a, b := check(2*n), check(2*n+1)
		if a == "" && b == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the API server does not call the self-managed plimsoll: %s; %s", a, b)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Rotations under load: until the first CA has expired, two clients
	// create dry-run Pods without pause while an observer records which
	// certificates the Secret holds and plimsoll serves, verifying each
	// handshake against the caBundle the webhook configuration holds.
	until := firstCA.NotAfter.Add(time.Second)
	var calls, failures atomic.Int64
	var mu sync.Mutex
	var errs []string
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			for n := w; time.Now().Before(until); n += 2 {
				calls.Add(1)
				if msg := check(n); msg != "" {
					failures.Add(1)
					mu.Lock()
					if len(errs) < 5 {
						errs = append(errs, time.Now().Format("15:04:05.000")+" "+msg)
					}
					mu.Unlock()
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
	served := map[string]bool{}    // serving certificates seen on the wire
	signers := map[string]bool{}   // their issuers
	secretCAs := map[string]bool{} // CAs the CA Secret named as signer
	sawNext := false               // the CA Secret held a next CA
	maxBundle, handshakes, handshakeFailures := 0, 0, 0
	for time.Now().Before(until) {
		if s, err := client.CoreV1().Secrets(systemNS).Get(ctx, caSecretName, metav1.GetOptions{}); err == nil {
			secretCAs[string(s.Data[selfmanaged.KeyCACert])] = true
			sawNext = sawNext || len(s.Data[selfmanaged.KeyNextCAKey]) > 0
		}
		if s, err := client.CoreV1().Secrets(systemNS).Get(ctx, secretName, metav1.GetOptions{}); err == nil {
			if k := caKeyInServing(s); k != "" {
				t.Errorf("during the rotation, the serving Secret held the CA's %s", k)
			}
		}
		vwc, err := adm.ValidatingWebhookConfigurations().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		bundle := vwc.Webhooks[0].ClientConfig.CABundle
		maxBundle = max(maxBundle, len(parsePEM(t, bundle)))
		roots := x509.NewCertPool()
		roots.AppendCertsFromPEM(bundle)
		handshakes++
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 3 * time.Second}, "tcp", fmt.Sprintf("127.0.0.1:%d", port),
			&tls.Config{RootCAs: roots, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12})
		if err != nil {
			handshakeFailures++
			t.Errorf("handshake against the configuration's caBundle: %v", err)
		} else {
			leaf := conn.ConnectionState().PeerCertificates[0]
			served[leaf.SerialNumber.String()] = true
			signers[string(leaf.AuthorityKeyId)] = true
			conn.Close()
		}
		time.Sleep(250 * time.Millisecond)
	}
	wg.Wait()

	t.Logf("over %s: %d admission calls, %d failed; %d serving certificates served, signed by %d CAs; the Secret named %d signing CAs; the caBundle held up to %d CAs; %d handshakes verified against it, %d failed",
		time.Since(started).Round(time.Second), calls.Load(), failures.Load(), len(served), len(signers), len(secretCAs), maxBundle, handshakes, handshakeFailures)
	if failures.Load() > 0 {
		t.Errorf("%d of %d calls failed across the rotation; first ones:\n%s", failures.Load(), calls.Load(), strings.Join(errs, "\n"))
	}
	if calls.Load() < 100 {
		t.Errorf("only %d calls were made across the rotation", calls.Load())
	}
	if len(served) < 3 || len(signers) < 2 || len(secretCAs) < 2 {
		t.Errorf("want the serving certificate renewed at least twice and the CA rotated once; saw %d certificates, %d signers on the wire, %d CAs in the Secret", len(served), len(signers), len(secretCAs))
	}
	if !sawNext {
		t.Error("the CA Secret never held the next CA during the rotation")
	}
	if maxBundle != 2 {
		t.Errorf("the caBundle held up to %d CAs; during a CA rotation it must hold the old and the new", maxBundle)
	}
	// Every rotation went through cleanly: no error logged, and the
	// certificate watcher never read a certificate without its key.
	var errorLines []string
	for _, line := range strings.Split(p.Log(), "\n") {
		if strings.Contains(line, `"level":"ERROR"`) {
			errorLines = append(errorLines, line)
		}
	}
	if len(errorLines) > 0 {
		t.Errorf("the self-managed plimsoll logged %d errors, the first: %s", len(errorLines), errorLines[0])
	}
	// The first CA has expired: it must have left the bundle.
	for what, bundle := range caBundles(t, ctx) {
		for _, c := range parsePEM(t, bundle) {
			if c.Equal(firstCA) {
				t.Errorf("%s: the expired first CA is still in the caBundle", what)
			}
		}
	}
}

// caBundles returns the caBundle of each webhook of the self-managed
// configurations.
func caBundles(t *testing.T, ctx context.Context) map[string][]byte {
	t.Helper()
	adm := env.Client.AdmissionregistrationV1()
	out := map[string][]byte{}
	mwc, err := adm.MutatingWebhookConfigurations().Get(ctx, "plimsoll-selfmanaged", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range mwc.Webhooks {
		out["MutatingWebhookConfiguration "+w.Name] = w.ClientConfig.CABundle
	}
	vwc, err := adm.ValidatingWebhookConfigurations().Get(ctx, "plimsoll-selfmanaged", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range vwc.Webhooks {
		out["ValidatingWebhookConfiguration "+w.Name] = w.ClientConfig.CABundle
	}
	return out
}

func parsePEM(t *testing.T, data []byte) []*x509.Certificate {
	t.Helper()
	var out []*x509.Certificate
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return out
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
}

// writeKubeconfig writes cfg (the test API server's admin) as a kubeconfig
// file, as an operator would hand one to plimsoll outside a cluster.
func writeKubeconfig(t *testing.T, cfg *rest.Config, path string) string {
	t.Helper()
	server := cfg.Host
	if !strings.Contains(server, "://") {
		server = "https://" + server
	}
	kc := clientcmdapi.NewConfig()
	kc.Clusters["e2e"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["e2e"] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData, Token: cfg.BearerToken}
	kc.Contexts["e2e"] = &clientcmdapi.Context{Cluster: "e2e", AuthInfo: "e2e"}
	kc.CurrentContext = "e2e"
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestChartKeepsTheServingSecretOfAnEarlierPlimsoll installs the chart,
// with Helm 3 and Helm 4, where a plimsoll of the earlier layout already
// created its serving Secret (holding the CA's key too, not owned by Helm):
// the chart must not claim that Secret, which Helm would refuse ("invalid
// ownership metadata") and whose data it must not touch, but still create
// the CA Secret empty for plimsoll to move the key into; an upgrade goes
// through the same way.
func TestChartKeepsTheServingSecretOfAnEarlierPlimsoll(t *testing.T) {
	dir, err := chart.Dir()
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig := chartKubeconfig(t)
	for _, major := range chart.HelmMajors {
		t.Run(fmt.Sprintf("helm%d", major), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			release := fmt.Sprintf("earlier%d", major)
			ns, fullname := release+"-system", release+"-plimsoll"
			if err := env.CreateNamespace(ctx, ns, ""); err != nil {
				t.Fatal(err)
			}
			secrets := env.Client.CoreV1().Secrets(ns)
			// As the earlier plimsoll created it: every key in one Secret.
			earlier := &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Name: fullname + "-tls", Namespace: ns,
					Labels: map[string]string{"app.kubernetes.io/managed-by": "plimsoll", "app.kubernetes.io/component": "webhook-tls"}},
				Type: corev1.SecretTypeTLS,
				Data: map[string][]byte{"tls.crt": []byte("c"), "tls.key": []byte("k"), "ca.crt": []byte("ca"), "ca.key": []byte("ca-key"), "ca-bundle.crt": []byte("b")},
			}
			if _, err := secrets.Create(ctx, earlier, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			flags := []string{dir, "--kubeconfig", kubeconfig, "--namespace", ns, "--timeout", "60s",
				"--set", "webhook.failurePolicy.enforce=Ignore", "--set", "webhook.timeoutSeconds=1"}
			if _, err := chart.HelmOf(major, nil, append([]string{"install", release}, flags...)...); err != nil {
				t.Fatalf("helm install over the earlier plimsoll's Secret: %v", err)
			}
			t.Cleanup(func() {
				hookDone := completeHookJob(context.Background(), t, ns, fullname+"-cleanup")
				if _, err := chart.HelmOf(major, nil, "uninstall", release, "--kubeconfig", kubeconfig, "--namespace", ns, "--wait", "--timeout", "60s"); err != nil {
					t.Errorf("helm uninstall: %v", err)
				}
				<-hookDone
			})
			if _, err := chart.HelmOf(major, nil, append([]string{"upgrade", release}, flags...)...); err != nil {
				t.Fatalf("helm upgrade over the earlier plimsoll's Secret: %v", err)
			}
			manifest, err := chart.HelmOf(major, nil, "get", "manifest", release, "--kubeconfig", kubeconfig, "--namespace", ns)
			if err != nil {
				t.Fatal(err)
			}
			objs, err := chart.Decode(manifest)
			if err != nil {
				t.Fatal(err)
			}
			if chart.Find(objs, "Secret", fullname+"-tls") != nil {
				t.Errorf("the release claims the Secret %s-tls the earlier plimsoll created", fullname)
			}
			if chart.Find(objs, "Secret", fullname+"-tls-ca") == nil {
				t.Errorf("the release does not create the CA Secret %s-tls-ca", fullname)
			}
			got, err := secrets.Get(ctx, fullname+"-tls", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range earlier.Data {
				if !bytes.Equal(got.Data[k], v) {
					t.Errorf("the earlier plimsoll's Secret lost or changed %s", k)
				}
			}
			ca, err := secrets.Get(ctx, fullname+"-tls-ca", metav1.GetOptions{})
			if err != nil {
				t.Fatalf("no CA Secret for plimsoll to move the key into: %v", err)
			}
			if len(ca.Data) != 0 {
				t.Errorf("the CA Secret is not empty: %v", ca.Data)
			}
		})
	}
}
