package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plimsoll/plimsoll/admission"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/plimsoll/plimsoll/export"
	"github.com/plimsoll/plimsoll/internal/fixtures"
	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/test/chart"
	"github.com/plimsoll/plimsoll/test/harness"
)

// Webhook set-ups of the API-server-level table.
const (
	setupNone     = "none"
	setupNoop     = "noop"
	setupPlimsoll = "plimsoll"
	// setupPolicies: no webhook, the policies of `plimsoll export`
	// (ValidatingAdmissionPolicies the API server runs itself).
	setupPolicies = "policies"
	// setupBoth: plimsoll's webhooks and the exported policies.
	setupBoth = "plimsoll+policies"
)

// apiSetups are the set-ups in the order the report lists them.
var apiSetups = []string{setupNone, setupNoop, setupPlimsoll, setupPolicies, setupBoth}

// apiSeries are the creates of one set-up at one number of clients,
// possibly over several rounds.
type apiSeries struct {
	setup     string
	clients   int
	requests  int64
	errors    int64
	elapsed   time.Duration
	latencies []time.Duration
	// webhookTime and webhookCreates are the API server's own measure of
	// its webhook calls over the rounds (warm-ups included): the time it
	// spent in them, and the creates they were for (calls of the
	// validating webhook, which every create calls once).
	webhookTime    time.Duration
	webhookCreates int64
	// noopConnections counts the connections the no-op server accepted
	// during the rounds (warm-ups included; the no-op set-up only).
	noopConnections int64
}

// webhookPerCreate is the mean time the API server spent calling
// webhooks for one create, by its own metric.
func (s *apiSeries) webhookPerCreate() (time.Duration, bool) {
	if s.webhookCreates == 0 {
		return 0, false
	}
	return s.webhookTime / time.Duration(s.webhookCreates), true
}

func (s *apiSeries) perSecond() float64 {
	if s.elapsed == 0 {
		return 0
	}
	return float64(s.requests) / s.elapsed.Seconds()
}

func (s *apiSeries) quantile(q float64) time.Duration {
	if len(s.latencies) == 0 {
		return 0
	}
	l := slices.Clone(s.latencies)
	slices.Sort(l)
	i := int(q*float64(len(l))+0.5) - 1
	return l[max(0, min(i, len(l)-1))]
}

const benchNamespace = "bench"

