// Command noop is the baseline plimsoll's benchmarks measure against: an
// admission webhook that only decodes the AdmissionReview with
// encoding/json and answers "allowed", over the same TLS setup as
// `plimsoll serve` (TLS 1.2+, HTTP keep-alive, the same server timeouts).
// What it costs is what any webhook costs; what plimsoll costs beyond it
// is what plimsoll does.
//
//	noop --listen 127.0.0.1:9444 --tls-cert-file tls.crt --tls-key-file tls.key
//
// GET /count answers the number of AdmissionReviews answered so far, so a
// benchmark can tell that the API server has started calling it, and GET
// /connections the number of connections it has accepted, so a benchmark
// can tell whether its clients keep them alive.
package main

import (
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:9444", "HTTPS address")
	certFile := flag.String("tls-cert-file", "", "serving certificate (PEM)")
	keyFile := flag.String("tls-key-file", "", "its key (PEM)")
	pprofListen := flag.String("pprof-listen", "", "if set, serve net/http/pprof here (plain HTTP), to compare profiles with plimsoll's")
	flag.Parse()
	cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
	if err != nil {
		log.Fatalf("noop: %v", err)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatalf("noop: %v", err)
	}
	var count atomic.Int64
	admit := func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var review admissionv1.AdmissionReview
		if err := json.Unmarshal(body, &review); err != nil || review.Request == nil {
			http.Error(w, "not an AdmissionReview", http.StatusBadRequest)
			return
		}
		count.Add(1)
		out := admissionv1.AdmissionReview{TypeMeta: review.TypeMeta, Response: &admissionv1.AdmissionResponse{UID: review.Request.UID, Allowed: true}}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(&out)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /", admit)
	mux.HandleFunc("GET /count", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, count.Load()) })
	var conns atomic.Int64
	mux.HandleFunc("GET /connections", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, conns.Load()) })
	srv := &http.Server{
		Handler: mux,
		// As plimsoll serve: HTTP/1.1 only. (Its TLS 1.2 cipher suites
		// are left out: Go's clients, the API server's among them, and
		// servers agree on TLS 1.3.)
		TLSConfig: &tls.Config{
			MinVersion:     tls.VersionTLS12,
			GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &cert, nil },
			NextProtos:     []string{"http/1.1"},
		},
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				conns.Add(1)
			}
		},
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       90 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	if *pprofListen != "" {
		pm := http.NewServeMux()
		pm.HandleFunc("/debug/pprof/profile", pprof.Profile)
		go func() { log.Print(http.ListenAndServe(*pprofListen, pm)) }() //nolint:gosec // a benchmark tool on loopback
	}
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
		<-sig
		_ = srv.Close()
	}()
	fmt.Fprintf(os.Stderr, "noop: serving on %s\n", ln.Addr())
	if err := srv.ServeTLS(ln, "", ""); err != nil && err != http.ErrServerClosed {
		log.Fatalf("noop: %v", err)
	}
}
