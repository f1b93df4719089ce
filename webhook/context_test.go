package webhook_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/plimsoll/plimsoll/cluster"
	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/validate"
	"github.com/plimsoll/plimsoll/webhook"
)

// The context rules at admission: judged against a cache of the cluster
// when it has synced, skipped (counted and logged, never waited for)
// when it has not, and only ever warnings.

// fakeCluster is a webhook.ClusterView whose caches have synced when
// synced is true.
type fakeCluster struct {
	view   cluster.View
	synced atomic.Bool
}

func (c *fakeCluster) View() (cluster.View, bool) {
	if !c.synced.Load() {
		return nil, false
	}
	return c.view, true
}

// clusterOf is a synced fakeCluster holding the YAML documents given.
func clusterOf(t *testing.T, docs ...string) *fakeCluster {
	t.Helper()
	o := cluster.NewObjects("the cluster")
	for _, d := range docs {
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(d), &tm); err != nil {
			t.Fatal(err)
		}
		var obj runtime.Object
		switch tm.Kind {
		case "PodDisruptionBudget":
			obj = &policyv1.PodDisruptionBudget{}
		case "Deployment":
			obj = &appsv1.Deployment{}
		case "ServiceAccount":
			obj = &corev1.ServiceAccount{}
		default:
			t.Fatalf("clusterOf: kind %q", tm.Kind)
		}
		if err := yaml.UnmarshalStrict([]byte(d), obj); err != nil {
			t.Fatal(err)
		}
		if !o.Add(obj, "team-a") {
			t.Fatalf("the view does not hold %s", tm.Kind)
		}
	}
	c := &fakeCluster{view: o}
	c.synced.Store(true)
	return c
}

// contextFixture is a handler running the context rules and the
// companions' own rules, besides privileged (a rule that reads nothing
// around the object).
func contextFixture(t *testing.T, c webhook.ClusterView) *fixture {
	t.Helper()
	f := newFixture(t)
	f.h.Rules = rulesByID(t, "hpa-min-replicas", "hpa-range", "hpa-target", "pdb-allows-eviction", "pod-disruption-budget", "privileged", "replicas-with-hpa")
	f.h.Cluster = c
	return f
}

const (
	webDeployment = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: team-a}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: example.com/web:1.4.2
        resources: {requests: {cpu: 100m, memory: 128Mi}}
`
	webBudget = `apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web, namespace: team-a}
spec:
  maxUnavailable: 1
  selector: {matchLabels: {app: web}}
`
	webAutoscaler = `apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web, namespace: team-a}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  maxReplicas: 5
