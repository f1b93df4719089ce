package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plimsoll/plimsoll/admission"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/plimsoll/plimsoll/test/harness"
)

func dryRun() metav1.CreateOptions { return metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}} }

// waitJudged waits until the API server calls x for namespace ns (its
// webhook configurations reach the API server through an informer).
func waitJudged(t *testing.T, ns string) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(30 * time.Second)
	for {
		priv := in(load[*corev1.Pod](t, "privileged-pod.yaml"), ns)
		_, err := env.Client.CoreV1().Pods(ns).Create(ctx, priv, dryRun())
		if err != nil && strings.Contains(err.Error(), "plimsoll denied") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("namespace %s is not judged after 30s (last: %v)", ns, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// With plimsoll stopped, the API server applies each entry's failure
// policy: enforce namespaces (Fail) refuse with a clear error, warn
// namespaces (Ignore) admit, excluded namespaces never notice.
func TestWhenPlimsollIsDown(t *testing.T) {
	ctx := context.Background()
	x, err := env.StartExtra(ctx, "down", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Remove(ctx)
	for ns, mode := range map[string]admission.Mode{"down-enforce": admission.Enforce, "down-warn": admission.Warn} {
		if err := x.Namespace(ctx, ns, mode); err != nil {
			t.Fatal(err)
		}
	}
	waitJudged(t, "down-enforce")
	if err := x.Process.Stop(); err != nil {
		t.Fatalf("plimsoll did not stop cleanly: %v", err)
	}

	bare := load[*corev1.Pod](t, "bare-nginx-pod.yaml")
	_, err = env.Client.CoreV1().Pods("down-enforce").Create(ctx, in(bare.DeepCopy(), "down-enforce"), dryRun())
	if err == nil || !apierrors.IsInternalError(err) || !strings.Contains(err.Error(), `failed calling webhook "enforce.`) {
		t.Errorf("enforce namespace with plimsoll down: want a refusal naming the webhook, got %v", err)
	}
	if _, err := env.Client.CoreV1().Pods("down-warn").Create(ctx, in(bare.DeepCopy(), "down-warn"), dryRun()); err != nil {
		t.Errorf("warn namespace (failurePolicy Ignore) with plimsoll down must admit: %v", err)
	}
	for _, ns := range []string{"kube-system", plimsollNS} {
		p := in(bare.DeepCopy(), ns)
		p.Name, p.GenerateName = "", "while-down-"
		if _, err := env.Client.CoreV1().Pods(ns).Create(ctx, p, dryRun()); err != nil {
			t.Errorf("%s must be unaffected: %v", ns, err)
		}
	}
}

// Certificate files replaced while the API server sends a steady load:
// not one call fails, and the new certificate is served.
func TestCertificateReplacedUnderLoad(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if err := env.Certs.Issue(dir); err != nil {
		t.Fatal(err)
	}
	x, err := startExtraWithCerts(ctx, "certs", dir)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Remove(ctx)
	if err := x.Namespace(ctx, "certs-enforce", admission.Enforce); err != nil {
		t.Fatal(err)
	}
	waitJudged(t, "certs-enforce")
	before := servedSerial(t, x.Process.Port)

	sent, failed := load4(t, 6*time.Second, func() error {
		_, err := env.Client.CoreV1().Pods("certs-enforce").Create(ctx, in(load[*corev1.Pod](t, "bare-nginx-pod.yaml"), "certs-enforce"), dryRun())
		return err
	}, func() {
		time.Sleep(2 * time.Second)
		if err := env.Certs.Issue(dir); err != nil {
			t.Error(err)
		}
	})
	after := servedSerial(t, x.Process.Port)
	t.Logf("%d admissions across the certificate change, %d failed", sent, failed)
	if failed > 0 {
		t.Errorf("%d of %d calls failed across the certificate change", failed, sent)
	}
	if before == after {
		t.Errorf("the replaced certificate is not served (serial still %s)", before)
	}
}

// SIGTERM under load: /readyz turns not ready first, requests keep being
// answered through the shutdown delay, in-flight ones complete, and a
// client that stops sending once it sees not-ready loses nothing.
func TestSIGTERMUnderLoad(t *testing.T) {
	ctx := context.Background()
	x, err := env.StartExtra(ctx, "sigterm", nil, "--shutdown-delay", "2s")
	if err != nil {
		t.Fatal(err)
	}
	defer x.Remove(ctx)
	client := httpsClient()
	// A bare Pod, judged in warn mode: admitted (with warnings) as long as
	// plimsoll answers; in enforce it would be denied as it arrives.
	review := reviewOf(t, "bare-nginx-pod.yaml")

	var notReady atomic.Bool
	var sent, failed atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !notReady.Load() {
				sent.Add(1)
				resp, err := client.Post(fmt.Sprintf("https://127.0.0.1:%d/validate/warn", x.Process.Port), "application/json", bytes.NewReader(review))
				if err != nil {
					failed.Add(1)
					t.Logf("request failed: %v", err)
					continue
				}
				var out admissionv1.AdmissionReview
				if json.NewDecoder(resp.Body).Decode(&out) != nil || out.Response == nil || !out.Response.Allowed {
					failed.Add(1)
				}
				resp.Body.Close()
			}
		}()
	}
	time.Sleep(time.Second)
	stopped := make(chan error, 1)
	go func() { stopped <- x.Process.Stop() }()
	start := time.Now()
	for {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/readyz", x.Process.HealthPort))
		if err != nil || resp.StatusCode != http.StatusOK {
			if resp != nil {
				resp.Body.Close()
			}
			break
		}
		resp.Body.Close()
		if time.Since(start) > 5*time.Second {
			t.Fatal("/readyz still ready 5s after SIGTERM")
		}
		time.Sleep(10 * time.Millisecond)
	}
	readyDropped := time.Since(start)
	notReady.Store(true)
	wg.Wait()
	if err := <-stopped; err != nil {
		t.Errorf("plimsoll serve did not exit cleanly: %v", err)
	}
	t.Logf("readiness dropped %v after SIGTERM; %d requests, %d failed", readyDropped, sent.Load(), failed.Load())
	if failed.Load() > 0 {
		t.Errorf("%d of %d requests failed around SIGTERM", failed.Load(), sent.Load())
	}
	if readyDropped > time.Second {
		t.Errorf("readiness took %v to drop: it must drop first, before the shutdown delay ends", readyDropped)
	}
}

// A broken policy file written while serving keeps the last good policy in
// force; readiness stays up; a metric and a log line say why.
func TestBrokenPolicyKeepsTheLastGoodOne(t *testing.T) {
	ctx := context.Background()
	cfg := filepath.Join(t.TempDir(), "policy.yaml")
	writeFile(t, cfg, "apiVersion: plimsoll.dev/v1alpha1\nkind: Policy\nrules:\n  image-tag: \"off\"\n")
	x, err := env.StartExtra(ctx, "policy", nil, "--config", cfg, "--config-poll-interval", "100ms")
	if err != nil {
		t.Fatal(err)
	}
	defer x.Remove(ctx)
	if err := x.Namespace(ctx, "policy-enforce", admission.Enforce); err != nil {
		t.Fatal(err)
	}
	waitJudged(t, "policy-enforce")
	c, _ := newClient(t)
	createLatest := func() error {
		dep := in(load[*appsv1.Deployment](t, "latest-deployment.yaml"), "policy-enforce")
		return c.Create(ctx, dep, client.DryRunAll)
	}
	if err := createLatest(); err != nil {
		t.Fatalf("image-tag is off in the policy, the :latest Deployment must be admitted: %v", err)
	}

	writeFile(t, cfg, "apiVersion: plimsoll.dev/v1alpha1\nkind: Policy\nrules:\n  image-tag: sometimes\n")
	waitFor(t, 10*time.Second, "a failed reload in the metrics", func() bool {
		return metric(t, x.Process.MetricsPort, "plimsoll_policy_reloads_total", "result", "failure") >= 1
	})
	if err := createLatest(); err != nil {
		t.Errorf("after a broken policy file the last good policy must stay in force: %v", err)
	}
	if resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/readyz", x.Process.HealthPort)); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("readiness must stay up with a broken policy file: %v %v", resp, err)
	}
	if log := x.Process.Log(); !strings.Contains(log, "policy file not reloaded; the last good policy stays in force") || !strings.Contains(log, "sometimes") {
		t.Errorf("the log does not say why the policy was not reloaded:\n%s", log)
	}

	writeFile(t, cfg, "apiVersion: plimsoll.dev/v1alpha1\nkind: Policy\n")
	waitFor(t, 10*time.Second, "the fixed policy to take effect", func() bool {
		err := createLatest()
		return err != nil && strings.Contains(err.Error(), "[image-tag]")
	})
}

