// Package harness starts what the end-to-end tests and `make demo` run on:
// a real kube-apiserver and etcd (controller-runtime's envtest, on the
// binaries test/controlplane builds into bin/), `plimsoll serve` on
// loopback with a throwaway certificate, and the webhook configurations
// the chart renders (one entry per mode) pointing at it.
package harness

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/plimsoll/plimsoll/admission"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/plimsoll/plimsoll/test/chart"
)

// Env is a running control plane with plimsoll registered.
type Env struct {
	Config   *rest.Config
	Client   *kubernetes.Clientset
	Certs    *Certs
	Dir      string
	BinDir   string
	Plimsoll *Process
	// Webhooks are the chart values the configurations were rendered with.
	Webhooks chart.WebhookValues
	// Mutating and Validating are the webhook configurations installed.
	Mutating   *admissionregistrationv1.MutatingWebhookConfiguration
	Validating *admissionregistrationv1.ValidatingWebhookConfiguration

	testEnv *envtest.Environment
}

// RepoRoot finds the repository root (the directory holding plimsoll's
// go.mod, above test/go.mod).
func RepoRoot() (string, error) { return chart.RepoRoot() }

// Options choose what Start sets up.
type Options struct {
	// Webhooks are the chart values to render the webhook configurations
	// with (the zero value: the chart's defaults, release plimsoll in
	// plimsoll-system); each entry's Service is replaced by the URL of the
	// plimsoll that Start runs and the test CA.
	Webhooks chart.WebhookValues
	// ServeArgs are extra flags for plimsoll serve.
	ServeArgs []string
	// APIServerArgs are extra kube-apiserver flags, name to value (see
	// APIServerTracing).
	APIServerArgs map[string]string
	// Log receives progress lines (may be nil).
	Log func(format string, args ...any)
}

// Start builds plimsoll, starts the control plane and plimsoll, installs
// the webhook configurations and waits until the API server calls them.
func Start(ctx context.Context, o Options) (*Env, error) {
	logf := o.Log
	if logf == nil {
		logf = func(string, ...any) {}
	}
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	e := &Env{BinDir: filepath.Join(root, "bin")}
	for _, b := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(e.BinDir, b)); err != nil {
			return nil, fmt.Errorf("%s is missing from %s: run `make controlplane` (or test/controlplane/build.sh) first", b, e.BinDir)
		}
	}
	if e.Dir, err = os.MkdirTemp("", "plimsoll-e2e-"); err != nil {
		return nil, err
	}
	if e.Certs, err = WriteCerts(e.Dir); err != nil {
		return nil, err
	}

	logf("building plimsoll")
	bin := filepath.Join(e.BinDir, "plimsoll")
	// -trimpath as test/controlplane/build.sh builds kube-apiserver and
	// etcd, with the same Go release and the same versions of what they
	// share: on a cold build cache this build reuses what those compiled.
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", bin, "./cmd/plimsoll")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build ./cmd/plimsoll: %w\n%s", err, out)
	}

	logf("starting kube-apiserver and etcd")
	e.testEnv = &envtest.Environment{BinaryAssetsDirectory: e.BinDir, ControlPlaneStartTimeout: 2 * time.Minute, ControlPlaneStopTimeout: 30 * time.Second}
	for name, value := range o.APIServerArgs {
		e.testEnv.ControlPlane.GetAPIServer().Configure().Set(name, value)
	}
	if e.Config, err = e.testEnv.Start(); err != nil {
		return nil, fmt.Errorf("starting the control plane: %w", err)
	}
	quiet := rest.CopyConfig(e.Config)
	quiet.WarningHandler = rest.NoWarnings{}
	if e.Client, err = kubernetes.NewForConfig(quiet); err != nil {
		e.Stop()
		return nil, err
	}

	logf("starting plimsoll serve")
	args := append([]string{"--tls-cert-file", e.Certs.CertFile, "--tls-key-file", e.Certs.KeyFile}, o.ServeArgs...)
	if e.Plimsoll, err = StartPlimsoll(ctx, bin, filepath.Join(e.Dir, "plimsoll.log"), args...); err != nil {
		e.Stop()
		return nil, err
	}

	logf("rendering the chart's webhook configurations")
	e.Webhooks = o.Webhooks
	if e.Mutating, e.Validating, err = chart.Webhooks(o.Webhooks, e.ClientConfig(e.Plimsoll)); err != nil {
		e.Stop()
		return nil, err
	}
	logf("registering the webhooks")
	if err := e.Register(ctx); err != nil {
		e.Stop()
		return nil, err
	}
	return e, nil
}

