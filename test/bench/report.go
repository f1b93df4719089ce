package main

import (
	"fmt"
	"github.com/plimsoll/plimsoll/internal/fixtures"
	"os"
	"slices"
	"strings"
	"time"
)

// report collects every phase's results and renders them.
type report struct {
	*settings
	machine           machineInfo
	started, finished time.Time

	goResults []goResult

	loop                                   []loopResult
	loopbackRSS, loopbackHWM, loopbackAnon int64
	// crowdRSS is the resident set while serving the cost-bomb pair,
	// reported apart from the steady state's.
	crowdRSS int64
	noopRSS  int64

	api    []*apiSeries
	apiPID int

	mem                           []memSample
	context                       []contextSample
	memIdleKB, memMaxKB, memHWMKB int64
	memElapsed                    time.Duration
}

// Markers delimit what `make bench` rewrites in docs/performance.md; the
// text around them is written by hand.
const (
	beginMarker = "<!-- BEGIN make bench: generated, do not edit by hand -->"
	endMarker   = "<!-- END make bench -->"
)

func writeReport(path, generated string) error {
	block := beginMarker + "\n" + generated + "\n" + endMarker
	old, err := os.ReadFile(path)
	if err != nil || !strings.Contains(string(old), beginMarker) || !strings.Contains(string(old), endMarker) {
		return os.WriteFile(path, []byte("# Performance\n\n"+block+"\n"), 0o644)
	}
	s := string(old)
	i := strings.Index(s, beginMarker)
	j := strings.Index(s, endMarker) + len(endMarker)
	return os.WriteFile(path, []byte(s[:i]+block+s[j:]), 0o644)
}

