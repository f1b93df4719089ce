package webhook

import (
	"runtime"
	"sync"
	"time"

	"github.com/plimsoll/plimsoll/admission"

	"github.com/prometheus/client_golang/prometheus"
)

// Recorder counts what the handler does. Handler tests use a recorder that
// remembers calls; the server uses Prometheus. Label values are bounded:
// endpoints, modes, kinds, operations, decisions, rule IDs and families are
// all finite sets.
type Recorder interface {
	// Request records one answered AdmissionReview.
	Request(endpoint string, mode admission.Mode, kind, operation, decision string, took time.Duration)
	// Violation records one violation found (fixable or not).
	Violation(rule, severity string, mode admission.Mode)
	// Defaulted records that a default family wrote into a Pod (or, in
	// audit mode, would have).
	Defaulted(family string, mode admission.Mode)
	// Exemption records that an exemption lifted a violation; source is
	// "policy" or "annotation".
	Exemption(rule, source string)
	// InternalError records a recovered failure of plimsoll itself.
	InternalError(path string)
	// PolicyReload records a reload of the policy file.
	PolicyReload(ok bool)
	// ContextSkipped records a request judged without the context rules
	// though the policy has them on; reason is one of ContextSkipReasons.
	ContextSkipped(reason string)
}

// PrometheusRecorder records into Prometheus collectors.
type PrometheusRecorder struct {
	requests   *prometheus.CounterVec
	latency    *prometheus.HistogramVec
	violations *prometheus.CounterVec
	defaulted  *prometheus.CounterVec
	internal   *prometheus.CounterVec
	reloads    *prometheus.CounterVec
	exemptions *prometheus.CounterVec
	skipped    *prometheus.CounterVec
	policy     *prometheus.GaugeVec
	// Not part of Recorder: a refused handshake never reaches the
	// handler; the server's admission listener counts it.
	handshakeErrors *prometheus.CounterVec

	// The series each request and violation counts into, looked up once
	// per label set: WithLabelValues hashes every label value on every
	// call, which is a cost on each admission. The label sets are bounded,
	// and so are these.
	requestSeries   sync.Map // requestKey → requestSeries
	violationSeries sync.Map // violationKey → prometheus.Counter
}

type requestKey struct{ endpoint, mode, kind, operation, decision string }

type requestSeries struct {
	count   prometheus.Counter
	latency prometheus.Observer
}

type violationKey struct{ rule, severity, mode string }

// NewPrometheusRecorder creates the collectors and registers them with reg.
func NewPrometheusRecorder(reg prometheus.Registerer) *PrometheusRecorder {
	r := &PrometheusRecorder{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "plimsoll_admission_requests_total",
			Help: "Admission requests answered, by endpoint (mutate, validate), mode, kind, operation and decision (allowed, denied, warned, error, overloaded: answered unjudged beyond --max-in-flight).",
		}, []string{"endpoint", "mode", "kind", "operation", "decision"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "plimsoll_admission_duration_seconds",
			Help: "Time from reading an AdmissionReview to writing the answer.",
			// 25µs up to the API server's longest timeout (30s).
			Buckets: []float64{25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 1, 2.5, 5, 10, 30},
		}, []string{"endpoint", "mode"}),
		violations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "plimsoll_violations_total",
			Help: "Rule violations found, by rule, severity and mode. In audit mode this counts what enforce would have reported.",
		}, []string{"rule", "severity", "mode"}),
		defaulted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "plimsoll_defaults_applied_total",
			Help: "Pods defaulted, by default family and mode (in audit mode: would have been defaulted).",
		}, []string{"family", "mode"}),
		internal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "plimsoll_internal_errors_total",
			Help: "Recovered internal failures of plimsoll, by path (mutate, validate).",
		}, []string{"path"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "plimsoll_policy_reloads_total",
			Help: "Policy file reloads, by result (success, failure). On failure the last good policy stays in force.",
		}, []string{"result"}),
		exemptions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "plimsoll_exemptions_used_total",
			Help: "Violations lifted by an exemption, by rule and source (policy, annotation).",
		}, []string{"rule", "source"}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "plimsoll_context_rules_skipped_total",
			Help: "Admission requests judged without the context rules (pod-disruption-budget, hpa-target, replicas-with-hpa) though the policy has them on, by reason: not_synced (the caches of the cluster have not synced: plimsoll just started, or may not list what they hold) or no_cluster (plimsoll serve has no access to the API server). Counted only for the kinds a context rule judges.",
		}, []string{"reason"}),
	}
	r.policy = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "plimsoll_policy_info",
		Help: "The policy in force: 1 for its hash (the first 16 hex digits of the SHA-256 of the policy file, or of \"built-in\").",
	}, []string{"hash"})
	r.handshakeErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "plimsoll_tls_handshake_errors_total",
		Help: "TLS handshakes the admission listener refused or that failed, by reason (no_certificate, bad_certificate, not_tls, timeout, closed, other). With --client-ca-file, no_certificate and bad_certificate count callers other than the API server.",
	}, []string{"reason"})
	reg.MustRegister(r.requests, r.latency, r.violations, r.defaulted, r.internal, r.reloads, r.exemptions, r.skipped, r.policy, r.handshakeErrors)
	for _, reason := range ContextSkipReasons {
		r.skipped.WithLabelValues(reason)
	}
	for _, reason := range HandshakeReasons {
		r.handshakeErrors.WithLabelValues(reason)
	}
	for _, p := range []string{"mutate", "validate"} {
		r.internal.WithLabelValues(p)
	}
	r.reloads.WithLabelValues("success")
	r.reloads.WithLabelValues("failure")
	return r
}

