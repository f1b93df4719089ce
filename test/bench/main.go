// Command bench is `make bench`: it measures what plimsoll costs and
// writes docs/performance.md.
//
//  1. Go benchmarks of the pipeline and the handler, per fixture
//     (go test -bench, -benchmem, with CPU time per operation).
//  2. A loopback HTTPS load test of `plimsoll serve` against the no-op
//     webhook in test/bench/noop, interleaved in the same run, at
//     concurrency 1, 8 and 32.
//  3. Server-side dry-run Pod creates through a real kube-apiserver with no
//     webhook, with the no-op server as both webhooks, and with plimsoll's.
//  4. With BENCH_MEMORY=1: plimsoll's resident set after 10,000 and after
//     1,000,000 requests.
//  5. The context phase: plimsoll's resident set with the context rules'
//     caches (on) and without (contextRules: false), in an empty cluster,
//     in one of BENCH_CONTEXT_OBJECTS each of PodDisruptionBudgets,
//     HorizontalPodAutoscalers, ResourceQuotas and Deployments, and after
//     as many NetworkPolicies and VulnerabilityReports more.
//
// Environment (all optional):
//
//	BENCH_DURATION   measured time per load point (5s); a loopback point
//	                 splits it over its rounds
//	BENCH_WARMUP     warm-up before each load point (1s); half of it before
//	                 each loopback round
//	BENCH_ROUNDS     rounds of each loopback point, plimsoll and the no-op
//	                 back to back in each; the ratios are the rounds' median (3)
//	BENCH_PHASES     comma-separated phases: go,loopback,apiserver,context,memory
//	                 (go,loopback,apiserver,context; memory is added by BENCH_MEMORY=1)
//	BENCH_CONTEXT_OBJECTS  objects of each kind in the context phase (10000)
//	BENCH_MEMORY     1: also run the memory phase
//	BENCH_MEMORY_REQUESTS  requests of the memory phase (1000000)
//	BENCH_GO_BENCHTIME     -benchtime of the Go benchmarks (1s)
//	BENCH_GO_COUNT         -count of the Go benchmarks; the median is reported (3)
//	BENCH_BEFORE     a git revision: also run the Go benchmarks on it,
//	                 interleaved, for a before/after table
//	BENCH_OUT        the report to write (docs/performance.md); "-" for none
package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/plimsoll/plimsoll/internal/fixtures"
	"github.com/plimsoll/plimsoll/test/harness"
)

type settings struct {
	root           string
	duration       time.Duration
	warmup         time.Duration
	rounds         int
	phases         []string
	memRequests    int64
	contextObjects int
	goBenchtime    string
	goCount        int
	before         string
	profileDir     string // BENCH_PROFILE: CPU profiles of plimsoll serve, per loopback point
	out            string
	concurrencies  []int
	apiClients     []int
	loopbackPoints []point
}

func main() {
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	ctrllog.SetLogger(logr.Discard()) // envtest's progress lines; ours say enough
	s, err := loadSettings()
	if err != nil {
		fail(err)
	}
	rep := &report{settings: s, machine: machine(), started: time.Now()}
	for _, ph := range s.phases {
		logf("== %s", ph)
		var err error
		switch ph {
		case "go":
			err = rep.goBenchmarks(ctx)
		case "loopback":
			err = rep.loopback(ctx)
		case "apiserver":
			err = rep.apiServer(ctx)
		case "memory":
			err = rep.memory(ctx)
		case "context":
			err = rep.contextCaches(ctx)
		default:
			err = fmt.Errorf("unknown phase %q (go, loopback, apiserver, context, memory)", ph)
		}
		if err != nil {
			fail(fmt.Errorf("%s: %w", ph, err))
		}
	}
	rep.finished = time.Now()
	text := rep.markdown()
	fmt.Println()
	fmt.Println(text)
	if s.out != "-" {
		out := s.out
		if !filepath.IsAbs(out) {
			out = filepath.Join(s.root, out)
		}
		if err := writeReport(out, text); err != nil {
			fail(err)
		}
		logf("wrote %s", s.out)
	}
}

