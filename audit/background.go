package audit

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"github.com/plimsoll/plimsoll/kube"
	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/validate"
)

// BackgroundOptions configure the in-cluster background audit.
type BackgroundOptions struct {
	// Options choose the namespaces, the mode and the API server, as for
	// Run; Policy is the policy when ConfigFile is empty.
	Options
	// ConfigFile is the policy file, re-read every ConfigPollInterval
	// (2s): a change re-evaluates every namespace; an invalid version
	// keeps the last good policy.
	ConfigFile         string
	ConfigPollInterval time.Duration
	// MetricsListen serves /metrics (":8080"; "0" turns it off).
	MetricsListen string
	// HealthListen serves /healthz and /readyz (":8081"; "0" turns it
	// off). Ready once the informers have synced and every namespace has
	// been evaluated once.
	HealthListen string
	// Reports turns on PolicyReports (wgpolicyk8s.io/v1alpha2), one per
	// namespace, named "plimsoll".
	Reports bool
	// Resync re-evaluates every namespace this often (10m), so exemptions
	// that expire take effect without a change to any object.
	Resync time.Duration
	// Debounce is how long a namespace waits after a change before it is
	// re-evaluated (1s): a rollout's burst of events costs one pass.
	Debounce time.Duration
	// Workers re-evaluate namespaces in parallel (2).
	Workers int
	Log     *slog.Logger
	// Dynamic writes PolicyReports (default: built from Config).
	Dynamic dynamic.Interface
}

// DefaultBackgroundOptions returns the defaults of `plimsoll audit --watch`.
func DefaultBackgroundOptions() BackgroundOptions {
	return BackgroundOptions{
		Options:            DefaultOptions(),
		ConfigPollInterval: 2 * time.Second,
		MetricsListen:      ":8080",
		HealthListen:       ":8081",
		Reports:            true,
		Resync:             10 * time.Minute,
		Debounce:           time.Second,
		Workers:            2,
	}
}

// Background is the background audit: informers on namespaces, Pods and
// every workload kind; a change marks its namespace, which is
// re-evaluated from the informers' caches (only changed objects are
// judged again) and published as gauges and a PolicyReport.
type Background struct {
	o       BackgroundOptions
	log     *slog.Logger
	client  kube.Interface
	dyn     dynamic.Interface
	scope   scope
	rules   []*validate.Rule
	cats    map[string]string
	nsInf   cache.SharedIndexInformer // nil with --namespace
	inf     map[string]cache.SharedIndexInformer
	queue   workqueue.TypedRateLimitingInterface[string]
	watcher *policy.Watcher
	metrics *metrics
	reg     *prometheus.Registry

	current atomic.Pointer[policyGen]
	ready   atomic.Bool

	metricsL, healthL net.Listener

	mu sync.Mutex
	// cache holds each namespace's judged objects by UID, with the
	// resourceVersion and policy generation they were judged at.
	cache map[string]map[types.UID]cached
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

type policyGen struct {
	p   *policy.Policy
	gen uint64
}

type cached struct {
	rv  string
	gen uint64
	ob  judged
}

// NewBackground checks the options, loads the policy and opens the
// listeners; Run starts the work.
func NewBackground(o BackgroundOptions) (*Background, error) {
	d := DefaultBackgroundOptions()
	o.Options = o.Options.withDefaults()
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
		cache: map[string]map[types.UID]cached{}, published: map[string]bool{}, written: map[string]string{}, inf: map[string]cache.SharedIndexInformer{}}
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
	b.reg = prometheus.NewRegistry()
	b.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	b.metrics = newMetrics(b.reg)
	if o.MetricsListen != "0" && o.MetricsListen != "" {
		if b.metricsL, err = net.Listen("tcp", o.MetricsListen); err != nil {
			return nil, fmt.Errorf("--metrics-listen: %w", err)
		}
	}
	if o.HealthListen != "0" && o.HealthListen != "" {
		if b.healthL, err = net.Listen("tcp", o.HealthListen); err != nil {
			b.closeListeners()
			return nil, fmt.Errorf("--health-listen: %w", err)
		}
	}
	b.queue = workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
		workqueue.TypedRateLimitingQueueConfig[string]{Name: "plimsoll-audit"})
	b.setupInformers()
	return b, nil
}

// MetricsAddr is the metrics listener's address, or nil.
func (b *Background) MetricsAddr() net.Addr { return addrOf(b.metricsL) }

// HealthAddr is the health listener's address, or nil.
func (b *Background) HealthAddr() net.Addr { return addrOf(b.healthL) }

func addrOf(l net.Listener) net.Addr {
	if l == nil {
		return nil
	}
	return l.Addr()
}

func (b *Background) closeListeners() {
	for _, l := range []net.Listener{b.metricsL, b.healthL} {
		if l != nil {
			l.Close()
		}
	}
}