func (r *report) markdown() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	m := r.machine
	w("## Results of the last run\n\n")
	w("- **Machine:** %s CPUs (`nproc`), %s; %s; %s\n", m.cpus, m.model, m.kernel, m.goVersion)
	w("- **Date:** %s; took %s; load average at the start %s (other work shares the cores: read the ratios, which compare runs taken back to back, rather than the absolute numbers)\n",
		m.date, r.finished.Sub(r.started).Round(time.Second), m.load)
	w("- **Command:** `make bench` (phases: %s; BENCH_DURATION=%s, BENCH_WARMUP=%s per load point; BENCH_ROUNDS=%d", strings.Join(r.phases, ","), r.duration, r.warmup, r.rounds)
	if r.before != "" {
		w("; BENCH_BEFORE=%s", r.before)
	}
	w(")\n\n")

	if len(r.goResults) > 0 {
		w("### Go benchmarks\n\n")
		w("`%s`, run %d times, median shown. The built-in policy and the whole rule catalogue; the handler benchmark goes from AdmissionReview bytes to answer bytes through the server's mux, with the Prometheus recorder and a JSON logger at info. `cpu-µs/op` is the process's CPU time per operation (garbage collection included), steadier than wall time on a shared machine.\n\n",
			strings.Join(r.goCommand(), " "), r.goCount)
		if r.before != "" {
			w("| benchmark | µs/op | cpu-µs/op | allocs/op | B/op | before (%s): cpu-µs/op | allocs/op | B/op | CPU after/before |\n|---|--:|--:|--:|--:|--:|--:|--:|--:|\n", r.before)
		} else {
			w("| benchmark | µs/op | cpu-µs/op | allocs/op | B/op |\n|---|--:|--:|--:|--:|\n")
		}
		for _, g := range r.goResults {
			w("| %s | %.1f | %.1f | %.0f | %.0f |", g.name, g.nsOp/1e3, g.cpuNsOp/1e3, g.allocsOp, g.bytesOp)
			if r.before != "" {
				if g.before != nil {
					w(" %.1f | %.0f | %.0f | %.2f× |", g.before.cpuNsOp/1e3, g.before.allocsOp, g.before.bytesOp, g.cpuNsOp/g.before.cpuNsOp)
				} else {
					w(" – | – | – | – |")
				}
			}
			w("\n")
		}
		w("\n")
	}

	if len(r.loop) > 0 {
		w("### Loopback HTTPS: plimsoll serve against the no-op webhook\n\n")
		warmup, duration := r.round()
		w("`plimsoll serve` (built as `make build` does, default flags, JSON logs at info) and `test/bench/noop` (decodes the AdmissionReview with encoding/json, answers allowed), on the same throwaway certificate over TLS on 127.0.0.1; the load generator (`test/bench/load`) keeps one HTTP/1.1 keep-alive connection per worker in a closed loop, measures each point in %d rounds, and in each round runs both servers back to back (alternating which goes first), each warming up for %s and measuring for %s. Server CPU is utime+stime from `/proc/<pid>/stat` over the measurement, divided by the requests answered. Requests/s, CPU per request and the latencies below pool the rounds; the **ratios** are the median of the rounds' ratios, with their range in brackets: how much the machine moved while measuring.\n\n", r.rounds, warmup, duration.Round(time.Millisecond))
		w("| endpoint | object (answer) | conc. | plimsoll req/s | no-op req/s | **throughput ratio** | plimsoll CPU/req | no-op CPU/req | **CPU ratio** |\n|---|---|--:|--:|--:|--:|--:|--:|--:|\n")
		for _, l := range r.loop {
			w("| `%s` | %s (%s) | %d | %.0f | %.0f | **%s×** | %s | %s | **%s×** |\n", l.path, l.fixture, l.plimsoll.Answer, l.concurrency,
				l.plimsoll.PerSecond, l.noop.PerSecond, spread(l.throughput),
				us(l.plimsoll.CPUPerRequest), us(l.noop.CPUPerRequest), spread(l.cpu))
		}
		w("\nLatency seen by the client (ms):\n\n| endpoint | object | conc. | plimsoll p50 | p90 | p99 | max | no-op p50 | p90 | p99 | max |\n|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
		for _, l := range r.loop {
			w("| `%s` | %s | %d | %s | %s | %s | %s | %s | %s | %s | %s |\n", l.path, l.fixture, l.concurrency,
				ms(l.plimsoll.P50), ms(l.plimsoll.P90), ms(l.plimsoll.P99), ms(l.plimsoll.Max),
				ms(l.noop.P50), ms(l.noop.P90), ms(l.noop.P99), ms(l.noop.Max))
		}
		w("\nplimsoll's resident set while serving these: at most %.1f MB (%.1f MiB; VmRSS sampled every 250 ms), of which at most %.1f MB anonymous (RssAnon: heap and stacks; the rest is mapped pages of the binary), peak VmHWM %.1f MB; the no-op server's at most %.1f MB.\n\n", mb(r.loopbackRSS), mib(r.loopbackRSS), mb(r.loopbackAnon), mb(r.loopbackHWM), mb(r.noopRSS))
		if r.crowdRSS > 0 {
			w("Serving the Pods of 3,000 and 30,000 containers (measured last, and left out of the figure above) took the resident set to %.1f MB (%.1f MiB), with no GOMEMLIMIT set: see \"Fourth round\" above for what that means for the chart's memory limit.\n\n", mb(r.crowdRSS), mib(r.crowdRSS))
		}
	}

	if len(r.api) > 0 {
		w("### Through a real kube-apiserver: server-side dry-run Pod creates\n\n")
		w("The test control plane (`test/harness`: envtest's kube-apiserver and etcd, plimsoll serve) on the same cores as everything else. Clients create a compliant Pod (`internal/fixtures/testdata/pod-compliant.yaml`, admitted unchanged) with `dryRun: All` in a namespace labelled `plimsoll.dev/mode: enforce`, in a closed loop (%s warm-up, %s measured per round). Set-ups: **none** (no webhook matches), **no-op** (`test/bench/noop` registered as a mutating webhook for Pod CREATE and a validating webhook for Pods and workloads, with the settings of plimsoll's enforce entries: the floor for two webhook calls), **plimsoll** (its mutating and validating configurations as the chart installs them). **policies** (no webhook; the ValidatingAdmissionPolicies and bindings of `plimsoll export`), **plimsoll+policies** (both). After an unmeasured warm-up round, the order is plimsoll, plimsoll+policies, policies, no-op, none, no-op, policies, plimsoll+policies, plimsoll, twice over — none is measured twice and every other set-up four times, and each set-up's rounds are pooled.\n\n", r.warmup, r.duration)
		w("The last column is the API server's own measure (`apiserver_admission_webhook_admission_duration_seconds`, summed over both webhooks, warm-ups included): the mean time it spent in its webhook calls for one create: building the AdmissionReview, the round trip, reading (and, for the mutating webhook, applying) the answer.\n\n")
		w("| clients | set-up | creates | creates/s | median ms | p99 ms | errors | in webhook calls, ms per create |\n|--:|---|--:|--:|--:|--:|--:|--:|\n")
		for _, c := range r.apiClients {
			for _, setup := range apiSetups {
				if s := r.apiFind(setup, c); s != nil {
					inCalls := "—"
					if d, ok := s.webhookPerCreate(); ok {
						inCalls = ms(d)
					}
					w("| %d | %s | %d | %.0f | %s | %s | %d | %s |\n", c, setup, s.requests, s.perSecond(), ms(s.quantile(0.5)), ms(s.quantile(0.99)), s.errors, inCalls)
				}
			}
		}
		for _, c := range r.apiClients {
			if n := r.apiFind(setupNoop, c); n != nil && n.webhookCreates > 0 {
				w("\nWith the no-op as both webhooks at %d client(s), the API server opened %d new connection(s) to it over these rounds, warm-ups included, in which it called the validating webhook %d times: its webhook client keeps its connections alive.", c, n.noopConnections, n.webhookCreates)
			}
		}
		w("\n\n| clients | plimsoll / no-op (creates/s) | plimsoll / none | median added by plimsoll vs none | vs no-op |\n|--:|--:|--:|--:|--:|\n")
		for _, c := range r.apiClients {
			p, n, a := r.apiFind(setupPlimsoll, c), r.apiFind(setupNoop, c), r.apiFind(setupNone, c)
			if p == nil || n == nil || a == nil {
				continue
			}
			w("| %d | **%.2f×** | %.2f× | %s ms | %s ms |\n", c, p.perSecond()/n.perSecond(), p.perSecond()/a.perSecond(),
				msSigned(p.quantile(0.5)-a.quantile(0.5)), msSigned(p.quantile(0.5)-n.quantile(0.5)))
		}
		if r.apiFind(setupPolicies, r.apiClients[0]) != nil {
			w("\nThe policies of `plimsoll export` (the built-in policy's in-process rules, run by the API server itself, bound to the bench namespace's mode), alone and beside the webhooks:\n\n")
			w("| clients | policies / none (creates/s) | plimsoll / none | plimsoll+policies / none | median added by the policies vs none |\n|--:|--:|--:|--:|--:|\n")
			for _, c := range r.apiClients {
				a, pol, p, both := r.apiFind(setupNone, c), r.apiFind(setupPolicies, c), r.apiFind(setupPlimsoll, c), r.apiFind(setupBoth, c)
				if a == nil || pol == nil || p == nil || both == nil {
					continue
				}
				w("| %d | **%.2f×** | %.2f× | %.2f× | %s ms |\n", c, pol.perSecond()/a.perSecond(), p.perSecond()/a.perSecond(), both.perSecond()/a.perSecond(),
					msSigned(pol.quantile(0.5)-a.quantile(0.5)))
			}
		}
		w("\n")
	}

	if len(r.mem) > 0 {
		w("### Memory\n\n")
		w("A fresh `plimsoll serve`, %d requests (half a Deployment on `/validate/enforce`, half a bare Pod on `/mutate/enforce`, 4 connections each) in %s; VmRSS from `/proc/<pid>/status`.\n\n", r.memRequests, r.memElapsed.Round(time.Second))
		w("| after requests | VmRSS MB |\n|--:|--:|\n| 0 (idle, ready) | %.1f |\n", mb(r.memIdleKB))
		for _, s := range r.mem {
			w("| %d | %.1f |\n", s.requests, mb(s.rssKB))
		}
		w("\nLargest VmRSS sampled while serving: %.1f MB; VmHWM at the end: %.1f MB.\n\n", mb(r.memMaxKB), mb(r.memHWMKB))
	}

	if len(r.context) > 0 {
		w("### Memory of the context rules' caches\n\n")
		w("A fresh `plimsoll serve` reading a real kube-apiserver (`--kubeconfig`) that serves trivy-operator's VulnerabilityReport custom resource, with the context rules on (it lists and watches PodDisruptionBudgets, HorizontalPodAutoscalers, Deployments, StatefulSets, ServiceAccounts, NetworkPolicies and VulnerabilityReports, each stripped to what the rules read) and off (`contextRules: false`: no cache). The cluster is empty, then holds %d each of PodDisruptionBudgets, HorizontalPodAutoscalers, ResourceQuotas and Deployments over %d namespaces (*availability*; ResourceQuotas are not cached by `serve`: `namespace-quota` is judged by `audit` and `check`), then also %d each of NetworkPolicies and VulnerabilityReports of 40 vulnerabilities (*security*). VmRSS 3 s after the caches synced (or after ready, when off).\n\n", r.contextObjects, contextNamespaces, r.contextObjects)
		w("| cluster | objects of each kind | context rules | VmRSS MB | Go heap in use MB | caches synced after |\n|---|--:|---|--:|--:|--:|\n")
		type pair struct{ rss, heap [2]int64 } // off, on
		by := map[string]*pair{}
		for _, s := range r.context {
			state, synced, i := "off", "—", 0
			if s.on {
				state, synced, i = "on", s.syncedIn.Round(10*time.Millisecond).String(), 1
			}
			w("| %s | %d | %s | %.1f | %.1f | %s |\n", s.stage, s.objects, state, mb(s.rssKB), mb(s.heapKB), synced)
			if by[s.stage] == nil {
				by[s.stage] = &pair{}
			}
			by[s.stage].rss[i], by[s.stage].heap[i] = s.rssKB, s.heapKB
		}
		// cost is what the caches add: on minus off, in KiB.
		cost := func(p *pair) (rss, heap int64) { return p.rss[1] - p.rss[0], p.heap[1] - p.heap[0] }
		n := int64(r.contextObjects)
		if a := by[contextAvailability]; a != nil && a.rss[0] > 0 && a.rss[1] > 0 {
			rss, heap := cost(a)
			w("\nAvailability: the caches of %d objects of each kind cost %.1f MB of VmRSS (on minus off), %.0f bytes per cached object (%d PodDisruptionBudgets, HorizontalPodAutoscalers and Deployments); %.1f MB of Go heap in use, %.0f bytes per object.\n",
				r.contextObjects, mb(rss), float64(rss*1024)/float64(3*n), 3*n, mb(heap), float64(heap*1024)/float64(3*n))
			if sec := by[contextSecurity]; sec != nil && sec.rss[0] > 0 && sec.rss[1] > 0 {
				srss, sheap := cost(sec)
				w("\nSecurity: %d NetworkPolicies and %d VulnerabilityReports more add %.1f MB of VmRSS to the caches' cost, %.0f bytes per object; %.1f MB of Go heap in use, %.0f bytes per object. All the caches together: %.1f MB of VmRSS.\n",
					n, n, mb(srss-rss), float64((srss-rss)*1024)/float64(2*n), mb(sheap-heap), float64((sheap-heap)*1024)/float64(2*n), mb(srss))
			}
			w("\nplimsoll serve forces one collection after each cache's first sync and returns what the lists took to the system (`settle`, internal/clusterwatch): the informers hold every object of their first list whole until it ends and strip them only then. Heap in use also counts what the collector has yet to free since; plimsoll serve's GOGC=200 lets the heap reach three times what is live before it collects, and GOMEMLIMIT, which the chart sets from the memory limit, makes it collect sooner as the limit nears.\n\n")
		}
	}

	w("### Targets\n\n| target | measured | |\n|---|---|---|\n")
	for _, t := range r.targets() {
		verdict := "met"
		switch {
		case t.unknown:
			verdict = "not measured in this run"
		case !t.met:
			verdict = "**missed**"
		}
		w("| %s | %s | %s |\n", t.what, t.measured, verdict)
	}
	return b.String()
}

