package webhook_test

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/plimsoll/plimsoll/webhook"
)

// gauges reads every gauge of name from /metrics, by its label set.
func gauges(t *testing.T, ts *testServer, name string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(ts.metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, m := range families[name].GetMetric() {
		key := ""
		for _, l := range m.GetLabel() {
			key += l.GetName() + "=" + l.GetValue() + ","
		}
		out[key] = m.GetGauge().GetValue()
	}
	return out
}

func TestServerExportsBuildPolicyAndCertificateInfo(t *testing.T) {
	ts := startServer(t, func(o *webhook.Options) { o.Version = "v9.9.9" })
	build := gauges(t, ts, "plimsoll_build_info")
	if len(build) != 1 {
		t.Fatalf("plimsoll_build_info = %v, want one series", build)
	}
	for labels, v := range build {
		if v != 1 || !contains(labels, "version=v9.9.9,") {
			t.Errorf("plimsoll_build_info{%s} = %v, want version v9.9.9 and 1", labels, v)
		}
	}
	expiry := gauges(t, ts, "plimsoll_tls_certificate_expiry_timestamp_seconds")[""]
	if want := float64(ts.cert.NotAfter.Unix()); expiry != want {
		t.Errorf("certificate expiry = %v, want %v", expiry, want)
	}
	first := gauges(t, ts, "plimsoll_policy_info")
	if len(first) != 1 {
		t.Fatalf("plimsoll_policy_info = %v, want exactly one policy in force", first)
	}
	writeAtomically(t, ts.policy, onlyRules(map[string]string{"image-tag": "warning"}))
	deadline := time.Now().Add(5 * time.Second)
	for {
		now := gauges(t, ts, "plimsoll_policy_info")
		changed := len(now) == 1
		for k := range first {
			if _, same := now[k]; same {
				changed = false
			}
		}
		if changed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("plimsoll_policy_info did not follow the reload: before %v, now %v", first, now)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A slow-loris client that sends its headers a byte at a time, or never
// finishes its body, is cut off; other clients are served meanwhile.
func TestServerCutsOffSlowClients(t *testing.T) {
	ts := startServer(t, func(o *webhook.Options) {
		o.ReadHeaderTimeout = 300 * time.Millisecond
		o.ReadTimeout = 600 * time.Millisecond
	})
	for _, tc := range []struct {
		name string
		send string
	}{
		{"headers that never end", "POST /validate/enforce HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"},
		{"a body that never comes", "POST /validate/enforce HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"apiVersion\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 3 * time.Second}, "tcp", ts.srv.Addr().String(), &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // a test client
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := io.WriteString(conn, tc.send); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, err = io.ReadAll(conn) // returns when the server closes the connection
			if took := time.Since(start); took > 3*time.Second {
				t.Errorf("the server kept a slow client for %v (err %v); it must cut it off after its read timeouts", took, err)
			}
			if code, _ := get(ts.health + "/readyz"); code != http.StatusOK {
				t.Errorf("/readyz = %d after a slow client, want 200", code)
			}
		})
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// The admission listener speaks HTTP/1.1 only and refuses TLS 1.2 suites
// without forward secrecy or AEAD.
func TestServerRefusesHTTP2AndWeakCiphers(t *testing.T) {
	ts := startServer(t, nil)
	conn, err := tls.Dial("tcp", ts.srv.Addr().String(), &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2", "http/1.1"}}) //nolint:gosec // a test client
	if err != nil {
		t.Fatal(err)
	}
	if p := conn.ConnectionState().NegotiatedProtocol; p == "h2" {
		t.Errorf("negotiated %q: HTTP/2 must be off", p)
	}
	conn.Close()
	_, err = tls.Dial("tcp", ts.srv.Addr().String(), &tls.Config{ //nolint:gosec // a deliberately weak client
		InsecureSkipVerify: true, MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12,
		CipherSuites: []uint16{tls.TLS_RSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA},
	})
	if err == nil {
		t.Error("a TLS 1.2 client offering only CBC suites was accepted")
	}
	conn, err = tls.Dial("tcp", ts.srv.Addr().String(), &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12}) //nolint:gosec // a test client
	if err != nil {
		t.Fatalf("a modern TLS 1.2 client was refused: %v", err)
	}
	if !slices.Contains(webhook.ModernCipherSuites, conn.ConnectionState().CipherSuite) {
		t.Errorf("negotiated %s", tls.CipherSuiteName(conn.ConnectionState().CipherSuite))
	}
	conn.Close()
}

func TestProfilesAreServedOnlyWhenAskedFor(t *testing.T) {
	for _, on := range []bool{false, true} {
		ts := startServer(t, func(o *webhook.Options) { o.Profiling = on })
		resp, err := http.Get(ts.metrics + "/debug/pprof/heap?debug=1")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case on && (resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "heap profile")):
			t.Errorf("--profiling: /debug/pprof/heap answered %s %.100q, want a heap profile", resp.Status, body)
		case !on && resp.StatusCode != http.StatusNotFound:
			t.Errorf("without --profiling: /debug/pprof/heap answered %s, want 404", resp.Status)
		}
	}
	o := webhook.DefaultOptions()
	o.TLSCertFile, o.TLSKeyFile, o.Profiling, o.MetricsListen = "c", "k", true, "0"
	if err := o.Validate(); err == nil || !strings.Contains(err.Error(), "--profiling") {
		t.Errorf("--profiling with the metrics listener off: %v, want an error naming --profiling", err)
	}
}