// ---- helpers ----

func startExtraWithCerts(ctx context.Context, name, dir string) (*harness.Extra, error) {
	return env.StartExtra(ctx, name, map[admission.Mode]admissionregistrationv1.FailurePolicyType{admission.Enforce: admissionregistrationv1.Fail},
		"--tls-cert-file", filepath.Join(dir, "tls.crt"), "--tls-key-file", filepath.Join(dir, "tls.key"))
}

// load4 runs call from 4 goroutines for d while during runs beside them,
// and counts calls and failures.
func load4(t *testing.T, d time.Duration, call func() error, during func()) (sent, failed int64) {
	t.Helper()
	var s, f atomic.Int64
	var wg sync.WaitGroup
	stop := time.Now().Add(d)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				s.Add(1)
				if err := call(); err != nil {
					f.Add(1)
					t.Logf("call failed: %v", err)
				}
			}
		}()
	}
	during()
	wg.Wait()
	return s.Load(), f.Load()
}

func servedSerial(t *testing.T, port int) string {
	t.Helper()
	conn, err := tls.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port), &tls.Config{RootCAs: caPool(), MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.String()
}

func caPool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(env.Certs.CAPEM)
	return pool
}

func httpsClient() *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: caPool(), MinVersion: tls.VersionTLS12}, MaxIdleConnsPerHost: 8,
	}}
}