// apiServer measures server-side dry-run creates of a compliant Pod
// through a real kube-apiserver: with plimsoll's webhooks, with the no-op
// server registered as both a mutating and a validating webhook in their
// place, and with none, after an unmeasured warm-up, in the order of
// apiOrder, twice.
func (r *report) apiServer(ctx context.Context) error {
	logf("starting kube-apiserver, etcd and plimsoll (test/harness)")
	// plimsoll's webhook configurations as the chart renders them by default.
	env, err := harness.Start(ctx, harness.Options{
		Log: func(f string, a ...any) { logf(f, a...) },
	})
	if err != nil {
		return err
	}
	defer env.Stop()
	if err := env.CreateNamespace(ctx, benchNamespace, admission.Enforce); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "plimsoll-bench-api-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	_, noopBin, err := r.buildBinaries(ctx, dir)
	if err != nil {
		return err
	}
	noop, err := startNoop(ctx, noopBin, env.Certs, filepath.Join(dir, "noop.log"), false)
	if err != nil {
		return err
	}
	defer noop.stop()
	r.apiPID = env.Plimsoll.Cmd.Process.Pid

	cfg := rest.CopyConfig(env.Config)
	cfg.QPS, cfg.Burst = -1, 0 // no client-side rate limit: the loop is closed
	cfg.WarningHandler = rest.NoWarnings{}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	var pod corev1.Pod
	if err := json.Unmarshal(fixtures.Get(fixtures.CompliantPod).JSON, &pod); err != nil {
		return err
	}
	pod.Namespace = benchNamespace

	series := map[string]*apiSeries{}
	measure := func(setup string) error {
		for _, c := range r.apiClients {
			key := fmt.Sprintf("%s/%d", setup, c)
			s := series[key]
			if s == nil {
				s = &apiSeries{setup: setup, clients: c}
				series[key] = s
				r.api = append(r.api, s)
			}
			before := s.requests
			wb, err := webhookMetrics(ctx, client)
			if err != nil {
				return err
			}
			cb, err := noop.connections()
			if err != nil {
				return err
			}
			if err := r.creates(ctx, client, &pod, s); err != nil {
				return fmt.Errorf("%s, %d clients: %w", setup, c, err)
			}
			wa, err := webhookMetrics(ctx, client)
			if err != nil {
				return err
			}
			s.webhookTime += wa.seconds - wb.seconds
			s.webhookCreates += wa.validating - wb.validating
			ca, err := noop.connections()
			if err != nil {
				return err
			}
			if setup == setupNoop {
				s.noopConnections += ca - cb - 1 // less the one that asked
			}
			inCalls, _ := s.webhookPerCreate()
			logf("API server, %-8s %d clients: %d creates so far, %.0f/s, p50 %s, p99 %s (+%d this round); in webhook calls %s per create; %d connections to the no-op",
				setup, c, s.requests, s.perSecond(), s.quantile(0.5).Round(time.Microsecond), s.quantile(0.99).Round(time.Microsecond), s.requests-before,
				inCalls.Round(time.Microsecond), s.noopConnections)
		}
		return nil
	}
	// A first round, not measured: the API server, etcd and plimsoll have
	// just started, and whichever set-up came first paid for it.
	logf("API server: warming up")
	for _, c := range r.apiClients {
		if err := r.creates(ctx, client, &pod, &apiSeries{setup: setupPlimsoll, clients: c}); err != nil {
			return fmt.Errorf("warming up: %w", err)
		}
	}
	sw := &switcher{env: env, client: client, noop: noop}
	steps := slices.Concat(apiOrder, apiOrder)
	for i, setup := range steps {
		if err := sw.to(ctx, setup); err != nil {
			return fmt.Errorf("registering %s: %w", setup, err)
		}
		logf("API server, step %d of %d: %s", i+1, len(steps), setup)
		if err := measure(setup); err != nil {
			return err
		}
	}
	return nil
}

// apiOrder is one cycle of the API server phase, which runs it twice: the
// two set-ups compared with each other are measured on both sides of the
// rest, so that drift in the machine's load evens out.
var apiOrder = []string{setupPlimsoll, setupBoth, setupPolicies, setupNoop, setupNone, setupNoop, setupPolicies, setupBoth, setupPlimsoll}

// creates runs a closed loop of s.clients clients creating pod (server-side
// dry run) for r.duration after r.warmup, adding to s.
func (r *report) creates(ctx context.Context, client kubernetes.Interface, pod *corev1.Pod, s *apiSeries) error {
	var measuring, stopping atomic.Bool
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	var requests, errs atomic.Int64
	lat := make([][]time.Duration, s.clients)
	for i := range s.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := pod.DeepCopy()
			p.Name = fmt.Sprintf("bench-%d", i)
			for !stopping.Load() && ctx.Err() == nil {
				m := measuring.Load()
				start := time.Now()
				_, err := client.CoreV1().Pods(p.Namespace).Create(ctx, p, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
				took := time.Since(start)
				if !m || !measuring.Load() {
					continue
				}
				if err != nil {
					errs.Add(1)
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					continue
				}
				lat[i] = append(lat[i], took)
				requests.Add(1)
			}
		}()
	}
	time.Sleep(r.warmup)
	measuring.Store(true)
	t0 := time.Now()
	select {
	case <-ctx.Done():
	case <-time.After(r.duration):
	}
	measuring.Store(false)
	elapsed := time.Since(t0)
	stopping.Store(true)
	wg.Wait()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if requests.Load() == 0 {
		return fmt.Errorf("no create succeeded: %w", firstErr)
	}
	s.requests += requests.Load()
	s.errors += errs.Load()
	s.elapsed += elapsed
	for _, l := range lat {
		s.latencies = append(s.latencies, l...)
	}
	return nil
}