func (r *report) apiFind(setup string, clients int) *apiSeries {
	for _, s := range r.api {
		if s.setup == setup && s.clients == clients {
			return s
		}
	}
	return nil
}

type target struct {
	what, measured string
	met, unknown   bool
}

func (r *report) targets() []target {
	var ts []target
	// Loopback, at concurrency 1 and 8: every point, and then the
	// compliant Pods alone, the steady state of a cluster that follows
	// the policy (most objects need neither a default nor a warning).
	ts = append(ts, r.loopbackTargets("", func(l loopResult) bool { return !crowd(l.fixture) })...)
	ts = append(ts, r.costTarget())
	compliant := func(l loopResult) bool {
		return l.fixture == fixtures.CompliantPod || l.fixture == fixtures.CompliantSent
	}
	if slices.ContainsFunc(r.loop, compliant) {
		ts = append(ts, r.loopbackTargets(" — compliant Pods only", compliant)...)
	}

	api8 := target{what: "API server, 8 clients: plimsoll's creates/s ≥ 0.9× the no-op's as both webhooks", unknown: true}
	if p, n := r.apiFind(setupPlimsoll, 8), r.apiFind(setupNoop, 8); p != nil && n != nil {
		rt := p.perSecond() / n.perSecond()
		api8 = target{what: api8.what, measured: fmt.Sprintf("%.2f× (%.0f vs %.0f creates/s)", rt, p.perSecond(), n.perSecond()), met: rt >= 0.9}
	}
	api1 := target{what: "API server, 1 client: < 1 ms added to the median create (plimsoll vs no webhook)", unknown: true}
	if p, a := r.apiFind(setupPlimsoll, 1), r.apiFind(setupNone, 1); p != nil && a != nil {
		d := p.quantile(0.5) - a.quantile(0.5)
		api1 = target{what: api1.what, measured: fmt.Sprintf("%s ms (%s vs %s ms)", msSigned(d), ms(p.quantile(0.5)), ms(a.quantile(0.5))), met: d < time.Millisecond}
		if n := r.apiFind(setupNoop, 1); n != nil {
			api1.measured += fmt.Sprintf("; the no-op as both webhooks adds %s ms, plimsoll %s ms beyond it", msSigned(n.quantile(0.5)-a.quantile(0.5)), msSigned(p.quantile(0.5)-n.quantile(0.5)))
		}
	}
	ts = append(ts, api8, api1)

	rss := target{what: "resident set (VmRSS) while serving < 50 MB", unknown: true}
	if peak := max(r.loopbackRSS, r.memMaxKB); peak > 0 {
		rss = target{what: rss.what, measured: fmt.Sprintf("at most %.1f MB (%.1f MiB)", mb(peak), mib(peak)), met: peak*1024 < 50_000_000}
	}
	growth := target{what: "VmRSS after 1,000,000 requests within 10% of after 10,000", unknown: true}
	if len(r.mem) >= 2 {
		var at10k, atEnd memSample
		for _, s := range r.mem {
			if s.requests == 10_000 {
				at10k = s
			}
			if s.requests >= atEnd.requests {
				atEnd = s
			}
		}
		if at10k.rssKB > 0 {
			g := float64(atEnd.rssKB)/float64(at10k.rssKB) - 1
			growth = target{what: growth.what, measured: fmt.Sprintf("%.1f MB after 10,000, %.1f MB after %d: %+.1f%%", mb(at10k.rssKB), mb(atEnd.rssKB), atEnd.requests, g*100), met: g <= 0.10 && atEnd.requests >= 1_000_000}
			if atEnd.requests < 1_000_000 {
				growth.measured += " (fewer requests than the target asks: BENCH_MEMORY_REQUESTS)"
			}
		}
	}
	ts = append(ts, rss, growth)
	return ts
}

