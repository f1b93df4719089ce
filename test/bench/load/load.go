// Package load is plimsoll's load generator: a closed loop of workers, each
// on its own keep-alive HTTPS connection (HTTP/1.1, as the API server's
// webhook client uses one request at a time per connection), posting one
// AdmissionReview over and over. After a warm-up it measures for a fixed
// duration (or a fixed number of requests): requests/s, latency
// percentiles, and the server's CPU time per request and resident memory,
// read from /proc/<pid>.
package load

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
)

// Config is one measurement.
type Config struct {
	// URL is the endpoint, e.g. https://127.0.0.1:9443/validate/enforce.
	URL string
	// Body is the AdmissionReview posted on every request.
	Body []byte
	// CAPEM verifies the server's certificate.
	CAPEM []byte
	// Concurrency is the number of workers, each with its own connection.
	Concurrency int
	// Warmup runs before measuring; its requests are not counted.
	Warmup time.Duration
	// Duration is how long to measure.
	Duration time.Duration
	// Requests, when set, measures until that many requests were answered
	// instead of for Duration.
	Requests int64
	// PID is the server's process, whose CPU time and RSS are read (0:
	// not read).
	PID int
	// Progress, when set, is called after each measured request with the
	// number answered so far (from one worker at a time).
	Progress func(n int64)
}

// Result is what one measurement saw.
type Result struct {
	Requests int64
	Errors   int64
	Elapsed  time.Duration
	// PerSecond is Requests over Elapsed.
	PerSecond          float64
	P50, P90, P99, Max time.Duration
	// ServerCPU is the server's user+system CPU time over the measurement;
	// CPUPerRequest divides it by Requests.
	ServerCPU     time.Duration
	CPUPerRequest time.Duration
	// MaxRSSKB is the largest VmRSS seen while measuring, in KiB, and
	// MaxAnonKB the largest RssAnon: the memory the process allocated, as
	// opposed to the pages of its binary it has mapped (RssFile), which
	// are shared and which the kernel can drop and read again.
	MaxRSSKB, MaxAnonKB int64
	// Answer describes the server's answer to the first request:
	// "allowed", "allowed+patch", "denied: ...".
	Answer string
	// Latencies are every measured request's latency, sorted, for Pool.
	Latencies []time.Duration
}

// Pool adds up measurements of the same thing taken one after another:
// their requests, times and CPU are summed, and the percentiles are those
// of all their requests together.
func Pool(rs ...Result) Result {
	var p Result
	for i, r := range rs {
		if i == 0 {
			p.Answer = r.Answer
		}
		p.Requests += r.Requests
		p.Errors += r.Errors
		p.Elapsed += r.Elapsed
		p.ServerCPU += r.ServerCPU
		p.MaxRSSKB = max(p.MaxRSSKB, r.MaxRSSKB)
		p.MaxAnonKB = max(p.MaxAnonKB, r.MaxAnonKB)
		p.Latencies = append(p.Latencies, r.Latencies...)
	}
	slices.Sort(p.Latencies)
	p.summarise()
	return p
}

// summarise works out the rates and percentiles from the totals and the
// sorted latencies.
func (r *Result) summarise() {
	all := r.Latencies
	if len(all) == 0 || r.Elapsed <= 0 {
		return
	}
	r.PerSecond = float64(len(all)) / r.Elapsed.Seconds()
	r.P50, r.P90, r.P99, r.Max = quantile(all, 0.50), quantile(all, 0.90), quantile(all, 0.99), all[len(all)-1]
	r.CPUPerRequest = r.ServerCPU / time.Duration(len(all))
}