// switcher changes which webhooks and admission policies the API server
// runs for the bench namespace, and waits until it really does.
type switcher struct {
	env    *harness.Env
	client kubernetes.Interface
	noop   *noopProcess
	// webhook is the webhook set-up registered (none, noop or plimsoll),
	// policies whether the exported policies are installed.
	webhook  string
	policies bool
	started  bool
}

const noopConfigName = "bench-noop"

// parts splits a set-up into its webhook set-up and whether the exported
// policies run.
func parts(setup string) (webhook string, policies bool) {
	switch setup {
	case setupPolicies:
		return setupNone, true
	case setupBoth:
		return setupPlimsoll, true
	}
	return setup, false
}

func (sw *switcher) to(ctx context.Context, setup string) error {
	if !sw.started {
		sw.webhook, sw.started = setupPlimsoll, true // harness.Start registered plimsoll
	}
	webhook, policies := parts(setup)
	if webhook != sw.webhook {
		// The webhooks are switched without the policies: the checks that
		// plimsoll is (no longer) called read its own denial, which a
		// policy, running first, would answer in its place.
		if sw.policies {
			if err := sw.setPolicies(ctx, false); err != nil {
				return err
			}
		}
		if err := sw.toWebhook(ctx, webhook); err != nil {
			return err
		}
	}
	if policies != sw.policies {
		if err := sw.setPolicies(ctx, policies); err != nil {
			return err
		}
	}
	return nil
}

// setPolicies installs or removes the policies of `plimsoll export` for
// the built-in policy, and waits until the API server runs them or no
// longer does.
func (sw *switcher) setPolicies(ctx context.Context, on bool) error {
	res, err := export.Export(policy.Default(), export.Options{Name: "bench", ExcludedNamespaces: []string{chart.DefaultNamespace}})
	if err != nil {
		return err
	}
	adm := sw.env.Client.AdmissionregistrationV1()
	for _, apply := range []func() error{
		func() error { return harness.CreateOrDelete(ctx, on, adm.ValidatingAdmissionPolicies(), res.Policies) },
		func() error {
			return harness.CreateOrDelete(ctx, on, adm.ValidatingAdmissionPolicyBindings(), res.Bindings)
		},
		func() error { return harness.CreateOrDelete(ctx, on, adm.MutatingAdmissionPolicies(), res.Mutating) },
		func() error {
			return harness.CreateOrDelete(ctx, on, adm.MutatingAdmissionPolicyBindings(), res.MutatingBindings)
		},
	} {
		if err := apply(); err != nil {
			return err
		}
	}
	what := "the exported policies judge the bench namespace"
	if !on {
		what = "the exported policies no longer judge the bench namespace"
	}
	if err := sw.waitUntil(ctx, what, func() (bool, error) {
		by, err := sw.policyDenies(ctx)
		return by == on, err
	}); err != nil {
		return err
	}
	if sw.webhook != setupPlimsoll && len(res.Mutating) > 0 {
		// The defaults' policy, seen alone: a bare Pod comes back
		// defaulted, or no longer does.
		if err := sw.waitUntil(ctx, "the exported defaults apply, or no longer do", func() (bool, error) {
			defaulted, _, err := sw.plimsollCalled(ctx)
			return defaulted == on, err
		}); err != nil {
			return err
		}
	}
	sw.policies = on
	return nil
}

// policyDenies reports whether a ValidatingAdmissionPolicy refuses a
// privileged Pod in the bench namespace.
func (sw *switcher) policyDenies(ctx context.Context) (bool, error) {
	privileged := true
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "bench-probe-privileged", Namespace: benchNamespace},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "registry.example.com/probe:1.0",
			SecurityContext: &corev1.SecurityContext{Privileged: &privileged}}}},
	}
	_, err := sw.client.CoreV1().Pods(benchNamespace).Create(ctx, pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	switch {
	case err == nil:
		return false, nil
	case !apierrors.IsForbidden(err):
		return false, err
	}
	return strings.Contains(err.Error(), "ValidatingAdmissionPolicy"), nil
}