// costTarget judges how plimsoll's work grows with the object: a Pod of
// 30,000 containers against one of 3,000, CPU per request, in the Go
// handler benchmark and through loopback HTTPS. Linear work gives about
// 10×; issue 14 asks for at most 12× (it was about 60× before).
func (r *report) costTarget() target {
	t := target{what: "cost in the object's size: a 30,000-container Pod ≤ 12× the CPU of a 3,000-container one (Go benchmark and loopback, `/validate/enforce` and `/mutate/enforce`)", met: true, unknown: true}
	var measured []string
	judge := func(where string, small, big float64) {
		if small <= 0 || big <= 0 {
			return
		}
		x := big / small
		t.unknown = false
		t.met = t.met && x <= 12
		measured = append(measured, fmt.Sprintf("%s: %.1f×", where, x))
	}
	cpuOf := func(name string) float64 {
		for _, g := range r.goResults {
			if g.name == name {
				return g.cpuNsOp
			}
		}
		return 0
	}
	for _, path := range []string{"validate/enforce", "mutate/enforce"} {
		judge("go "+path, cpuOf("Handler/"+path+"/"+fixtures.Pod3000), cpuOf("Handler/"+path+"/"+fixtures.Pod30000))
	}
	loop := func(path, fixture string) float64 {
		for _, l := range r.loop {
			if l.path == path && l.fixture == fixture && l.concurrency == 1 {
				return float64(l.plimsoll.CPUPerRequest)
			}
		}
		return 0
	}
	for _, path := range []string{"/validate/enforce", "/mutate/enforce"} {
		judge("loopback "+short(path), loop(path, fixtures.Pod3000), loop(path, fixtures.Pod30000))
	}
	t.measured = strings.Join(measured, "; ")
	return t
}

