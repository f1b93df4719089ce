// Command soak drives `plimsoll serve` over loopback TLS at a steady rate
// for a set time with a mix of Pods and workloads, on every endpoint and
// mode, and reports requests, errors, latency percentiles and the server's
// memory at the start and the end.
//
//	make soak                      # 10 minutes at 200 requests/s
//	SOAK_DURATION=30s SOAK_RATE=500 make soak
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/plimsoll/plimsoll/test/harness"
)

func main() {
	duration := flag.Duration("duration", envDuration("SOAK_DURATION", 10*time.Minute), "how long to drive the server (env SOAK_DURATION)")
	rate := flag.Int("rate", envInt("SOAK_RATE", 200), "requests per second (env SOAK_RATE)")
	flag.Parse()
	if err := run(*duration, *rate); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

type request struct {
	path string
	body []byte
}

func run(duration time.Duration, rate int) error {
	root, err := harness.RepoRoot()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "plimsoll-soak-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	certs, err := harness.WriteCerts(dir)
	if err != nil {
		return err
	}
	bin := filepath.Join(root, "bin", "plimsoll")
	build := exec.Command("go", "build", "-o", bin, "./cmd/plimsoll")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build: %w\n%s", err, out)
	}
	p, err := harness.StartPlimsoll(context.Background(), bin, filepath.Join(dir, "plimsoll.log"), "--tls-cert-file", certs.CertFile, "--tls-key-file", certs.KeyFile, "--log-level", "warn")
	if err != nil {
		return err
	}
	defer func() { _ = p.Stop() }()

	reqs, err := mix(root)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certs.CAPEM)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, MaxIdleConnsPerHost: 64,
	}}
	base := fmt.Sprintf("https://127.0.0.1:%d", p.Port)
	pid := p.Cmd.Process.Pid

	fmt.Printf("soak: %s at %d requests/s against plimsoll serve (pid %d), %d request kinds\n", duration, rate, pid, len(reqs))
	time.Sleep(time.Second)
	rssStart := rss(pid)
	var (
		mu        sync.Mutex
		latencies []time.Duration
		errors    int
		errSample []string
		wg        sync.WaitGroup
	)
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	end := time.Now().Add(duration)
	nextReport := time.Now().Add(time.Minute)
	samples := []string{fmt.Sprintf("0m %d KiB", rssStart)}
	sent := 0
	for now := range tick.C {
		if now.After(end) {
			break
		}
		r := reqs[sent%len(reqs)]
		sent++
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			resp, err := client.Post(base+r.path, "application/json", bytes.NewReader(r.body))
			var out admissionv1.AdmissionReview
			if err == nil {
				err = json.NewDecoder(resp.Body).Decode(&out)
				resp.Body.Close()
				if err == nil && (out.Response == nil || out.Response.UID != "soak") {
					err = fmt.Errorf("malformed answer")
				}
			}
			took := time.Since(start)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errors++
				if len(errSample) < 5 {
					errSample = append(errSample, err.Error())
				}
				return
			}
			latencies = append(latencies, took)
		}()
		if now.After(nextReport) {
			m := int(time.Until(end).Round(time.Minute) / time.Minute)
			samples = append(samples, fmt.Sprintf("%dm %d KiB", int(duration/time.Minute)-m, rss(pid)))
			nextReport = nextReport.Add(time.Minute)
		}
	}
	wg.Wait()
	rssEnd := rss(pid)
	slices.Sort(latencies)
	pct := func(q float64) time.Duration {
		if len(latencies) == 0 {
			return 0
		}
		return latencies[int(q*float64(len(latencies)-1))]
	}
	fmt.Printf("requests %d, errors %d, p50 %v, p99 %v, max %v\n", sent, errors, pct(0.50).Round(time.Microsecond), pct(0.99).Round(time.Microsecond), pct(1).Round(time.Microsecond))
	fmt.Printf("server memory (VmRSS): start %d KiB, end %d KiB (%+.1f%%)\n", rssStart, rssEnd, 100*float64(rssEnd-rssStart)/float64(rssStart))
	fmt.Printf("memory samples: %s\n", strings.Join(samples, ", "))
	if errors > 0 {
		return fmt.Errorf("%d errors, e.g. %q", errors, errSample)
	}
	return nil
}

// mix builds reviews of every fixture of test/e2e/testdata and examples/,
// for each endpoint and mode.
func mix(root string) ([]request, error) {
	files, _ := filepath.Glob(filepath.Join(root, "test/e2e/testdata/*.yaml"))
	ex, _ := filepath.Glob(filepath.Join(root, "examples/*.yaml"))
	files = append(files, ex...)
	var out []request
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		raw, err := yaml.YAMLToJSON(data)
		if err != nil {
			return nil, err
		}
		var tm metav1.TypeMeta
		_ = json.Unmarshal(raw, &tm)
		gv := strings.SplitN(tm.APIVersion, "/", 2)
		kind := metav1.GroupVersionKind{Version: gv[len(gv)-1], Kind: tm.Kind}
		if len(gv) == 2 {
			kind.Group = gv[0]
		}
		for _, op := range []admissionv1.Operation{admissionv1.Create, admissionv1.Update} {
			review := admissionv1.AdmissionReview{
				TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
				Request:  &admissionv1.AdmissionRequest{UID: "soak", Kind: kind, Namespace: "team-a", Operation: op},
			}
			review.Request.Object.Raw = raw
			if op == admissionv1.Update {
				review.Request.OldObject.Raw = raw
			}
			body, _ := json.Marshal(review)
			for _, path := range []string{"/validate/enforce", "/validate/warn", "/validate/audit", "/mutate/enforce", "/mutate/audit"} {
				out = append(out, request{path: path, body: body})
			}
		}
	}
	return out, nil
}

func rss(pid int) int {
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			n, _ := strconv.Atoi(strings.Fields(line)[1])
			return n
		}
	}
	return 0
}

func envDuration(key string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(key)); err == nil {
		return d
	}
	return def
}

func envInt(key string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(key)); err == nil {
		return n
	}
	return def
}
