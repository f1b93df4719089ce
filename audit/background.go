package audit

// The background audit's lifecycle (`plimsoll audit --watch`): NewBackground
// wires the policy, the client, the listeners (internal/serving) and the
// informers; Run starts them, runs the first pass over every namespace,
// then the workers and the periodic resync until its context ends. What
// each part does is in its own file: informers.go (informers and event
// filtering), queue.go (the work queue and the per-namespace cache of
// judged objects), reportwriter.go (the PolicyReports), metrics.go (the
// gauges).

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"github.com/plimsoll/plimsoll/cluster"
	"github.com/plimsoll/plimsoll/internal/kube"
	"github.com/plimsoll/plimsoll/internal/serving"
	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/validate"
)

// Background is the background audit: informers on namespaces, Pods,
// every workload kind and (when the policy runs context rules) the
// budgets, autoscalers, quotas and limit ranges those rules read; a
// change marks its namespace, which is re-evaluated from the informers'
// caches (only changed objects are judged again) and published as gauges
// and a PolicyReport.
type Background struct {
	o      BackgroundOptions
	log    *slog.Logger
	client kube.Interface
	dyn    dynamic.Interface
	scope  scope
	rules  []*validate.Rule
	cats   map[string]string
	nsInf  cache.SharedIndexInformer // nil with --namespace
	inf    map[string]cache.SharedIndexInformer
	// view is what the context rules see, over the informers' caches;
	// nil when the policy in force at the start turned them off (then
	// no informer reads what they read).
	view    cluster.View
	queue   workqueue.TypedRateLimitingInterface[string]
	watcher *policy.Watcher
	metrics *metrics
	// listeners serve /healthz, /readyz and /metrics (internal/serving).
	listeners *serving.Servers

	current atomic.Pointer[policyGen]
	ready   atomic.Bool

	mu sync.Mutex
	// cache holds each namespace's judged objects by UID, with the
	// resourceVersion, policy generation and context generation they
	// were judged at.
	cache map[string]map[types.UID]cached
	// contextGen counts, per namespace, the changes to what the context
	// rules read there (a budget, an autoscaler, a quota or a limit
	// range): a verdict cached under an older count is judged again, as
	// a Deployment's depends on the budgets and autoscalers around it.
	contextGen map[string]uint64
	// published are the namespaces that have a plimsoll PolicyReport.
	published map[string]bool
	// reportsMissing is set while the PolicyReport CRD is not installed.
	reportsMissing bool
	// firstPass are the namespaces not yet evaluated since the start.
	firstPass map[string]bool
	// written is what each namespace's report last said, so an unchanged
	// report costs no request (forgotten at every resync).
	written map[string]string
}

// policyGen is the policy in force and its generation: a judgement made
// under an older generation is made again.
type policyGen struct {
	p   *policy.Policy
	gen uint64
}

// NewBackground checks the options, loads the policy and opens the
// listeners; Run starts the work.
func NewBackground(o BackgroundOptions) (*Background, error) {
	d := DefaultBackgroundOptions()
	o.Options = o.withDefaults()
	if o.ConfigPollInterval <= 0 {
		o.ConfigPollInterval = d.ConfigPollInterval
	}
	if o.Resync <= 0 {
		o.Resync = d.Resync
	}
	if o.Debounce < 0 {
		o.Debounce = 0
	}
	if o.Workers < 1 {
		o.Workers = d.Workers
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	b := &Background{o: o, log: o.Log, scope: newScope(o.Options), rules: validate.Registry(), cats: map[string]string{},
		cache: map[string]map[types.UID]cached{}, contextGen: map[string]uint64{}, published: map[string]bool{}, written: map[string]string{}, inf: map[string]cache.SharedIndexInformer{}}
	for _, r := range b.rules {
		b.cats[r.ID] = r.Category
	}
	p := o.Policy
	if o.ConfigFile != "" {
		b.watcher = &policy.Watcher{Path: o.ConfigFile, KnownRules: validate.IDs(), Interval: o.ConfigPollInterval,
			OnLoad: b.setPolicy, OnError: b.policyError}
		var err error
		if p, err = b.watcher.LoadNow(); err != nil {
			return nil, fmt.Errorf("--config %s: %w", o.ConfigFile, err)
		}
	}
	b.current.Store(&policyGen{p: p, gen: 1})
	var err error
	if b.client, err = o.client(); err != nil {
		return nil, err
	}
	b.dyn = o.Dynamic
	if b.dyn == nil && o.Reports {
		if o.Config == nil {
			return nil, errors.New("PolicyReports need Config or Dynamic")
		}
		cfg := rest.CopyConfig(o.Config)
		cfg.QPS, cfg.Burst = o.QPS, o.Burst
		if b.dyn, err = dynamic.NewForConfig(cfg); err != nil {
			return nil, err
		}
	}
	so := o.serving()
	so.Registry = serving.NewRegistry()
	so.Ready = b.readiness
	b.metrics = newMetrics(so.Registry)
	if b.listeners, err = serving.Listen(so); err != nil {
		return nil, err
	}
	b.queue = workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
		workqueue.TypedRateLimitingQueueConfig[string]{Name: "plimsoll-audit"})
	b.setupInformers()
	return b, nil
}