// loopbackTargets judges the loopback points that keep selects.
func (r *report) loopbackTargets(suffix string, keep func(loopResult) bool) []target {
	thr := target{what: "loopback throughput, `/validate/enforce` and `/mutate/enforce`, concurrency 1 and 8: ≥ 0.8× the no-op" + suffix, met: true, unknown: true}
	cpu := target{what: "server CPU per request: ≤ 1.3× the no-op's" + suffix, met: true, unknown: true}
	p99 := target{what: "p99 at concurrency 1: < 0.5 ms" + suffix, met: true, unknown: true}
	var thrs, cpus, p99s []string
	for _, l := range r.loop {
		if (l.concurrency != 1 && l.concurrency != 8) || !keep(l) {
			continue
		}
		thr.unknown, cpu.unknown = false, false
		tr, cr := l.throughputRatio(), l.cpuRatio()
		thr.met = thr.met && tr >= 0.8
		cpu.met = cpu.met && cr <= 1.3
		thrs = append(thrs, fmt.Sprintf("%s %s c=%d: %.2f×", short(l.path), l.fixture, l.concurrency, tr))
		cpus = append(cpus, fmt.Sprintf("%s %s c=%d: %.2f×", short(l.path), l.fixture, l.concurrency, cr))
		if l.concurrency == 1 {
			p99.unknown = false
			p99.met = p99.met && l.plimsoll.P99 < 500*time.Microsecond
			p99s = append(p99s, fmt.Sprintf("%s %s: %s ms (no-op %s ms)", short(l.path), l.fixture, ms(l.plimsoll.P99), ms(l.noop.P99)))
		}
	}
	thr.measured, cpu.measured, p99.measured = strings.Join(thrs, "; "), strings.Join(cpus, "; "), strings.Join(p99s, "; ")
	return []target{thr, cpu, p99}
}

func short(path string) string { return strings.TrimSuffix(strings.TrimPrefix(path, "/"), "/enforce") }

// mb is KiB in megabytes (10^6 bytes), as the targets are written.
func mb(kib int64) float64 { return float64(kib) * 1024 / 1e6 }

func us(d time.Duration) string { return fmt.Sprintf("%.0f µs", float64(d)/1e3) }

func ms(d time.Duration) string { return fmt.Sprintf("%.3f", float64(d)/1e6) }

func msSigned(d time.Duration) string { return fmt.Sprintf("%+.3f", float64(d)/1e6) }

func mib(kb int64) float64 { return float64(kb) / 1024 }

func ratio(a, b time.Duration) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}