// setupInformers creates the informers and their event handlers. Only
// what judging needs is cached: managed fields and Pod status are
// dropped on the way in.
func (b *Background) setupInformers() {
	opts := kube.InformerOptions{Transform: strip}
	if b.o.Namespace == "" {
		b.nsInf = kube.NewInformer(b.client, b.client.Namespaces(), opts)
		_, _ = b.nsInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj any) { b.enqueue(nameOf(obj)) },
			UpdateFunc: func(_, obj any) { b.enqueue(nameOf(obj)) },
			DeleteFunc: func(obj any) { b.enqueue(nameOf(obj)) },
		})
	}
	for _, k := range kinds {
		inf := k.informer(b.client, b.o.Namespace, opts)
		b.inf[k.gvk.Kind] = inf
		_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc: func(obj any) { b.enqueue(namespaceOf(obj)) },
			UpdateFunc: func(old, obj any) {
				if judgedTheSame(old, obj) {
					return
				}
				b.enqueue(namespaceOf(obj))
			},
			DeleteFunc: func(obj any) { b.enqueue(namespaceOf(obj)) },
		})
	}
}

// informers are the informers of Run, by kind.
func (b *Background) informers() map[string]cache.SharedIndexInformer {
	all := maps.Clone(b.inf)
	if b.nsInf != nil {
		all["Namespace"] = b.nsInf
	}
	return all
}

// strip drops what judging never reads from cached objects.
func strip(obj any) (any, error) {
	if m, err := meta.Accessor(obj); err == nil {
		m.SetManagedFields(nil)
	}
	if p, ok := obj.(*corev1.Pod); ok {
		p.Status = corev1.PodStatus{}
	}
	return obj, nil
}

// judgedTheSame reports whether an update changed nothing plimsoll
// judges: workloads' status updates keep their generation; Pods' keep
// their spec.
func judgedTheSame(old, obj any) bool {
	o, err1 := meta.Accessor(old)
	n, err2 := meta.Accessor(obj)
	if err1 != nil || err2 != nil {
		return false
	}
	if o.GetResourceVersion() == n.GetResourceVersion() {
		return true
	}
	if p, pod := obj.(*corev1.Pod); pod {
		// Pods change status all the time; their spec rarely.
		q, ok := old.(*corev1.Pod)
		if !ok || !equality.Semantic.DeepEqual(q.Spec, p.Spec) {
			return false
		}
	} else if n.GetGeneration() == 0 || o.GetGeneration() != n.GetGeneration() {
		return false
	}
	return sameStrings(o.GetLabels(), n.GetLabels()) && sameStrings(o.GetAnnotations(), n.GetAnnotations()) &&
		slices.EqualFunc(o.GetOwnerReferences(), n.GetOwnerReferences(), func(a, b metav1.OwnerReference) bool { return a.UID == b.UID })
}

func sameStrings(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func nameOf(obj any) string {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	if m, err := meta.Accessor(obj); err == nil {
		return m.GetName()
	}
	return ""
}

func namespaceOf(obj any) string {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		if ns, _, err := cache.SplitMetaNamespaceKey(d.Key); err == nil {
			return ns
		}
		obj = d.Obj
	}
	if m, err := meta.Accessor(obj); err == nil {
		return m.GetNamespace()
	}
	return ""
}

// enqueue marks a namespace for re-evaluation after the debounce; one
// out of scope is ignored unless it still has state to clean up.
func (b *Background) enqueue(ns string) {
	if ns == "" {
		return
	}
	if !b.inScope(ns) {
		b.mu.Lock()
		_, known := b.cache[ns]
		known = known || b.published[ns]
		b.mu.Unlock()
		if !known {
			return
		}
	}
	b.queue.AddAfter(ns, b.o.Debounce)
}

// inScope reports whether the namespace is audited, from the namespace
// informer's cache.
func (b *Background) inScope(ns string) bool {
	if b.nsInf == nil {
		return ns == b.o.Namespace
	}
	item, ok, err := b.nsInf.GetStore().GetByKey(ns)
	if err != nil || !ok {
		return false
	}
	n := item.(*corev1.Namespace)
	if n.DeletionTimestamp != nil {
		return false
	}
	return b.scope.selects(n.Name, n.Labels)
}

// enqueueAll marks every namespace in scope, and every one that still
// has a report, for re-evaluation.
func (b *Background) enqueueAll() {
	for _, ns := range b.namespaces() {
		b.enqueue(ns)
	}
}

func (b *Background) namespaces() []string {
	var names []string
	if b.nsInf == nil {
		names = []string{b.o.Namespace}
	} else {
		names = b.nsInf.GetStore().ListKeys()
	}
	b.mu.Lock()
	for ns := range b.published {
		if !slices.Contains(names, ns) {
			names = append(names, ns)
		}
	}
	b.mu.Unlock()
	return names
}