// PolicyInForce records the hash of the policy now in force.
func (r *PrometheusRecorder) PolicyInForce(hash string) {
	r.policy.Reset()
	r.policy.WithLabelValues(hash).Set(1)
}

// RegisterBuildInfo registers plimsoll_build_info{version, goversion} 1.
func RegisterBuildInfo(reg prometheus.Registerer, version string) {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "plimsoll_build_info",
		Help: "Always 1; the labels say which plimsoll is running.",
	}, []string{"version", "goversion"})
	g.WithLabelValues(version, runtime.Version()).Set(1)
	reg.MustRegister(g)
}

// RegisterCertificateExpiry registers
// plimsoll_tls_certificate_expiry_timestamp_seconds, read from notAfter at
// every scrape (0 while no certificate is loaded).
func RegisterCertificateExpiry(reg prometheus.Registerer, notAfter func() time.Time) {
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "plimsoll_tls_certificate_expiry_timestamp_seconds",
		Help: "When the serving certificate expires, in seconds since the Unix epoch.",
	}, func() float64 {
		t := notAfter()
		if t.IsZero() {
			return 0
		}
		return float64(t.Unix())
	}))
}

// RegisterPolicyAdvice registers plimsoll_policy_advice: how many things
// the policy in force does that its author may not mean (each is logged
// when the policy is loaded; see policy.Policy.Advice).
func RegisterPolicyAdvice(reg prometheus.Registerer, count func() int) {
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "plimsoll_policy_advice",
		Help: "Things the policy in force does that its author may not mean, such as an exemption by kind or name in every namespace; plimsoll logs each when it loads the policy.",
	}, func() float64 { return float64(count()) }))
}

func (r *PrometheusRecorder) Request(endpoint string, mode admission.Mode, kind, operation, decision string, took time.Duration) {
	k := requestKey{endpoint, string(mode), kind, operation, decision}
	s, ok := r.requestSeries.Load(k)
	if !ok {
		s, _ = r.requestSeries.LoadOrStore(k, requestSeries{
			count:   r.requests.WithLabelValues(endpoint, string(mode), kind, operation, decision),
			latency: r.latency.WithLabelValues(endpoint, string(mode)),
		})
	}
	rs, _ := s.(requestSeries) // the map holds only requestSeries
	rs.count.Inc()
	rs.latency.Observe(took.Seconds())
}

func (r *PrometheusRecorder) Violation(rule, severity string, mode admission.Mode) {
	k := violationKey{rule, severity, string(mode)}
	c, ok := r.violationSeries.Load(k)
	if !ok {
		c, _ = r.violationSeries.LoadOrStore(k, r.violations.WithLabelValues(rule, severity, string(mode)))
	}
	if c, ok := c.(prometheus.Counter); ok { // the map holds only counters
		c.Inc()
	}
}

func (r *PrometheusRecorder) Defaulted(family string, mode admission.Mode) {
	r.defaulted.WithLabelValues(family, string(mode)).Inc()
}

func (r *PrometheusRecorder) Exemption(rule, source string) {
	r.exemptions.WithLabelValues(rule, source).Inc()
}

func (r *PrometheusRecorder) InternalError(path string) { r.internal.WithLabelValues(path).Inc() }

// TLSHandshakeError counts a failed handshake on the admission listener;
// reason is one of HandshakeReasons.
func (r *PrometheusRecorder) TLSHandshakeError(reason string) {
	r.handshakeErrors.WithLabelValues(reason).Inc()
}

func (r *PrometheusRecorder) ContextSkipped(reason string) {
	r.skipped.WithLabelValues(reason).Inc()
}

func (r *PrometheusRecorder) PolicyReload(ok bool) {
	result := "success"
	if !ok {
		result = "failure"
	}
	r.reloads.WithLabelValues(result).Inc()
}
