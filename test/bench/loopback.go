package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/plimsoll/plimsoll/internal/fixtures"
	"github.com/plimsoll/plimsoll/test/bench/load"
	"github.com/plimsoll/plimsoll/test/harness"
)

// point is one endpoint and object of the loopback table.
type point struct {
	path    string
	fixture string
}

type loopResult struct {
	point
	concurrency int
	// plimsoll and noop pool the rounds.
	plimsoll, noop load.Result
	// throughput and cpu are plimsoll/no-op per round, in round order.
	throughput, cpu []float64
}

// throughputRatio and cpuRatio are the medians of the rounds' ratios: each
// round compares the two servers measured back to back, so a machine that
// slows down or speeds up between rounds moves both.
func (l loopResult) throughputRatio() float64 { return median(l.throughput) }
func (l loopResult) cpuRatio() float64        { return median(l.cpu) }

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}

// servers are plimsoll serve and the no-op baseline, side by side, on the
// same throwaway certificate.
type servers struct {
	dir      string
	certs    *harness.Certs
	plimsoll *harness.Process
	noop     *noopProcess
}

func (s *servers) stop() {
	if s.plimsoll != nil {
		_ = s.plimsoll.Stop()
	}
	if s.noop != nil {
		s.noop.stop()
	}
	if s.dir != "" {
		os.RemoveAll(s.dir)
	}
}

// buildBinaries builds plimsoll (as `make build` does) and the no-op
// server (in the test module, test/) into dir.
func (r *report) buildBinaries(ctx context.Context, dir string) (plimsoll, noop string, err error) {
	plimsoll, noop = filepath.Join(dir, "plimsoll"), filepath.Join(dir, "noop")
	for _, b := range []struct{ bin, module, pkg string }{
		{plimsoll, r.root, "./cmd/plimsoll"},
		{noop, filepath.Join(r.root, "test"), "./bench/noop"},
	} {
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", b.bin, b.pkg)
		cmd.Dir = b.module
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", "", fmt.Errorf("go build %s (in %s): %w\n%s", b.pkg, b.module, err, out)
		}
	}
	return plimsoll, noop, nil
}