// setPolicy puts a newly loaded policy in force and re-evaluates
// everything.
func (b *Background) setPolicy(p *policy.Policy) {
	old := b.current.Load()
	b.current.Store(&policyGen{p: p, gen: old.gen + 1})
	b.metrics.reloads.WithLabelValues("success").Inc()
	b.log.Info("policy loaded, re-evaluating every namespace", "policy_hash", p.Hash())
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
	errc := make(chan error, 2)
	var servers []*http.Server
	if b.metricsL != nil {
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(b.reg, promhttp.HandlerOpts{Registry: b.reg}))
		s := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		servers = append(servers, s)
		go func() { errc <- serveErr(s.Serve(b.metricsL)) }()
	}
	if b.healthL != nil {
		mux := http.NewServeMux()
		mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
		mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
			if !b.ready.Load() {
				http.Error(w, "informers not synced yet", http.StatusServiceUnavailable)
				return
			}
			fmt.Fprintln(w, "ok")
		})
		s := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		servers = append(servers, s)
		go func() { errc <- serveErr(s.Serve(b.healthL)) }()
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, s := range servers {
			_ = s.Shutdown(sctx)
		}
	}()
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
		case err = <-errc:
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

// setReady marks the first pass done.
func (b *Background) setReady() {
	if !b.ready.Swap(true) {
		b.log.Info("background audit ready: every namespace evaluated once")
	}
}

// passed notes that ns was evaluated; once every namespace of the first
// pass has been, the audit is ready.
func (b *Background) passed(ns string) {
	b.mu.Lock()
	delete(b.firstPass, ns)
	done := len(b.firstPass) == 0
	b.mu.Unlock()
	if done {
		b.setReady()
	}
}

func serveErr(err error) error {
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// next processes one namespace from the queue; false once it shuts down.
func (b *Background) next(ctx context.Context) bool {
	ns, quit := b.queue.Get()
	if quit {
		return false
	}
	defer b.queue.Done(ns)
	began := time.Now()
	err := b.sync(ctx, ns)
	b.log.Debug("namespace evaluated", "namespace", ns, "took", time.Since(began).String())
	if err != nil {
		b.log.Error("re-evaluating a namespace failed, will retry", "namespace", ns, "error", err.Error())
		b.queue.AddRateLimited(ns)
		return true
	}
	b.queue.Forget(ns)
	b.passed(ns)
	return true
}

// sync re-evaluates one namespace from the informers' caches and
// publishes the result.
func (b *Background) sync(ctx context.Context, ns string) error {
	if !b.inScope(ns) {
		b.mu.Lock()
		delete(b.cache, ns)
		published := b.published[ns]
		b.mu.Unlock()
		b.metrics.forgetNamespace(ns)
		if published {
			return b.deleteReport(ctx, ns)
		}
		return nil
	}
	objs, err := b.evaluate(ns)
	if err != nil {
		return err
	}
	b.metrics.setNamespace(ns, objs)
	b.metrics.lastSync.SetToCurrentTime()
	if b.o.Reports {
		return b.writeReport(ctx, ns, objs)
	}
	return nil
}

// evaluate judges the namespace's objects as Run does (each Pod made by
// an existing workload through that workload), judging again only what
// changed since the last pass.
func (b *Background) evaluate(ns string) ([]judged, error) {
	pg := b.current.Load()
	o := b.o.Options
	o.Policy = pg.p
	now := time.Now()
	b.mu.Lock()
	prev := b.cache[ns]
	b.mu.Unlock()
	next := map[types.UID]cached{}
	var out []judged
	exists := func(ref *metav1.OwnerReference) bool {
		inf := b.inf[ref.Kind]
		if inf == nil {
			return false
		}
		item, ok, err := inf.GetStore().GetByKey(ns + "/" + ref.Name)
		if err != nil || !ok {
			return false
		}
		m, err := meta.Accessor(item)
		return err == nil && m.GetUID() == ref.UID
	}
	for _, k := range kinds {
		items, err := b.inf[k.gvk.Kind].GetIndexer().ByIndex(cache.NamespaceIndex, ns)
		if err != nil {
			return nil, err
		}
		for _, item := range items {
			m, err := meta.Accessor(item)
			if err != nil {
				continue
			}
			if throughOwner(m, k.ownedBy, exists) {
				continue
			}
			if c, ok := prev[m.GetUID()]; ok && c.rv == m.GetResourceVersion() && c.gen == pg.gen {
				next[m.GetUID()] = c
				out = append(out, c.ob)
				continue
			}
			// The cache's objects are shared: judge a copy.
			ob, err := judge(b.rules, o, item.(runtime.Object).DeepCopyObject(), exists)
			if err != nil {
				b.log.Error("cannot judge an object", "namespace", ns, "kind", k.gvk.Kind, "name", m.GetName(), "error", err.Error())
				continue
			}
			c := cached{rv: m.GetResourceVersion(), gen: pg.gen, ob: judged{Object: ob, at: now}}
			if old, ok := prev[m.GetUID()]; ok && sameFindings(old.ob.Object, ob) {
				c.ob.at = old.ob.at // nothing new: keep the report stable
			}
			next[m.GetUID()] = c
			out = append(out, c.ob)
		}
	}
	slices.SortFunc(out, func(a, b judged) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Name, b.Name))
	})
	b.mu.Lock()
	b.cache[ns] = next
	b.mu.Unlock()
	return out, nil
}