`
)

func jsonOf(t *testing.T, doc string) []byte {
	t.Helper()
	j, err := yaml.YAMLToJSON([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// warningsWith returns the warnings that name rule.
func warningsWith(ws []string, rule string) []string {
	var out []string
	for _, w := range ws {
		if strings.Contains(w, "["+rule+"]") {
			out = append(out, w)
		}
	}
	return out
}

// decisionLine is the request's "admission decision" line.
func decisionLine(t *testing.T, f *fixture) map[string]any {
	t.Helper()
	lines := withMsg(f.log.lines(t), "admission decision", "audit record")
	if len(lines) != 1 {
		t.Fatalf("%d decision lines, want 1:\n%s", len(lines), f.log.String())
	}
	return lines[0]
}

func TestContextRulesAtAdmission(t *testing.T) {
	deployment := jsonOf(t, webDeployment)

	t.Run("a Deployment of 3 replicas with no budget in the cluster is warned about, in every mode that answers", func(t *testing.T) {
		for _, mode := range []string{"enforce", "warn"} {
			f := contextFixture(t, clusterOf(t))
			a := f.send(t, "/validate/"+mode, create(deployment).body(t))
			if !a.resp.Allowed {
				t.Fatalf("%s: denied on context: %s", mode, a.message())
			}
			ws := warningsWith(a.resp.Warnings, "pod-disruption-budget")
			if len(ws) != 1 || !strings.Contains(ws[0], "no PodDisruptionBudget in the cluster") {
				t.Errorf("%s: warnings %q, want one pod-disruption-budget warning naming the cluster", mode, a.resp.Warnings)
			}
			if len(f.rec.skipped) != 0 {
				t.Errorf("%s: skips counted %v with a synced view", mode, f.rec.skipped)
			}
			if l := decisionLine(t, f); l["context"] != nil {
				t.Errorf("%s: the decision line says context %v though the rules ran", mode, l["context"])
			}
		}
	})

	t.Run("once a budget selects its Pods, the warning is gone", func(t *testing.T) {
		f := contextFixture(t, clusterOf(t, webBudget))
		a := f.send(t, "/validate/warn", create(deployment).body(t))
		if !a.resp.Allowed || len(a.resp.Warnings) != 0 {
			t.Errorf("allowed=%v warnings=%q, want admitted silently", a.resp.Allowed, a.resp.Warnings)
		}
	})

	t.Run("an error severity of a context rule only warns at admission, even in enforce", func(t *testing.T) {
		f := contextFixture(t, clusterOf(t))
		p := policy.Default()
		p.Rules = map[string]policy.Severity{"pod-disruption-budget": policy.Error}
		f.h.Policy.Store(p)
		a := f.send(t, "/validate/enforce", create(deployment).body(t))
		if !a.resp.Allowed || len(warningsWith(a.resp.Warnings, "pod-disruption-budget")) != 1 {
			t.Errorf("allowed=%v warnings=%q, want admitted with the pod-disruption-budget warning:\n%s", a.resp.Allowed, a.resp.Warnings, a.message())
		}
	})

	t.Run("before the caches have synced, the context rules are skipped, counted and logged, and the rest is judged", func(t *testing.T) {
		c := clusterOf(t)
		c.synced.Store(false)
		f := contextFixture(t, c)
		privileged := edit(t, deployment, func(m map[string]any) {
			podSpec(m)["containers"].([]any)[0].(map[string]any)["securityContext"] = map[string]any{"privileged": true}
		})
		a := f.send(t, "/validate/enforce", create(privileged).body(t))
		if a.resp.Allowed || !strings.Contains(a.message(), "[privileged]") {
			t.Errorf("allowed=%v, want denied by privileged, as without context:\n%s", a.resp.Allowed, a.message())
		}
		if strings.Contains(a.message(), "pod-disruption-budget") || len(warningsWith(a.resp.Warnings, "pod-disruption-budget")) > 0 {
			t.Errorf("a context rule judged against an unsynced cache: %s %q", a.message(), a.resp.Warnings)
		}
		if !slices.Equal(f.rec.skipped, []string{webhook.ContextNotSynced}) {
			t.Errorf("skips counted %v, want [not_synced]", f.rec.skipped)
		}
		l := decisionLine(t, f)
		if l["context"] != "skipped" || l["context_reason"] != webhook.ContextNotSynced {
			t.Errorf("decision line context=%v context_reason=%v, want skipped, not_synced", l["context"], l["context_reason"])
		}
		if n := len(withMsg(f.log.lines(t), "context rules skipped: the caches of the cluster have not synced yet; requests are judged without them (counted in plimsoll_context_rules_skipped_total)")); n != 1 {
			t.Errorf("the first skip is said %d times, want once:\n%s", n, f.log.String())
		}

		// Said once, counted every time; judged with them once synced.
		f.log.Reset()
		f.send(t, "/validate/warn", create(deployment).body(t))
		if len(f.rec.skipped) != 2 || len(withMsg(f.log.lines(t), "admission decision")) != 1 || len(f.log.lines(t)) != 1 {
			t.Errorf("second skip: counted %v; log:\n%s", f.rec.skipped, f.log.String())
		}
		c.synced.Store(true)
		a = f.send(t, "/validate/warn", create(deployment).body(t))
		if len(warningsWith(a.resp.Warnings, "pod-disruption-budget")) != 1 || len(f.rec.skipped) != 2 {
			t.Errorf("once synced: warnings %q, skips %v", a.resp.Warnings, f.rec.skipped)
		}
	})

	t.Run("without access to the cluster, the skip says so", func(t *testing.T) {
		f := contextFixture(t, nil)
		a := f.send(t, "/validate/warn", create(deployment).body(t))
		if !a.resp.Allowed || len(warningsWith(a.resp.Warnings, "pod-disruption-budget")) > 0 {
			t.Errorf("allowed=%v warnings=%q", a.resp.Allowed, a.resp.Warnings)
		}
		if !slices.Equal(f.rec.skipped, []string{webhook.ContextNoCluster}) {
			t.Errorf("skips counted %v, want [no_cluster]", f.rec.skipped)
		}
	})

	t.Run("a policy that turns the context rules off skips nothing: nothing is counted", func(t *testing.T) {
		c := clusterOf(t)
		c.synced.Store(false)
		f := contextFixture(t, c)
		p := policy.Default()
		off := false
		p.ContextRules = &off
		f.h.Policy.Store(p)
		f.send(t, "/validate/warn", create(deployment).body(t))
		if len(f.rec.skipped) != 0 || decisionLine(t, f)["context"] != nil {
			t.Errorf("skips counted %v; log:\n%s", f.rec.skipped, f.log.String())
		}
		c.synced.Store(true)
		a := f.send(t, "/validate/warn", create(deployment).body(t))
		if len(warningsWith(a.resp.Warnings, "pod-disruption-budget")) > 0 {
			t.Errorf("a context rule ran though the policy turns them off: %q", a.resp.Warnings)
		}
	})

	t.Run("kinds no context rule judges count no skip", func(t *testing.T) {
		c := clusterOf(t)
		c.synced.Store(false)
		f := contextFixture(t, c)
		f.send(t, "/validate/warn", create(jsonOf(t, webBudget)).body(t))
		if len(f.rec.skipped) != 0 {
			t.Errorf("skips counted %v for a budget", f.rec.skipped)
		}
		// service-account-token judges Pods: a Pod judged without the
		// caches is a skip.
		f.send(t, "/validate/warn", create(load(t, "pod-bare-nginx.yaml")).body(t))
		if len(f.rec.skipped) != 1 {
			t.Errorf("skips counted %v for a Pod, want one", f.rec.skipped)
		}
	})
}

func TestCompanionKindsAtAdmission(t *testing.T) {
	autoscaler := jsonOf(t, webAutoscaler)

	t.Run("an autoscaler is judged on CREATE and UPDATE, its target read from the cluster", func(t *testing.T) {
		target := strings.Replace(webDeployment, "  replicas: 3\n", "", 1)
		f := contextFixture(t, clusterOf(t, target))
		for _, r := range []reviewOf{create(autoscaler), update(autoscaler, autoscaler)} {
			a := f.send(t, "/validate/warn", r.body(t))
			ws := warningsWith(a.resp.Warnings, "hpa-min-replicas")
			if !a.resp.Allowed || len(ws) != 1 || !strings.Contains(ws[0], "spec.minReplicas") {
				t.Errorf("%s: allowed=%v warnings=%q, want the hpa-min-replicas warning", r.op, a.resp.Allowed, a.resp.Warnings)
			}
			if len(warningsWith(a.resp.Warnings, "hpa-target")) > 0 {
				t.Errorf("%s: hpa-target warns though the target exists and requests CPU: %q", r.op, a.resp.Warnings)
			}
		}
		if got := f.rec.requests[0].Kind; got != "HorizontalPodAutoscaler" {
			t.Errorf("metric kind %q", got)
		}
	})

	t.Run("an autoscaler of a workload the cluster does not hold is warned about", func(t *testing.T) {
		f := contextFixture(t, clusterOf(t))
		a := f.send(t, "/validate/enforce", create(autoscaler).body(t))
		if !a.resp.Allowed || len(warningsWith(a.resp.Warnings, "hpa-target")) != 1 {
			t.Errorf("allowed=%v warnings=%q, want admitted with an hpa-target warning", a.resp.Allowed, a.resp.Warnings)
		}
	})

	t.Run("a budget that allows no eviction is warned about", func(t *testing.T) {
		f := contextFixture(t, clusterOf(t))
		budget := jsonOf(t, strings.Replace(webBudget, "maxUnavailable: 1", "maxUnavailable: 0", 1))
		a := f.send(t, "/validate/warn", create(budget).body(t))
		if !a.resp.Allowed || len(warningsWith(a.resp.Warnings, "pdb-allows-eviction")) != 1 {
			t.Errorf("allowed=%v warnings=%q, want the pdb-allows-eviction warning", a.resp.Allowed, a.resp.Warnings)
		}
	})

	t.Run("/mutate leaves budgets and autoscalers alone", func(t *testing.T) {
		f := contextFixture(t, clusterOf(t))
		for _, obj := range [][]byte{autoscaler, jsonOf(t, webBudget)} {
			a := f.send(t, "/mutate/enforce", create(obj).body(t))
			if !a.resp.Allowed || a.resp.Patch != nil || a.code() != http.StatusOK {
				t.Errorf("allowed=%v patch=%s code=%d", a.resp.Allowed, a.resp.Patch, a.code())
			}
		}
	})

	t.Run("a Namespace is not judged at admission", func(t *testing.T) {
		f := newFixture(t)
		f.h.Rules = validate.Registry()
		f.h.Cluster = clusterOf(t)
		ns := []byte(`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"team-a"}}`)
		a := f.send(t, "/validate/warn", create(ns).body(t))
		if !a.resp.Allowed || len(a.resp.Warnings) > 0 || a.message() != "plimsoll does not judge kind Namespace of v1; allowed" {
			t.Errorf("allowed=%v warnings=%q message=%q", a.resp.Allowed, a.resp.Warnings, a.message())
		}
	})
}

// fakeWatch is a webhook.ClusterWatch that counts its starts.
type fakeWatch struct {
	fakeCluster
	starts atomic.Int32
}

func (w *fakeWatch) Start(context.Context) { w.starts.Add(1) }

// TestServerWatchesTheClusterOnlyWithTheContextRules: the server starts
// the caches once the policy turns the context rules on (here at a
// reload), never waits for them, and counts the requests judged without
// them in plimsoll_context_rules_skipped_total.
func TestServerWatchesTheClusterOnlyWithTheContextRules(t *testing.T) {
	dir := t.TempDir()
	o := webhook.DefaultOptions()
	o.Listen, o.HealthListen, o.MetricsListen = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	o.TLSCertFile, o.TLSKeyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	o.ConfigFile, o.ConfigPollInterval = filepath.Join(dir, "policy.yaml"), 50*time.Millisecond
	w := &fakeWatch{fakeCluster: fakeCluster{view: cluster.NewObjects("the cluster")}}
	o.Cluster = w
	cert := writeCert(t, o.TLSCertFile, o.TLSKeyFile)
	on := onlyRules(map[string]string{"pod-disruption-budget": "warning"})
	writeAtomically(t, o.ConfigFile, on+"contextRules: false\n")
	log := &logBuffer{}
	srv, err := webhook.NewServer(o, newLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run returned %v at the end of its context, want nil", err)
		}
		if t.Failed() {
			t.Logf("server log:\n%s", log)
		}
	}()
	ts := &testServer{srv: srv, health: "http://" + srv.HealthAddr().String(), metrics: "http://" + srv.MetricsAddr().String(),
		admission: "https://" + srv.Addr().String()}
	ts.waitReady(t)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	ts.client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	skips := func() float64 {
		t.Helper()
		v, ok := ts.metric(t, "plimsoll_context_rules_skipped_total", map[string]string{"reason": "not_synced"})
		if !ok {
			t.Fatal("no plimsoll_context_rules_skipped_total{reason=\"not_synced\"} series")
		}
		return v
	}
	deployment := create(jsonOf(t, webDeployment)).body(t)

	time.Sleep(5 * o.ConfigPollInterval)
	if n := w.starts.Load(); n != 0 {
		t.Fatalf("the caches were started %d times though the policy turns the context rules off", n)
	}
	if a := ts.review(t, "/validate/warn", deployment); !a.resp.Allowed || len(a.resp.Warnings) > 0 || skips() != 0 {
		t.Errorf("context rules off: allowed=%v warnings=%q skips=%v", a.resp.Allowed, a.resp.Warnings, skips())
	}
	if v, ok := ts.metric(t, "plimsoll_context_rules_skipped_total", map[string]string{"reason": "no_cluster"}); !ok || v != 0 {
		t.Errorf("no_cluster series %v (found %v), want 0 from the start", v, ok)
	}

	writeAtomically(t, o.ConfigFile, on)
	eventually(t, 30*time.Second, "the caches to be started", func() bool { return w.starts.Load() == 1 })
	if a := ts.review(t, "/validate/warn", deployment); !a.resp.Allowed || len(a.resp.Warnings) > 0 || skips() != 1 {
		t.Errorf("not synced: allowed=%v warnings=%q skips=%v, want admitted silently and one skip", a.resp.Allowed, a.resp.Warnings, skips())
	}
	w.synced.Store(true)
	if a := ts.review(t, "/validate/warn", deployment); len(warningsWith(a.resp.Warnings, "pod-disruption-budget")) != 1 || skips() != 1 {
		t.Errorf("synced: warnings=%q skips=%v, want the pod-disruption-budget warning and still one skip", a.resp.Warnings, skips())
	}
	// Off again: the caches run on, unread.
	writeAtomically(t, o.ConfigFile, on+"contextRules: false\n")
	eventually(t, 30*time.Second, "the policy to be reloaded", func() bool {
		a := ts.review(t, "/validate/warn", deployment)
		return len(a.resp.Warnings) == 0
	})
	if n := w.starts.Load(); n != 1 {
		t.Errorf("started %d times, want once", n)
	}
}

// TestMutateDefaultsTheTokenFromTheCachedServiceAccount: with
// defaults.serviceAccountToken: false, /mutate writes
// automountServiceAccountToken: false when the cache holds the Pod's
// ServiceAccount and it says nothing, and writes nothing when the cache
// has not synced or the ServiceAccount says true.
func TestMutateDefaultsTheTokenFromTheCachedServiceAccount(t *testing.T) {
	const pod = `apiVersion: v1
