package serving_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plimsoll/plimsoll/internal/serving"
)

// get returns the status and body of a GET (0 and the error if it failed).
func get(url string) (int, string) {
	c := &http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestAddressesFollowOneRule(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	tests := []struct {
		name    string
		o       serving.Options
		wantErr string // "" for none
	}{
		{"both on", serving.Options{HealthListen: "127.0.0.1:0", MetricsListen: "127.0.0.1:0"}, ""},
		{"0 turns the health listener off", serving.Options{HealthListen: serving.Off, MetricsListen: "127.0.0.1:0"}, ""},
		{"0 turns the metrics listener off", serving.Options{HealthListen: "127.0.0.1:0", MetricsListen: serving.Off}, ""},
		{"0 turns both off", serving.Options{HealthListen: "0", MetricsListen: "0"}, ""},
		{"an empty health address is refused", serving.Options{HealthListen: "", MetricsListen: "0"}, `--health-listen must not be empty: give an address, or "0" to turn the listener off`},
		{"an empty metrics address is refused", serving.Options{HealthListen: "0", MetricsListen: ""}, `--metrics-listen must not be empty`},
		{"profiling needs the metrics listener", serving.Options{HealthListen: "0", MetricsListen: "0", Profiling: true}, "--profiling serves /debug/pprof/"},
		{"a busy address names its flag", serving.Options{HealthListen: "0", MetricsListen: busy.Addr().String()}, "--metrics-listen: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := serving.Listen(tt.o)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Listen: %v, want an error saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if on := tt.o.HealthListen != serving.Off; (s.HealthAddr() != nil) != on {
				t.Errorf("health listener on = %v, want %v", s.HealthAddr() != nil, on)
			}
			if on := tt.o.MetricsListen != serving.Off; (s.MetricsAddr() != nil) != on {
				t.Errorf("metrics listener on = %v, want %v", s.MetricsAddr() != nil, on)
			}
		})
	}
}

func TestEndpoints(t *testing.T) {
	var why atomic.Pointer[error]
	s, err := serving.Listen(serving.Options{HealthListen: "127.0.0.1:0", MetricsListen: "127.0.0.1:0", Profiling: true,
		Ready: func() error {
			if e := why.Load(); e != nil {
				return *e
			}
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	defer func() { _ = s.Shutdown(0, 5*time.Second) }()
	health, metrics := "http://"+s.HealthAddr().String(), "http://"+s.MetricsAddr().String()

	if code, body := get(health + "/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Errorf("/healthz: %d %q", code, body)
	}
	if code, body := get(health + "/readyz"); code != http.StatusOK || body != "ok\n" {
		t.Errorf("/readyz when ready: %d %q", code, body)
	}
	e := errors.New("no policy loaded")
	why.Store(&e)
	if code, body := get(health + "/readyz"); code != http.StatusServiceUnavailable || body != "not ready: no policy loaded\n" {
		t.Errorf("/readyz when not ready: %d %q", code, body)
	}
	if code, body := get(metrics + "/metrics"); code != http.StatusOK || !strings.Contains(body, "go_goroutines") || !strings.Contains(body, "process_") {
		t.Errorf("/metrics: %d, without the Go and process collectors:\n%.300s", code, body)
	}
	if code, _ := get(metrics + "/debug/pprof/cmdline"); code != http.StatusOK {
		t.Errorf("/debug/pprof/cmdline with Profiling: %d", code)
	}
	if code, _ := get(health + "/metrics"); code != http.StatusNotFound {
		t.Errorf("/metrics on the health listener: %d, want 404", code)
	}
}

// Shutdown: /readyz says "shutting down" at once, the delay passes with
// requests still served, then an in-flight request of the caller's own
// server completes before Shutdown returns.
func TestShutdownIsGraceful(t *testing.T) {
	s, err := serving.Listen(serving.Options{HealthListen: "127.0.0.1:0", MetricsListen: serving.Off})
	if err != nil {
		t.Fatal(err)
	}
	own, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	started, release := make(chan struct{}), make(chan struct{})
	s.Serve(&http.Server{ReadHeaderTimeout: time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		close(started)
		<-release
		fmt.Fprintln(w, "done")
	})}, own)
	s.Start()
	health := "http://" + s.HealthAddr().String()
	if code, _ := get(health + "/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz before the shutdown: %d", code)
	}

	conn, err := net.Dial("tcp", own.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	<-started

	const delay = 300 * time.Millisecond
	stopped := make(chan error, 1)
	began := time.Now()
	go func() { stopped <- s.Shutdown(delay, 5*time.Second) }()
	deadline := time.Now().Add(delay)
	for {
		code, body := get(health + "/readyz")
		if code == http.StatusServiceUnavailable && strings.Contains(body, "shutting down") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz during the delay: %d %q, want 503 shutting down", code, body)
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case err := <-stopped:
		t.Fatalf("Shutdown returned %v with a request in flight", err)
	case <-time.After(delay):
	}
	close(release)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("the in-flight request was cut: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "done\n" {
		t.Errorf("the in-flight request got %q", b)
	}
	if err := <-stopped; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if took := time.Since(began); took < delay {
		t.Errorf("Shutdown took %v, less than the delay %v", took, delay)
	}
	if code, _ := get(health + "/readyz"); code != 0 {
		t.Errorf("/readyz answers %d after Shutdown", code)
	}
}

// A listener that fails is reported on Err.
func TestAFailingServerIsReported(t *testing.T) {
	s, err := serving.Listen(serving.Options{HealthListen: serving.Off, MetricsListen: serving.Off})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	s.Serve(&http.Server{ReadHeaderTimeout: time.Second}, l)
	select {
	case err := <-s.Err():
		if err == nil {
			t.Error("nil error on Err")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a server on a closed listener was not reported")
	}
	_ = s.Shutdown(0, time.Second)
}