// reviewOf wraps a fixture into an AdmissionReview CREATE request.
func reviewOf(t *testing.T, fixture string) []byte {
	t.Helper()
	pod := in(load[*corev1.Pod](t, fixture), enforceNS)
	raw, _ := json.Marshal(pod)
	review := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID: "e2e", Kind: metav1.GroupVersionKind{Version: "v1", Kind: "Pod"},
			Resource: metav1.GroupVersionResource{Version: "v1", Resource: "pods"}, Namespace: enforceNS,
			Operation: admissionv1.Create,
		},
	}
	review.Request.Object.Raw = raw
	b, _ := json.Marshal(review)
	return b
}

// metric sums the counter name over the series whose label has value.
func metric(t *testing.T, port int, name, label, value string) float64 {
	t.Helper()
	total := 0.0
	for key, v := range scrape(t, port) {
		if strings.HasPrefix(key, name+"{") && (strings.Contains(key, "{"+label+"="+value+",") || strings.Contains(key, ","+label+"="+value+",") ||
			strings.HasSuffix(key, "{"+label+"="+value+"}") || strings.HasSuffix(key, ","+label+"="+value+"}")) {
			total += v
		}
	}
	return total
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path+".tmp", []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
}

// After SIGTERM, once /readyz says not ready, plimsoll still answers new
// requests until the shutdown delay ends (docs/reliability.md): endpoints
// and load balancers take a moment to stop sending, and what they send in
// that moment must be judged, not refused. A dry-run Pod create through
// the API server (whose connection plimsoll may or may not be new: the API
// server pools them) and a review posted on a brand-new TCP connection
// are both answered by plimsoll during the delay.
func TestNewRequestsAnsweredDuringShutdownDelay(t *testing.T) {
	ctx := context.Background()
	// A delay long enough for the requests below on a slow, busy machine;
	// the test waits for it once, at the end.
	const delay = 10 * time.Second
	x, err := env.StartExtra(ctx, "drain", map[admission.Mode]admissionregistrationv1.FailurePolicyType{admission.Enforce: admissionregistrationv1.Fail},
		"--shutdown-delay", delay.String())
	if err != nil {
		t.Fatal(err)
	}
	defer x.Remove(ctx)
	const ns = "drain-enforce"
	if err := x.Namespace(ctx, ns, admission.Enforce); err != nil {
		t.Fatal(err)
	}
	waitJudged(t, ns)

	stopped := make(chan error, 1)
	go func() { stopped <- x.Process.Stop() }()
	waitFor(t, 5*time.Second, "/readyz to say not ready after SIGTERM", func() bool {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/readyz", x.Process.HealthPort))
		if err != nil {
			return true
		}
		resp.Body.Close()
		return resp.StatusCode != http.StatusOK
	})

	// Through the API server: a privileged Pod is denied in enforce, which
	// only plimsoll says (with it gone, failurePolicy Fail refuses with
	// "failed calling webhook" instead).
	priv := in(load[*corev1.Pod](t, "privileged-pod.yaml"), ns)
	_, err = env.Client.CoreV1().Pods(ns).Create(ctx, priv, dryRun())
	if err == nil || !strings.Contains(err.Error(), "plimsoll denied") {
		t.Errorf("a Pod create through the API server during the shutdown delay: want plimsoll's denial, got %v", err)
	}

	// Directly, on a new TCP connection (no keep-alive, nothing pooled).
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: caPool(), MinVersion: tls.VersionTLS12}, DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	var reused atomic.Bool
	trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) { reused.Store(info.Reused) }}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), http.MethodPost,
		fmt.Sprintf("https://127.0.0.1:%d/validate/enforce", x.Process.Port), bytes.NewReader(reviewOf(t, "bare-nginx-pod.yaml")))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 10 * time.Second, Transport: tr}).Do(req)
	if err != nil {
		t.Fatalf("a new connection during the shutdown delay: %v", err)
	}
	var out admissionv1.AdmissionReview
	decodeErr := json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	switch {
	case reused.Load():
		t.Error("the direct request reused a connection; it must open a new one")
	case resp.StatusCode != http.StatusOK || decodeErr != nil || out.Response == nil:
		t.Errorf("a new connection during the shutdown delay: HTTP %d, %v, %+v", resp.StatusCode, decodeErr, out.Response)
	case out.Response.UID != "e2e" || out.Response.Allowed || out.Response.Result == nil || !strings.Contains(out.Response.Result.Message, "plimsoll denied"):
		t.Errorf("a new connection during the shutdown delay: want the bare Pod denied, got %+v", out.Response)
	}

	// Both were answered by the process shutting down, not after it: it
	// exits, cleanly, only once the delay has passed.
	select {
	case err := <-stopped:
		t.Fatalf("plimsoll serve exited (%v) before the test's requests were done: raise the delay", err)
	default:
	}
	if err := <-stopped; err != nil {
		t.Errorf("plimsoll serve did not exit cleanly: %v", err)
	}
	// And it was this plimsoll, shutting down, that decided both: its log
	// has the two decisions after the line that says it is shutting down.
	log := x.Process.Log()
	i := strings.Index(log, "shutting down: not ready any more")
	if i < 0 {
		t.Fatalf("plimsoll's log does not say it is shutting down:\n%s", log)
	}
	var viaAPIServer, direct bool
	for _, line := range strings.Split(log[i:], "\n") {
		var d struct{ Msg, UID, Decision, Namespace, Name string }
		if json.Unmarshal([]byte(line), &d) != nil || d.Msg != "admission decision" || d.Decision != "denied" {
			continue
		}
		viaAPIServer = viaAPIServer || (d.Namespace == ns && d.Name == priv.Name)
		direct = direct || d.UID == "e2e"
	}
	if !viaAPIServer || !direct {
		t.Errorf("plimsoll's log after SIGTERM: the API server's request decided: %v, the direct one: %v\n%s", viaAPIServer, direct, log[i:])
	}
}