// Register installs e.Mutating and e.Validating and waits until the API
// server calls plimsoll for a namespace in enforce mode.
func (e *Env) Register(ctx context.Context) error {
	adm := e.Client.AdmissionregistrationV1()
	if _, err := adm.MutatingWebhookConfigurations().Create(ctx, e.Mutating, metav1.CreateOptions{}); err != nil {
		return err
	}
	if _, err := adm.ValidatingWebhookConfigurations().Create(ctx, e.Validating, metav1.CreateOptions{}); err != nil {
		return err
	}
	if e.Webhooks.DryRun {
		return nil
	}
	// The API server picks up webhook configurations from an informer: wait
	// until a throwaway Pod in an enforce namespace is both defaulted and
	// judged.
	ns := "plimsoll-readiness-probe"
	if err := e.CreateNamespace(ctx, ns, admission.Enforce); err != nil {
		return err
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		probe := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "probe", Namespace: ns},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "registry.k8s.io/pause:3.10"}}},
		}
		got, err := e.Client.CoreV1().Pods(ns).Create(ctx, probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err == nil && got.Annotations["plimsoll.dev/mutations"] != "" {
			priv := probe.DeepCopy()
			priv.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: ptr(true)}
			_, err = e.Client.CoreV1().Pods(ns).Create(ctx, priv, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			if err != nil && strings.Contains(err.Error(), "plimsoll denied") {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the API server did not start calling plimsoll within 60s (last: %w)", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// ClientConfig calls a path of p, a plimsoll serve on loopback with the
// test certificate.
func (e *Env) ClientConfig(p *Process) func(path string) admissionregistrationv1.WebhookClientConfig {
	return chart.URLClientConfig(fmt.Sprintf("127.0.0.1:%d", p.Port), e.Certs.CAPEM)
}

// CreateNamespace creates ns labelled with mode ("" for no label).
func (e *Env) CreateNamespace(ctx context.Context, name string, mode admission.Mode) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if mode != "" {
		ns.Labels = map[string]string{admission.ModeLabel: string(mode)}
	}
	_, err := e.Client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

// ClientWithWarnings returns a clientset whose admission warnings are
// collected into the returned recorder.
func (e *Env) ClientWithWarnings() (*kubernetes.Clientset, *Warnings, error) {
	w := &Warnings{}
	cfg := rest.CopyConfig(e.Config)
	cfg.WarningHandler = w
	c, err := kubernetes.NewForConfig(cfg)
	return c, w, err
}

// Stop stops plimsoll and the control plane and removes the temporary
// directory.
func (e *Env) Stop() {
	if e.Plimsoll != nil {
		_ = e.Plimsoll.Stop()
	}
	if e.testEnv != nil {
		_ = e.testEnv.Stop()
	}
	if e.Dir != "" && os.Getenv("PLIMSOLL_KEEP_E2E_DIR") == "" {
		_ = os.RemoveAll(e.Dir)
	}
}

// Warnings collects admission warnings received by a client.
type Warnings struct {
	mu   sync.Mutex
	list []string
}

// HandleWarningHeader implements rest.WarningHandler.
func (w *Warnings) HandleWarningHeader(code int, _ string, text string) {
	if code != 299 || text == "" {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.list = append(w.list, text)
}

// Take returns the warnings received since the last Take.
func (w *Warnings) Take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.list
	w.list = nil
	return out
}

// Process is a running `plimsoll serve`.
type Process struct {
	Cmd         *exec.Cmd
	Port        int
	HealthPort  int
	MetricsPort int
	LogFile     string
	done        chan error
}

// StartPlimsoll runs bin serve with free loopback ports and waits for
// /readyz.
func StartPlimsoll(ctx context.Context, bin, logFile string, args ...string) (*Process, error) {
	return StartPlimsollOn(ctx, 0, bin, logFile, args...)
}

// StartPlimsollOn is StartPlimsoll with the admission listener on port (0:
// a free one), for a test whose webhook configurations must name the port
// before plimsoll can become ready (self-managed TLS waits for them).
func StartPlimsollOn(ctx context.Context, port int, bin, logFile string, args ...string) (*Process, error) {
	ports, err := freePorts(4)
	if err != nil {
		return nil, err
	}
	if port != 0 {
		ports = slices.DeleteFunc(ports, func(p int) bool { return p == port })
		ports = append([]int{port}, ports...)
	}
	p := &Process{Port: ports[0], HealthPort: ports[1], MetricsPort: ports[2], LogFile: logFile, done: make(chan error, 1)}
	full := append([]string{"serve",
		"--listen", fmt.Sprintf("127.0.0.1:%d", p.Port),
		"--health-listen", fmt.Sprintf("127.0.0.1:%d", p.HealthPort),
		"--metrics-listen", fmt.Sprintf("127.0.0.1:%d", p.MetricsPort),
	}, args...)
	logOut, err := os.Create(logFile)
	if err != nil {
		return nil, err
	}
	p.Cmd = exec.Command(bin, full...)
	p.Cmd.Stdout, p.Cmd.Stderr = logOut, logOut
	if err := p.Cmd.Start(); err != nil {
		return nil, err
	}
	go func() { p.done <- p.Cmd.Wait(); logOut.Close() }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/readyz", p.HealthPort))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
		}
		select {
		case err := <-p.done:
			log, _ := os.ReadFile(logFile)
			return nil, fmt.Errorf("plimsoll serve exited (%w):\n%s", err, log)
		case <-ctx.Done():
			_ = p.Stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = p.Stop()
			return nil, errors.New("plimsoll serve did not become ready within 30s")
		}
	}
}

// Stop sends SIGTERM and waits for the process to exit.
func (p *Process) Stop() error {
	if p.Cmd.ProcessState != nil {
		return nil
	}
	_ = p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		p.done <- err
		return err
	case <-time.After(30 * time.Second):
		_ = p.Cmd.Process.Kill()
		return errors.New("plimsoll serve did not stop within 30s of SIGTERM")
	}
}

// Log returns what the process has logged so far.
func (p *Process) Log() string {
	b, _ := os.ReadFile(p.LogFile)
	return string(b)
}

// Post sends body to path of the admission listener and returns the
// answer; the caller trusts the test CA.
func (p *Process) Post(caPEM []byte, path string, body []byte) (int, []byte, error) {
	pool := x509Pool(caPEM)
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	resp, err := client.Post(fmt.Sprintf("https://127.0.0.1:%d%s", p.Port, path), "application/json", bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, err = buf.ReadFrom(resp.Body)
	return resp.StatusCode, buf.Bytes(), err
}

// FreePort returns a loopback port that was free a moment ago.
func FreePort() (int, error) {
	ports, err := freePorts(1)
	if err != nil {
		return 0, err
	}
	return ports[0], nil
}

func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		addr, ok := l.Addr().(*net.TCPAddr)
		if !ok {
			return nil, fmt.Errorf("listener address %v is not TCP", l.Addr())
		}
		ports = append(ports, addr.Port)
	}
	return ports, nil
}

func ptr[T any](v T) *T { return &v }