func (sw *switcher) toWebhook(ctx context.Context, setup string) error {
	adm := sw.env.Client.AdmissionregistrationV1()
	switch sw.webhook {
	case setupPlimsoll:
		name := sw.env.Mutating.Name
		if err := errors.Join(
			adm.MutatingWebhookConfigurations().Delete(ctx, name, metav1.DeleteOptions{}),
			adm.ValidatingWebhookConfigurations().Delete(ctx, name, metav1.DeleteOptions{}),
		); err != nil {
			return err
		}
		if err := sw.waitUntil(ctx, "plimsoll is no longer called", func() (bool, error) {
			defaulted, denied, err := sw.plimsollCalled(ctx)
			return !defaulted && !denied, err
		}); err != nil {
			return err
		}
	case setupNoop:
		if err := errors.Join(
			adm.MutatingWebhookConfigurations().Delete(ctx, noopConfigName, metav1.DeleteOptions{}),
			adm.ValidatingWebhookConfigurations().Delete(ctx, noopConfigName, metav1.DeleteOptions{}),
		); err != nil {
			return err
		}
		if err := sw.waitUntil(ctx, "the no-op server is no longer called", func() (bool, error) {
			n, err := sw.noopCalls(ctx)
			return n == 0, err
		}); err != nil {
			return err
		}
	}
	switch setup {
	case setupPlimsoll:
		// Register installs plimsoll's configurations and waits until the
		// API server defaults and judges through them.
		if err := sw.env.Register(ctx); err != nil {
			return err
		}
	case setupNoop:
		mwc, vwc, err := noopConfigurations(sw.noop, sw.env.Certs.CAPEM, sw.env.Mutating, sw.env.Validating)
		if err != nil {
			return err
		}
		if _, err := adm.MutatingWebhookConfigurations().Create(ctx, mwc, metav1.CreateOptions{}); err != nil {
			return err
		}
		if _, err := adm.ValidatingWebhookConfigurations().Create(ctx, vwc, metav1.CreateOptions{}); err != nil {
			return err
		}
		if err := sw.waitUntil(ctx, "the no-op server is called as both webhooks", func() (bool, error) {
			n, err := sw.noopCalls(ctx)
			return n >= 2, err
		}); err != nil {
			return err
		}
	}
	sw.webhook = setup
	return nil
}

func (sw *switcher) waitUntil(ctx context.Context, what string, cond func() (bool, error)) error {
	deadline := time.Now().Add(60 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		ok, err := cond()
		if ok && err == nil {
			// The API server's informers may still be mid-update: see it twice.
			if ok2, err2 := cond(); ok2 && err2 == nil {
				return nil
			}
		}
		last = err
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fmt.Errorf("waiting until %s: gave up after 60s (last: %w)", what, last)
}

// plimsollCalled creates, as dry runs, a bare Pod and a privileged one in
// the bench namespace: whether the first came back defaulted and the second
// was denied by plimsoll.
func (sw *switcher) plimsollCalled(ctx context.Context) (defaulted, denied bool, err error) {
	bare := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "probe", Namespace: benchNamespace},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "registry.k8s.io/pause:3.10"}}},
	}
	got, err := sw.client.CoreV1().Pods(benchNamespace).Create(ctx, bare, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	if err != nil {
		return false, false, err
	}
	priv := bare.DeepCopy()
	yes := true
	priv.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: &yes}
	_, err = sw.client.CoreV1().Pods(benchNamespace).Create(ctx, priv, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	denied = err != nil && strings.Contains(err.Error(), "plimsoll denied")
	if err != nil && !denied && !apierrors.IsForbidden(err) {
		return false, false, err
	}
	return got.Annotations["plimsoll.dev/mutations"] != "", denied, nil
}

