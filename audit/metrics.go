package audit

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the background audit's Prometheus series. Labels are
// bounded: namespaces in scope, rule IDs, two severities.
type metrics struct {
	violations *prometheus.GaugeVec
	objects    *prometheus.GaugeVec
	denied     *prometheus.GaugeVec
	writes     *prometheus.CounterVec
	reloads    *prometheus.CounterVec
	lastSync   prometheus.Gauge

	mu sync.Mutex
	// series remembers the violation label sets set per namespace, so a
	// series that falls to nothing is deleted rather than left stale.
	series map[string]map[[2]string]bool
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		violations: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "plimsoll_audit_violations",
			Help: "Findings of the background audit by namespace, rule and severity (error: enforce would deny it; warning: it would only warn). What defaulting fixes and what an exemption lifts is not counted.",
		}, []string{"namespace", "rule", "severity"}),
		objects: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "plimsoll_audit_objects",
			Help: "Objects judged by the background audit, by namespace (Pods, ReplicaSets and Jobs made by a workload are judged through it).",
		}, []string{"namespace"}),
		denied: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "plimsoll_audit_denied_objects",
			Help: "Objects that enforce mode would refuse on their next rollout, by namespace.",
		}, []string{"namespace"}),
		writes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "plimsoll_audit_policyreport_writes_total",
			Help: "PolicyReport writes, by operation (create, update, delete) and result (success, failure).",
		}, []string{"operation", "result"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "plimsoll_audit_policy_reloads_total",
			Help: "Policy file reloads of the background audit, by result (success, failure). On failure the last good policy stays in force.",
		}, []string{"result"}),
		lastSync: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "plimsoll_audit_last_sync_timestamp_seconds",
			Help: "When the background audit last finished re-evaluating a namespace (Unix time).",
		}),
		series: map[string]map[[2]string]bool{},
	}
	reg.MustRegister(m.violations, m.objects, m.denied, m.writes, m.reloads, m.lastSync)
	return m
}

// setNamespace replaces the namespace's series with what objs say.
func (m *metrics) setNamespace(ns string, objs []judged) {
	counts := map[[2]string]int{}
	denied := 0
	for _, ob := range objs {
		if ob.Denied() {
			denied++
		}
		for _, f := range ob.Findings {
			if v := f.Verdict(); v == Denied || v == Warned {
				counts[[2]string{f.Rule, f.Severity}]++
			}
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for key := range m.series[ns] {
		if counts[key] == 0 {
			m.violations.DeleteLabelValues(ns, key[0], key[1])
		}
	}
	set := map[[2]string]bool{}
	for key, n := range counts {
		m.violations.WithLabelValues(ns, key[0], key[1]).Set(float64(n))
		set[key] = true
	}
	m.series[ns] = set
	m.objects.WithLabelValues(ns).Set(float64(len(objs)))
	m.denied.WithLabelValues(ns).Set(float64(denied))
}

// forgetNamespace deletes every series of a namespace out of scope.
func (m *metrics) forgetNamespace(ns string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.violations.DeletePartialMatch(prometheus.Labels{"namespace": ns})
	m.objects.DeleteLabelValues(ns)
	m.denied.DeleteLabelValues(ns)
	delete(m.series, ns)
}