kind: Pod
metadata: {name: web, namespace: team-a}
spec:
  containers:
  - name: web
    image: example.com/web:1.4.2
`
	tests := []struct {
		name    string
		account string
		synced  bool
		want    bool
	}{
		{"an account that says nothing", "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: default, namespace: team-a}\n", true, true},
		{"an account that says true", "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: default, namespace: team-a}\nautomountServiceAccountToken: true\n", true, false},
		{"a cache that has not synced", "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: default, namespace: team-a}\n", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := clusterOf(t, tt.account)
			c.synced.Store(tt.synced)
			f := contextFixture(t, c)
			p := policy.Default()
			no := false
			p.Defaults.ServiceAccountToken = &no
			f.h.Policy.Store(p)
			a := f.send(t, "/mutate/enforce", create(jsonOf(t, pod)).body(t))
			if !a.resp.Allowed {
				t.Fatalf("refused: %s", a.message())
			}
			wrote := false
			for _, op := range patchOps(t, a.resp) {
				if op.Path == "/spec/automountServiceAccountToken" {
					wrote = op.Value == false
				}
			}
			if wrote != tt.want {
				t.Errorf("wrote automountServiceAccountToken: false = %v, want %v (patch %s)", wrote, tt.want, a.resp.Patch)
			}
		})
	}
}