// noopCalls is how many times the no-op server is called for one create
// in the bench namespace.
func (sw *switcher) noopCalls(ctx context.Context) (int64, error) {
	before, err := sw.noop.count()
	if err != nil {
		return 0, err
	}
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "probe", Namespace: benchNamespace},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "registry.k8s.io/pause:3.10"}}},
	}
	if _, err := sw.client.CoreV1().Pods(benchNamespace).Create(ctx, p, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
		return 0, err
	}
	after, err := sw.noop.count()
	return after - before, err
}

// noopConfigurations register the no-op server exactly where plimsoll's
// enforce entries sit: a copy of each (the chart's rules, failure policy,
// timeout and the rest) calling the no-op server, for the bench namespace.
func noopConfigurations(n *noopProcess, ca []byte, plimsollM *admissionregistrationv1.MutatingWebhookConfiguration, plimsollV *admissionregistrationv1.ValidatingWebhookConfiguration) (*admissionregistrationv1.MutatingWebhookConfiguration, *admissionregistrationv1.ValidatingWebhookConfiguration, error) {
	sel := &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": benchNamespace}}
	cc := func(path string) admissionregistrationv1.WebhookClientConfig {
		u := n.url(path)
		return admissionregistrationv1.WebhookClientConfig{URL: &u, CABundle: ca}
	}
	mi := slices.IndexFunc(plimsollM.Webhooks, func(w admissionregistrationv1.MutatingWebhook) bool { return strings.HasPrefix(w.Name, "enforce.") })
	vi := slices.IndexFunc(plimsollV.Webhooks, func(w admissionregistrationv1.ValidatingWebhook) bool { return strings.HasPrefix(w.Name, "enforce.") })
	if mi < 0 || vi < 0 {
		return nil, nil, errors.New("plimsoll's webhook configurations have no enforce entries")
	}
	mw := *plimsollM.Webhooks[mi].DeepCopy()
	mw.Name, mw.ClientConfig, mw.NamespaceSelector = "mutate.noop.bench.plimsoll.dev", cc("/mutate"), sel
	vw := *plimsollV.Webhooks[vi].DeepCopy()
	vw.Name, vw.ClientConfig, vw.NamespaceSelector = "validate.noop.bench.plimsoll.dev", cc("/validate"), sel
	mwc := &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: noopConfigName},
		Webhooks:   []admissionregistrationv1.MutatingWebhook{mw},
	}
	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: noopConfigName},
		Webhooks:   []admissionregistrationv1.ValidatingWebhook{vw},
	}
	return mwc, vwc, nil
}

// webhookTotals are the API server's apiserver_admission_webhook_admission_duration_seconds
// histogram, summed over every webhook: the time spent calling them, and
// how many calls went to validating webhooks.
type webhookTotals struct {
	seconds    time.Duration
	validating int64
}

// webhookMetrics reads the API server's /metrics.
func webhookMetrics(ctx context.Context, client kubernetes.Interface) (webhookTotals, error) {
	raw, err := client.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return webhookTotals{}, fmt.Errorf("reading the API server's metrics: %w", err)
	}
	return parseWebhookMetrics(string(raw))
}

func parseWebhookMetrics(text string) (webhookTotals, error) {
	const name = "apiserver_admission_webhook_admission_duration_seconds"
	var t webhookTotals
	for line := range strings.Lines(text) {
		rest, ok := strings.CutPrefix(line, name)
		if !ok {
			continue
		}
		suffix, labels, ok := strings.Cut(rest, "{")
		if !ok {
			continue
		}
		labels, value, ok := strings.Cut(labels, "} ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			return t, fmt.Errorf("API server metric %s%s: %w", name, suffix, err)
		}
		switch suffix {
		case "_sum":
			t.seconds += time.Duration(v * float64(time.Second))
		case "_count":
			if strings.Contains(labels, `type="validating"`) {
				t.validating += int64(v)
			}
		}
	}
	return t, nil
}
