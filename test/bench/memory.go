package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plimsoll/plimsoll/internal/fixtures"
	"github.com/plimsoll/plimsoll/test/bench/load"
)

// memSample is plimsoll's resident set after some number of requests.
type memSample struct {
	requests int64
	rssKB    int64
}

// memory drives a fresh plimsoll serve with r.memRequests requests — half
// a Deployment on /validate/enforce, half a bare Pod on /mutate/enforce,
// eight connections — and reads VmRSS along the way.
func (r *report) memory(ctx context.Context) error {
	s, err := r.startServers(ctx)
	if err != nil {
		return err
	}
	defer s.stop()
	pid := s.plimsoll.Cmd.Process.Pid
	if rss, err := load.RSSKB(pid); err == nil {
		r.memIdleKB = rss
	}
	milestones := map[int64]bool{10_000: true, 100_000: true, r.memRequests / 4: true, r.memRequests / 2: true, r.memRequests: true}
	var total atomic.Int64
	var mu sync.Mutex
	progress := func(int64) {
		n := total.Add(1)
		if milestones[n] {
			rss, _ := load.RSSKB(pid)
			mu.Lock()
			r.mem = append(r.mem, memSample{n, rss})
			mu.Unlock()
			logf("memory: %d requests, VmRSS %d KiB", n, rss)
		}
	}
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	results := make([]load.Result, 2)
	for i, pt := range []point{{"/validate/enforce", fixtures.Deployment}, {"/mutate/enforce", fixtures.BarePod}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cfg := r.loadConfig(s.plimsollURL(pt.path), fixtures.Get(pt.fixture).Review("9d2f7c41-3b8e-4f6a-8c1d-5e7a2b9f0c33"), s.certs.CAPEM, 4, pid)
			cfg.Warmup, cfg.Requests, cfg.Progress = 0, r.memRequests/2, progress
			results[i], errs[i] = load.Run(ctx, cfg)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	r.memElapsed = time.Since(start)
	r.memMaxKB = max(results[0].MaxRSSKB, results[1].MaxRSSKB)
	if hwm, err := load.HWMKB(pid); err == nil {
		r.memHWMKB = hwm
	}
	if len(r.mem) == 0 {
		return fmt.Errorf("no memory sample taken")
	}
	return nil
}