func (r *report) startServers(ctx context.Context) (*servers, error) {
	s := &servers{}
	var err error
	if s.dir, err = os.MkdirTemp("", "plimsoll-bench-"); err != nil {
		return nil, err
	}
	logf("building plimsoll and the no-op server")
	plimsollBin, noopBin, err := r.buildBinaries(ctx, s.dir)
	if err != nil {
		s.stop()
		return nil, err
	}
	if s.certs, err = harness.WriteCerts(s.dir); err != nil {
		s.stop()
		return nil, err
	}
	logf("starting plimsoll serve and the no-op server")
	args := []string{"--tls-cert-file", s.certs.CertFile, "--tls-key-file", s.certs.KeyFile}
	if r.profileDir != "" {
		args = append(args, "--profiling")
	}
	// BENCH_PLIMSOLL_ENV="GOGC=100 ..." sets variables for plimsoll only
	// (the no-op server starts after they are unset), e.g. to compare
	// runtime settings.
	var extraEnv []string
	for _, kv := range strings.Fields(os.Getenv("BENCH_PLIMSOLL_ENV")) {
		k, v, _ := strings.Cut(kv, "=")
		os.Setenv(k, v)
		extraEnv = append(extraEnv, k)
	}
	s.plimsoll, err = harness.StartPlimsoll(ctx, plimsollBin, filepath.Join(s.dir, "plimsoll.log"), args...)
	for _, k := range extraEnv {
		os.Unsetenv(k)
	}
	if err != nil {
		s.stop()
		return nil, err
	}
	if s.noop, err = startNoop(ctx, noopBin, s.certs, filepath.Join(s.dir, "noop.log"), r.profileDir != ""); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

func (s *servers) plimsollURL(path string) string {
	return fmt.Sprintf("https://127.0.0.1:%d%s", s.plimsoll.Port, path)
}

// crowd reports whether fixture is one of the cost-bomb pair.
func crowd(fixture string) bool { return fixture == fixtures.Pod3000 || fixture == fixtures.Pod30000 }

// loopback measures plimsoll and the no-op server point by point, the two
// back to back (alternating which goes first), so both see the same
// machine, in r.rounds rounds of r.duration/r.rounds each.
func (r *report) loopback(ctx context.Context) error {
	s, err := r.startServers(ctx)
	if err != nil {
		return err
	}
	defer s.stop()
	r.loopbackRSS = 0
	flip := false
	// The cost-bomb pair comes last, at concurrency 1 only (a request takes
	// a second: concurrency adds only queueing), and its resident set is
	// not the steady state's: serving a Pod of 30,000 containers grows the
	// heap by hundreds of MB, which the Go runtime gives back only slowly.
	type run struct {
		c  int
		pt point
	}
	var runs []run
	for _, c := range r.concurrencies {
		for _, pt := range r.loopbackPoints {
			if !crowd(pt.fixture) {
				runs = append(runs, run{c, pt})
			}
		}
	}
	for _, pt := range r.loopbackPoints {
		if crowd(pt.fixture) {
			runs = append(runs, run{1, pt})
		}
	}
	for _, rn := range runs {
		c, pt := rn.c, rn.pt
		if crowd(pt.fixture) && r.loopbackHWM == 0 {
			// The steady state's peak, before the cost bomb raises it.
			if hwm, err := load.HWMKB(s.plimsoll.Cmd.Process.Pid); err == nil {
				r.loopbackHWM = hwm
			}
		}
		{
			body := fixtures.Get(pt.fixture).Review("3f6c1c9e-58a4-4d0b-9a57-0d1c6f0e7b21")
			res := loopResult{point: pt, concurrency: c}
			var ours, theirs []load.Result
			for round := range r.rounds {
				var p, n load.Result
				runs := []func() error{
					func() (err error) {
						profiled := r.profile(ctx, s.plimsoll.MetricsPort, "plimsoll", pt, c, round)
						p, err = load.Run(ctx, r.roundConfig(s.plimsollURL(pt.path), body, s.certs.CAPEM, c, s.plimsoll.Cmd.Process.Pid))
						if perr := <-profiled; perr != nil && err == nil {
							err = perr
						}
						return err
					},
					func() (err error) {
						profiled := r.profile(ctx, s.noop.pprofPort, "noop", pt, c, round)
						n, err = load.Run(ctx, r.roundConfig(s.noop.url(pt.path), body, s.certs.CAPEM, c, s.noop.cmd.Process.Pid))
						if perr := <-profiled; perr != nil && err == nil {
							err = perr
						}
						return err
					},
				}
				if flip {
					runs[0], runs[1] = runs[1], runs[0]
				}
				flip = !flip
				for _, run := range runs {
					if err := run(); err != nil {
						return fmt.Errorf("%s %s c=%d: %w", pt.path, pt.fixture, c, err)
					}
				}
				ours, theirs = append(ours, p), append(theirs, n)
				res.throughput = append(res.throughput, p.PerSecond/n.PerSecond)
				res.cpu = append(res.cpu, ratio(p.CPUPerRequest, n.CPUPerRequest))
			}
			res.plimsoll, res.noop = load.Pool(ours...), load.Pool(theirs...)
			// Keep only the summaries: the latencies of every request of
			// every point would add up.
			res.plimsoll.Latencies, res.noop.Latencies = nil, nil
			if !crowd(pt.fixture) {
				r.loopbackRSS = max(r.loopbackRSS, res.plimsoll.MaxRSSKB)
				r.loopbackAnon = max(r.loopbackAnon, res.plimsoll.MaxAnonKB)
			} else {
				r.crowdRSS = max(r.crowdRSS, res.plimsoll.MaxRSSKB)
			}
			r.noopRSS = max(r.noopRSS, res.noop.MaxRSSKB)
			r.loop = append(r.loop, res)
			logf("c=%-2d %-18s %-22s plimsoll %7.0f/s p99 %-9s cpu %-9s | noop %7.0f/s p99 %-9s cpu %-9s | %s× throughput, %s× CPU (%s)",
				c, pt.path, pt.fixture,
				res.plimsoll.PerSecond, res.plimsoll.P99.Round(time.Microsecond), res.plimsoll.CPUPerRequest.Round(time.Microsecond),
				res.noop.PerSecond, res.noop.P99.Round(time.Microsecond), res.noop.CPUPerRequest.Round(time.Microsecond),
				spread(res.throughput), spread(res.cpu), res.plimsoll.Answer)
		}
	}
	if hwm, err := load.HWMKB(s.plimsoll.Cmd.Process.Pid); err == nil && r.loopbackHWM == 0 {
		r.loopbackHWM = hwm
	}
	return nil
}

// profile, with BENCH_PROFILE=dir, takes a CPU profile of a server (plimsoll
// serve or the no-op, from its pprof port) over the warm-up and
// measurement of one point, into dir/<server>-<endpoint>-<fixture>-c<N>.pprof
// (read it with `go tool pprof -top -cum <file>`). It reports on the
// channel when done.
func (r *report) profile(ctx context.Context, port int, server string, pt point, c, round int) <-chan error {
	done := make(chan error, 1)
	if r.profileDir == "" {
		done <- nil
		return done
	}
	warmup, duration := r.round()
	seconds := int(math.Ceil((warmup + duration).Seconds()))
	name := fmt.Sprintf("%s-%s-%s-c%d-r%d.pprof", server, strings.ReplaceAll(strings.Trim(pt.path, "/"), "/", "-"), pt.fixture, c, round+1)
	go func() {
		url := fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/profile?seconds=%d", port, seconds)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			done <- err
			return
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- fmt.Errorf("profiling plimsoll: %w", err)
			return
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("profiling plimsoll: %s: %s", resp.Status, data)
		}
		if err == nil {
			err = os.WriteFile(filepath.Join(r.profileDir, name), data, 0o644)
		}
		done <- err
	}()
	return done
}