func sameFindings(a, b *Object) bool {
	return slices.EqualFunc(a.Findings, b.Findings, func(x, y Finding) bool { return x == y })
}

// adoptReports learns which namespaces already hold a plimsoll report
// (from before a restart), so that those now out of scope are cleaned up.
func (b *Background) adoptReports(ctx context.Context) {
	if !b.o.Reports {
		return
	}
	ri := b.dyn.Resource(PolicyReportGVR).Namespace(b.o.Namespace)
	l, err := ri.List(ctx, metav1.ListOptions{LabelSelector: ManagedByLabel + "=" + managedBy})
	if err != nil {
		b.noteReportsError(err)
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, item := range l.Items {
		if item.GetName() == ReportName {
			b.published[item.GetNamespace()] = true
		}
	}
}

// writeReport creates or updates the namespace's PolicyReport when what
// it says changed.
func (b *Background) writeReport(ctx context.Context, ns string, objs []judged) error {
	want, err := newPolicyReport(ns, objs, b.cats)
	if err != nil {
		return err
	}
	memo := reportMemo(want)
	b.mu.Lock()
	unchanged := b.written[ns] == memo
	b.mu.Unlock()
	if unchanged {
		return nil
	}
	ri := b.dyn.Resource(PolicyReportGVR).Namespace(ns)
	have, err := ri.Get(ctx, ReportName, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = ri.Create(ctx, want, metav1.CreateOptions{FieldManager: "plimsoll-audit"})
		b.count("create", err)
		if err != nil {
			if b.noteReportsError(err) {
				b.queue.AddAfter(ns, time.Minute)
				return nil
			}
			return fmt.Errorf("creating PolicyReport %s/%s: %w", ns, ReportName, err)
		}
	case err != nil:
		if b.noteReportsError(err) {
			b.queue.AddAfter(ns, time.Minute)
			return nil
		}
		return fmt.Errorf("reading PolicyReport %s/%s: %w", ns, ReportName, err)
	case have.GetLabels()[ManagedByLabel] != managedBy:
		b.log.Warn("a PolicyReport named plimsoll that plimsoll does not manage is in the way; leaving it alone", "namespace", ns)
		return nil
	case sameReport(have, want):
	default:
		want.SetResourceVersion(have.GetResourceVersion())
		_, err = ri.Update(ctx, want, metav1.UpdateOptions{FieldManager: "plimsoll-audit"})
		b.count("update", err)
		if err != nil {
			return fmt.Errorf("updating PolicyReport %s/%s: %w", ns, ReportName, err)
		}
	}
	b.mu.Lock()
	b.published[ns] = true
	b.written[ns] = memo
	b.reportsMissing = false
	b.mu.Unlock()
	return nil
}

// deleteReport removes the report of a namespace that left the scope.
func (b *Background) deleteReport(ctx context.Context, ns string) error {
	err := b.dyn.Resource(PolicyReportGVR).Namespace(ns).Delete(ctx, ReportName, metav1.DeleteOptions{})
	if apierrors.IsNotFound(err) {
		err = nil
	}
	b.count("delete", err)
	if err != nil {
		return fmt.Errorf("deleting PolicyReport %s/%s: %w", ns, ReportName, err)
	}
	b.mu.Lock()
	delete(b.published, ns)
	delete(b.written, ns)
	b.mu.Unlock()
	return nil
}

func (b *Background) count(op string, err error) {
	result := "success"
	if err != nil {
		result = "failure"
	}
	b.metrics.writes.WithLabelValues(op, result).Inc()
}

// noteReportsError reports whether err says that the PolicyReport API is
// not served (its CRD is not installed); it logs that once.
func (b *Background) noteReportsError(err error) bool {
	if !apierrors.IsNotFound(err) && !meta.IsNoMatchError(err) {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.reportsMissing {
		b.reportsMissing = true
		b.log.Warn("the PolicyReport API (wgpolicyk8s.io/v1alpha2) is not served: install its CRD to get reports; metrics work meanwhile", "error", err.Error())
	}
	return true
}