// Run measures cfg.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if cfg.Concurrency < 1 {
		cfg.Concurrency = 1
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(cfg.CAPEM) {
		return Result{}, errors.New("load: no CA certificate")
	}
	clients := make([]*http.Client, cfg.Concurrency)
	for i := range clients {
		clients[i] = &http.Client{Transport: &http.Transport{
			TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
			TLSNextProto:        map[string]func(string, *tls.Conn) http.RoundTripper{}, // HTTP/1.1
			MaxIdleConnsPerHost: 1,
			MaxConnsPerHost:     1,
			IdleConnTimeout:     time.Minute,
			DisableCompression:  true,
		}, Timeout: 30 * time.Second}
	}
	defer func() {
		for _, c := range clients {
			c.CloseIdleConnections()
		}
	}()
	// One request first: the connection works and the answer is what the
	// table says it is.
	answer, err := probe(clients[0], cfg)
	if err != nil {
		return Result{}, err
	}

	const (
		warming = iota
		measuring
		stopping
	)
	var phase atomic.Int32
	var answered, errs atomic.Int64
	lat := make([][]time.Duration, cfg.Concurrency)
	var firstErr error
	var errOnce sync.Once
	done := make(chan struct{})
	var wg sync.WaitGroup
	for i := range cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rd := bytes.NewReader(cfg.Body)
			for ctx.Err() == nil {
				ph := phase.Load()
				if ph == stopping {
					return
				}
				rd.Reset(cfg.Body)
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, cfg.URL, rd)
				req.Header.Set("Content-Type", "application/json")
				req.ContentLength = int64(len(cfg.Body))
				start := time.Now()
				resp, err := clients[i].Do(req)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err == nil && resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("HTTP %d", resp.StatusCode)
					}
				}
				took := time.Since(start)
				if ph != measuring || phase.Load() != measuring {
					continue
				}
				if err != nil {
					errs.Add(1)
					errOnce.Do(func() { firstErr = err })
					continue
				}
				lat[i] = append(lat[i], took)
				n := answered.Add(1)
				if cfg.Progress != nil {
					cfg.Progress(n)
				}
				if cfg.Requests > 0 && n == cfg.Requests {
					close(done)
				}
			}
		}()
	}

	stop := func() { phase.Store(stopping); wg.Wait() }
	if !sleep(ctx, cfg.Warmup) {
		stop()
		return Result{}, ctx.Err()
	}
	cpu0, _ := ProcessCPU(cfg.PID)
	t0 := time.Now()
	phase.Store(measuring)
	var maxRSS, maxAnon int64
	sample := func() {
		if rss, err := RSSKB(cfg.PID); err == nil && rss > maxRSS {
			maxRSS = rss
		}
		if anon, err := AnonKB(cfg.PID); err == nil && anon > maxAnon {
			maxAnon = anon
		}
	}
	tick := time.NewTicker(250 * time.Millisecond)
	var deadline <-chan time.Time
	if cfg.Requests == 0 {
		deadline = time.After(cfg.Duration)
	}
wait:
	for {
		select {
		case <-ctx.Done():
			break wait
		case <-deadline:
			break wait
		case <-done:
			break wait
		case <-tick.C:
			if cfg.PID != 0 {
				sample()
			}
		}
	}
	tick.Stop()
	phase.Store(stopping)
	elapsed := time.Since(t0)
	cpu1, _ := ProcessCPU(cfg.PID)
	if cfg.PID != 0 {
		sample()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return Result{}, ctx.Err()
	}

	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	r := Result{
		Requests: int64(len(all)), Errors: errs.Load(), Elapsed: elapsed,
		ServerCPU: cpu1 - cpu0, MaxRSSKB: maxRSS, MaxAnonKB: maxAnon, Answer: answer,
		Latencies: all,
	}
	if r.Errors > 0 && r.Requests == 0 {
		return r, fmt.Errorf("load: every request failed: %w", firstErr)
	}
	r.summarise()
	return r, nil
}

// probe sends one request and describes the answer.
func probe(c *http.Client, cfg Config) (string, error) {
	req, _ := http.NewRequest(http.MethodPost, cfg.URL, bytes.NewReader(cfg.Body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return "", fmt.Errorf("load: %s: %w", cfg.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("load: %s: HTTP %d: %s", cfg.URL, resp.StatusCode, body)
	}
	var review admissionv1.AdmissionReview
	if err := json.Unmarshal(body, &review); err != nil || review.Response == nil {
		return "", fmt.Errorf("load: %s: the answer is not an AdmissionReview: %.200s", cfg.URL, body)
	}
	r := review.Response
	switch {
	case !r.Allowed && r.Result != nil:
		return "denied: " + strings.SplitN(r.Result.Message, "\n", 2)[0], nil
	case !r.Allowed:
		return "denied", nil
	case len(r.Patch) > 0:
		return "allowed+patch", nil
	case len(r.Warnings) > 0:
		return "allowed+warnings", nil
	}
	return "allowed", nil
}

func quantile(sorted []time.Duration, q float64) time.Duration {
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's times: 100 on
// every Linux architecture Go runs on.
const clockTicks = 100

// ProcessCPU returns the user+system CPU time of process pid, from
// /proc/<pid>/stat (utime and stime, fields 14 and 15).
func ProcessCPU(pid int) (time.Duration, error) {
	if pid == 0 {
		return 0, nil
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, errors.New("load: unexpected /proc/pid/stat")
	}
	fields := strings.Fields(string(data[i+1:]))
	// fields[0] is field 3 (state): utime is field 14, stime 15.
	if len(fields) < 13 {
		return 0, errors.New("load: short /proc/pid/stat")
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// RSSKB returns VmRSS of process pid in KiB, from /proc/<pid>/status.
func RSSKB(pid int) (int64, error) {
	return statusField(pid, "VmRSS:")
}

// AnonKB returns RssAnon of process pid in KiB: the anonymous part of its
// resident set (heap, stacks), without the mapped pages of its binary.
func AnonKB(pid int) (int64, error) {
	return statusField(pid, "RssAnon:")
}

// HWMKB returns VmHWM (the peak resident set) of process pid in KiB.
func HWMKB(pid int) (int64, error) {
	return statusField(pid, "VmHWM:")
}

func statusField(pid int, name string) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, name); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("load: no %s in /proc/%d/status", name, pid)
}