func loadSettings() (*settings, error) {
	root, err := harness.RepoRoot()
	if err != nil {
		return nil, err
	}
	s := &settings{
		root:           root,
		duration:       5 * time.Second,
		warmup:         time.Second,
		rounds:         3,
		phases:         []string{"go", "loopback", "apiserver", "context"},
		memRequests:    1_000_000,
		contextObjects: 10_000,
		goBenchtime:    "1s",
		goCount:        3,
		out:            "docs/performance.md",
		concurrencies:  []int{1, 8, 32},
		apiClients:     []int{1, 8},
		loopbackPoints: []point{
			{"/validate/enforce", "compliant-pod"},
			{"/validate/enforce", "compliant-pod-as-sent"},
			{"/validate/enforce", "bare-pod"},
			{"/validate/enforce", "deployment-3c-sidecar"},
			{"/mutate/enforce", "compliant-pod"},
			{"/mutate/enforce", "compliant-pod-as-sent"},
			{"/mutate/enforce", "bare-pod"},
			{"/mutate/enforce", "deployment-3c-sidecar"},
			// The cost-bomb pair, at concurrency 1 only (see crowd): what a
			// tenant's Pod of 30,000 containers costs against one of 3,000.
			{"/validate/enforce", fixtures.Pod3000},
			{"/validate/enforce", fixtures.Pod30000},
			{"/mutate/enforce", fixtures.Pod3000},
			{"/mutate/enforce", fixtures.Pod30000},
		},
	}
	for name, d := range map[string]*time.Duration{"BENCH_DURATION": &s.duration, "BENCH_WARMUP": &s.warmup} {
		if v := os.Getenv(name); v != "" {
			if *d, err = time.ParseDuration(v); err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
		}
	}
	if v := os.Getenv("BENCH_ROUNDS"); v != "" {
		if s.rounds, err = strconv.Atoi(v); err != nil || s.rounds < 1 {
			return nil, fmt.Errorf("BENCH_ROUNDS: want a whole number ≥ 1, got %q", v)
		}
	}
	if v := os.Getenv("BENCH_PHASES"); v != "" {
		s.phases = strings.Split(v, ",")
	}
	if os.Getenv("BENCH_MEMORY") == "1" && !slices.Contains(s.phases, "memory") {
		s.phases = append(s.phases, "memory")
	}
	if v := os.Getenv("BENCH_CONTEXT_OBJECTS"); v != "" {
		if s.contextObjects, err = strconv.Atoi(v); err != nil || s.contextObjects < 1 {
			return nil, fmt.Errorf("BENCH_CONTEXT_OBJECTS=%q: want a positive number", v)
		}
	}
	if v := os.Getenv("BENCH_MEMORY_REQUESTS"); v != "" {
		if s.memRequests, err = strconv.ParseInt(v, 10, 64); err != nil || s.memRequests < 20000 {
			return nil, fmt.Errorf("BENCH_MEMORY_REQUESTS=%q: want a number of at least 20000", v)
		}
	}
	if v := os.Getenv("BENCH_GO_BENCHTIME"); v != "" {
		s.goBenchtime = v
	}
	if v := os.Getenv("BENCH_GO_COUNT"); v != "" {
		if s.goCount, err = strconv.Atoi(v); err != nil || s.goCount < 1 {
			return nil, fmt.Errorf("BENCH_GO_COUNT=%q: want a positive number", v)
		}
	}
	s.before = os.Getenv("BENCH_BEFORE")
	s.profileDir = os.Getenv("BENCH_PROFILE")
	if s.profileDir != "" {
		if err := os.MkdirAll(s.profileDir, 0o755); err != nil {
			return nil, fmt.Errorf("BENCH_PROFILE: %w", err)
		}
	}
	if v := os.Getenv("BENCH_POINTS"); v != "" {
		var pts []point
		for _, f := range strings.Split(v, ",") {
			path, fixture, ok := strings.Cut(strings.TrimSpace(f), ":")
			if !ok || !slices.Contains(s.loopbackPoints, point{"/" + strings.TrimPrefix(path, "/"), fixture}) {
				return nil, fmt.Errorf("BENCH_POINTS=%q: want endpoint:fixture pairs among %v", v, s.loopbackPoints)
			}
			pts = append(pts, point{"/" + strings.TrimPrefix(path, "/"), fixture})
		}
		s.loopbackPoints = pts
	}
	if v := os.Getenv("BENCH_CONCURRENCY"); v != "" {
		s.concurrencies = nil
		for _, f := range strings.Split(v, ",") {
			c, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || c < 1 {
				return nil, fmt.Errorf("BENCH_CONCURRENCY=%q: want positive numbers, comma-separated", v)
			}
			s.concurrencies = append(s.concurrencies, c)
		}
	}
	if v := os.Getenv("BENCH_OUT"); v != "" {
		s.out = v
	}
	return s, nil
}

// machine describes where the numbers were taken.
type machineInfo struct {
	cpus, model, goVersion, kernel, date string
	load                                 string
}

func machine() machineInfo {
	m := machineInfo{cpus: strconv.Itoa(runtime.NumCPU()), goVersion: runtime.Version(), date: time.Now().UTC().Format("2006-01-02 15:04 MST")}
	if out, err := exec.Command("nproc").Output(); err == nil {
		m.cpus = strings.TrimSpace(string(out))
	}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.model = strings.TrimSpace(v)
				break
			}
		}
	}
	if out, err := exec.Command("go", "version").Output(); err == nil {
		m.goVersion = strings.TrimSpace(string(out))
	}
	if out, err := exec.Command("uname", "-sr").Output(); err == nil {
		m.kernel = strings.TrimSpace(string(out))
	}
	m.load = loadAverage()
	return m
}

func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}