func (r *report) loadConfig(url string, body, ca []byte, c, pid int) load.Config {
	return load.Config{URL: url, Body: body, CAPEM: ca, Concurrency: c, Warmup: r.warmup, Duration: r.duration, PID: pid}
}

// round is how long one round of a loopback point warms up and measures:
// a share of the point's measured time, after its own warm-up (new
// connections, a new TLS handshake each) of half the point's.
func (r *report) round() (warmup, duration time.Duration) {
	return r.warmup / 2, r.duration / time.Duration(r.rounds)
}

// roundConfig is one round of a loopback point.
func (r *report) roundConfig(url string, body, ca []byte, c, pid int) load.Config {
	cfg := r.loadConfig(url, body, ca, c, pid)
	cfg.Warmup, cfg.Duration = r.round()
	return cfg
}

// spread writes the median of a point's round ratios and, over several
// rounds, their range: "0.83 (0.79–0.88)".
func spread(xs []float64) string {
	if len(xs) < 2 {
		return fmt.Sprintf("%.2f", median(xs))
	}
	return fmt.Sprintf("%.2f (%.2f–%.2f)", median(xs), slices.Min(xs), slices.Max(xs))
}

// noopProcess is a running test/bench/noop.
type noopProcess struct {
	cmd       *exec.Cmd
	port      int
	pprofPort int // 0: not profiled
	ca        []byte
	done      chan error
}

func startNoop(ctx context.Context, bin string, certs *harness.Certs, logFile string, profiling bool) (*noopProcess, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	args := []string{"--listen", fmt.Sprintf("127.0.0.1:%d", port), "--tls-cert-file", certs.CertFile, "--tls-key-file", certs.KeyFile}
	pprofPort := 0
	if profiling {
		if pprofPort, err = freePort(); err != nil {
			return nil, err
		}
		args = append(args, "--pprof-listen", fmt.Sprintf("127.0.0.1:%d", pprofPort))
	}
	out, err := os.Create(logFile)
	if err != nil {
		return nil, err
	}
	n := &noopProcess{port: port, pprofPort: pprofPort, ca: certs.CAPEM, done: make(chan error, 1)}
	n.cmd = exec.Command(bin, args...)
	n.cmd.Stdout, n.cmd.Stderr = out, out
	if err := n.cmd.Start(); err != nil {
		out.Close()
		return nil, err
	}
	go func() { n.done <- n.cmd.Wait(); out.Close() }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := n.count(); err == nil {
			return n, nil
		}
		select {
		case err := <-n.done:
			log, _ := os.ReadFile(logFile)
			return nil, fmt.Errorf("the no-op server exited (%w):\n%s", err, log)
		case <-ctx.Done():
			n.stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			n.stop()
			return nil, errors.New("the no-op server did not answer within 30s")
		}
	}
}

func (n *noopProcess) url(path string) string {
	return fmt.Sprintf("https://127.0.0.1:%d%s", n.port, path)
}

// count is how many AdmissionReviews the server has answered.
func (n *noopProcess) count() (int64, error) { return n.get("/count") }

// connections is how many connections the no-op server has accepted (the
// ones made to ask are counted too).
func (n *noopProcess) connections() (int64, error) { return n.get("/connections") }

func (n *noopProcess) get(path string) (int64, error) {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(n.ca)
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	defer c.CloseIdleConnections()
	resp, err := c.Get(n.url(path))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var v int64
	_, err = fmt.Sscan(string(b), &v)
	return v, err
}

func (n *noopProcess) stop() {
	if n.cmd.ProcessState != nil {
		return
	}
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-n.done:
		n.done <- err
	case <-time.After(10 * time.Second):
		_ = n.cmd.Process.Kill()
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	addr, ok := l.Addr().(*net.TCPAddr)
	if !ok {
		return 0, fmt.Errorf("listener address %v is not TCP", l.Addr())
	}
	return addr.Port, nil
}