// MetricsAddr is the metrics listener's address, or nil when it is off.
func (b *Background) MetricsAddr() net.Addr { return b.listeners.MetricsAddr() }

// HealthAddr is the health listener's address, or nil when it is off.
func (b *Background) HealthAddr() net.Addr { return b.listeners.HealthAddr() }

// readiness is /readyz: ready once the first pass is done.
func (b *Background) readiness() error {
	if !b.ready.Load() {
		return errors.New("informers not synced yet")
	}
	return nil
}

// setPolicy puts a newly loaded policy in force and re-evaluates
// everything.
func (b *Background) setPolicy(p *policy.Policy) {
	old := b.current.Load()
	b.current.Store(&policyGen{p: p, gen: old.gen + 1})
	b.metrics.reloads.WithLabelValues("success").Inc()
	b.log.Info("policy loaded, re-evaluating every namespace", "policy_hash", p.Hash())
	if p.ContextRulesOn() && b.view == nil {
		b.log.Warn("the policy turns context rules on, but the audit started with them off and does not watch what they read: restart it to run them", "policy_hash", p.Hash())
	}
	for _, k := range listed(p, b.rules) {
		if k.companion && b.inf[k.gvk.Kind] == nil {
			b.log.Warn("the policy turns on a rule about "+k.resource+", but the audit started with it off and does not watch them: restart it to judge them", "policy_hash", p.Hash())
		}
	}
	for _, a := range p.Advice() {
		b.log.Warn("the policy is loaded, but look at this", "advice", a, "policy_hash", p.Hash())
	}
	b.enqueueAll()
}

func (b *Background) policyError(err error) {
	b.metrics.reloads.WithLabelValues("failure").Inc()
	b.log.Error("policy file not loaded, keeping the last good policy", "error", err.Error())
}

// Run audits until ctx ends.
func (b *Background) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer b.queue.ShutDown()
	b.listeners.Start()
	// /readyz turns not ready, then in-flight scrapes get 5s to finish.
	defer func() { _ = b.listeners.Shutdown(0, 5*time.Second) }()
	if b.watcher != nil {
		go b.watcher.Run(ctx)
	}
	began := time.Now()
	informers := b.informers()
	var running sync.WaitGroup
	for _, inf := range informers {
		running.Go(func() { inf.RunWithContext(ctx) })
	}
	defer func() {
		cancel() // the informers stop with ctx, whatever ended Run
		running.Wait()
	}()
	b.log.Info("background audit starting", "scope", string(b.o.Scope), "namespace", b.o.Namespace, "mode", b.o.Mode, "reports", b.o.Reports)
	for kind, inf := range informers {
		if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("the informer of %s did not sync", kind)
		}
	}
	b.log.Info("informers synced", "took", time.Since(began).String())
	b.adoptReports(ctx)
	// The first pass: every namespace at once, ready when all are done.
	all := b.namespaces()
	b.mu.Lock()
	b.firstPass = map[string]bool{}
	for _, ns := range all {
		b.firstPass[ns] = true
	}
	b.mu.Unlock()
	for _, ns := range all {
		b.queue.Add(ns)
	}
	if len(all) == 0 {
		b.setReady()
	}
	var wg sync.WaitGroup
	for range b.o.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b.next(ctx) {
			}
		}()
	}
	resync := time.NewTicker(b.o.Resync)
	defer resync.Stop()
	var err error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case err = <-b.listeners.Err():
			break loop
		case <-resync.C:
			b.mu.Lock()
			b.written = map[string]string{}
			b.mu.Unlock()
			old := b.current.Load()
			b.current.Store(&policyGen{p: old.p, gen: old.gen + 1})
			b.enqueueAll()
		}
	}
	b.queue.ShutDown()
	wg.Wait()
	return err
}
