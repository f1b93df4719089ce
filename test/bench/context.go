package main

// The context phase: what the caches of the context rules cost
// `plimsoll serve` in memory. A real kube-apiserver, serving trivy-operator's
// VulnerabilityReport custom resource, is filled in two steps over 100
// namespaces: BENCH_CONTEXT_OBJECTS (10,000) each of PodDisruptionBudgets,
// HorizontalPodAutoscalers, ResourceQuotas and Deployments (the
// availability rules'), then as many NetworkPolicies and
// VulnerabilityReports (the security rules'). A fresh plimsoll serve reads
// it with the context rules on (its caches listed and synced) and off
// (contextRules: false, no cache), empty and after each step, and its
// VmRSS is read once the caches have synced.

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/plimsoll/plimsoll/test/bench/load"
	"github.com/plimsoll/plimsoll/test/harness"
)

// contextSample is plimsoll serve's VmRSS with the context rules on or
// off, with the cluster empty or full.
type contextSample struct {
	stage     string // contextEmpty, contextAvailability or contextSecurity
	objects   int    // of each kind
	on        bool   // context rules on (caches) or off
	rssKB     int64
	heapKB    int64 // go_memstats_heap_inuse_bytes: live objects and what the GC has yet to free
	syncedIn  time.Duration
	listedAll bool
}

const contextNamespaces = 100

// The context phase's steps: what the cluster holds.
const (
	contextEmpty        = "empty"
	contextAvailability = "availability" // n each of budgets, autoscalers, quotas, Deployments
	contextSecurity     = "security"     // and n each of NetworkPolicies and VulnerabilityReports
)

func (r *report) contextCaches(ctx context.Context) error {
	logf("context: starting kube-apiserver and etcd (test/harness)")
	env, err := harness.Start(ctx, harness.Options{Log: func(f string, a ...any) { logf(f, a...) }})
	if err != nil {
		return err
	}
	defer env.Stop()
	dyn, err := dynamic.NewForConfig(env.Config)
	if err != nil {
		return err
	}
	if err := harness.InstallReportCRD(ctx, dyn); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "plimsoll-bench-context-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := env.WriteKubeconfig(kubeconfig, ""); err != nil {
		return err
	}
	off := filepath.Join(dir, "off.yaml")
	if err := os.WriteFile(off, []byte("apiVersion: plimsoll.dev/v1alpha1\nkind: Policy\ncontextRules: false\n"), 0o600); err != nil {
		return err
	}
	bin := filepath.Join(env.BinDir, "plimsoll") // built by harness.Start
	measure := func(stage string, objects int, on bool) error {
		args := []string{"--tls-cert-file", env.Certs.CertFile, "--tls-key-file", env.Certs.KeyFile, "--kubeconfig", kubeconfig}
		if !on {
			args = append(args, "--config", off)
		}
		log := filepath.Join(dir, fmt.Sprintf("serve-%s-%v.log", stage, on))
		start := time.Now()
		p, err := harness.StartPlimsoll(ctx, bin, log, args...)
		if err != nil {
			return err
		}
		defer func() { _ = p.Stop() }()
		s := contextSample{stage: stage, objects: objects, on: on}
		if on {
			deadline := time.Now().Add(5 * time.Minute)
			for l := p.Log(); !strings.Contains(l, "caches of the cluster are synced") || !strings.Contains(l, "VulnerabilityReports are cached"); l = p.Log() {
				if time.Now().After(deadline) {
					return fmt.Errorf("plimsoll serve's caches did not sync in 5 minutes; its log:\n%s", p.Log())
				}
				time.Sleep(50 * time.Millisecond)
			}
			s.syncedIn = time.Since(start)
			s.listedAll = true
		}
		time.Sleep(3 * time.Second) // let the heap settle after the lists
		if s.rssKB, err = load.RSSKB(p.Cmd.Process.Pid); err != nil {
			return err
		}
		if s.heapKB, err = heapInUseKB(ctx, p.MetricsPort); err != nil {
			return err
		}
		logf("context: cluster %s (%d objects of each kind), context rules on=%v: VmRSS %d KiB, Go heap in use %d KiB", stage, objects, on, s.rssKB, s.heapKB)
		r.context = append(r.context, s)
		return nil
	}
	for _, on := range []bool{false, true} {
		if err := measure(contextEmpty, 0, on); err != nil {
			return err
		}
	}
	n := r.contextObjects
	cfg := rest.CopyConfig(env.Config)
	cfg.QPS, cfg.Burst = -1, 0
	cfg.WarningHandler = rest.NoWarnings{}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	for i := range contextNamespaces {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("bench-context-%03d", i)}}
		if _, err := client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	for _, step := range []struct {
		stage, what string
		kinds       int
		create      func(ctx context.Context, i int) error
	}{
		{contextAvailability, "PodDisruptionBudgets, HorizontalPodAutoscalers, ResourceQuotas and Deployments", 4,
			func(ctx context.Context, i int) error { return createAvailabilitySet(ctx, client, i) }},
		{contextSecurity, "NetworkPolicies and VulnerabilityReports", 2,
			func(ctx context.Context, i int) error { return createSecuritySet(ctx, client, dyn, i) }},
	} {
		logf("context: creating %d each of %s in %d namespaces", n, step.what, contextNamespaces)
		start := time.Now()
		if err := fillCluster(ctx, n, step.create); err != nil {
			return err
		}
		logf("context: created %d objects in %s", step.kinds*n, time.Since(start).Round(time.Second))
		for _, on := range []bool{false, true} {
			if err := measure(step.stage, n, on); err != nil {
				return err
			}
		}
	}
	return nil
}

// heapInUseKB reads go_memstats_heap_inuse_bytes from plimsoll's /metrics.
func heapInUseKB(ctx context.Context, port int) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/metrics", port), nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, "go_memstats_heap_inuse_bytes "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return int64(f / 1024), err
		}
	}
	return 0, fmt.Errorf("no go_memstats_heap_inuse_bytes on plimsoll's /metrics")
}

// fillCluster calls create for 0 ≤ i < n, 16 at a time; the objects go
// evenly over contextNamespaces namespaces (unlabelled: no webhook entry
// selects them).
func fillCluster(ctx context.Context, n int, create func(ctx context.Context, i int) error) error {
	jobs := make(chan int)
	errs := make(chan error, 16)
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				if err := create(ctx, i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	var err error
feed:
	for i := range n {
		select {
		case jobs <- i:
		case err = <-errs:
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if err == nil {
		select {
		case err = <-errs:
		default:
		}
	}
	return err
}

// setNames are the namespace, name and labels of the i-th set.
func setNames(i int) (ns, name string, labels map[string]string) {
	name = fmt.Sprintf("app-%05d", i)
	return fmt.Sprintf("bench-context-%03d", i%contextNamespaces), name,
		map[string]string{"app.kubernetes.io/name": name, "app.kubernetes.io/instance": "bench"}
}

// createAvailabilitySet creates the i-th Deployment and its budget,
// autoscaler and quota: the shapes a chart installs, with labels and a
// container.
func createAvailabilitySet(ctx context.Context, c kubernetes.Interface, i int) error {
	ns, name, labels := setNames(i)
	two, one := int32(2), intstr.FromInt32(1)
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "app", Image: "ghcr.io/acme/app:1.4.2",
					Ports: []corev1.ContainerPort{{ContainerPort: 8080}},
					Resources: corev1.ResourceRequirements{
						Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
						Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")},
					},
				}}},
			},
		},
	}
	pdb := &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec:       policyv1.PodDisruptionBudgetSpec{MaxUnavailable: &one, Selector: &metav1.LabelSelector{MatchLabels: labels}},
	}
	hpa := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: name},
			MinReplicas:    &two, MaxReplicas: 10,
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
				Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &[]int32{70}[0]},
			}}},
		},
	}
	quota := &corev1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec:       corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("50")}},
	}
	if _, err := c.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		return err
	}
	if _, err := c.PolicyV1().PodDisruptionBudgets(ns).Create(ctx, pdb, metav1.CreateOptions{}); err != nil {
		return err
	}
	if _, err := c.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, hpa, metav1.CreateOptions{}); err != nil {
		return err
	}
	_, err := c.CoreV1().ResourceQuotas(ns).Create(ctx, quota, metav1.CreateOptions{})
	return err
}

// createSecuritySet creates the i-th Deployment's NetworkPolicy (ingress
// from its namespace's frontends on one port, egress to DNS: the shape a
// chart installs) and its image's VulnerabilityReport, as trivy-operator
// writes one: 40 vulnerabilities over the severities, each with the fields
// the scanner fills in (plimsoll's cache keeps the worst few IDs).
func createSecuritySet(ctx context.Context, c kubernetes.Interface, dyn dynamic.Interface, i int) error {
	ns, name, labels := setNames(i)
	tcp, udp := corev1.ProtocolTCP, corev1.ProtocolUDP
	port, dns := intstr.FromInt32(8080), intstr.FromInt32(53)
	np := &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: labels},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				From:  []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/component": "frontend"}}}},
				Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: &port}},
			}},
			Egress: []networkingv1.NetworkPolicyEgressRule{{
				To:    []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": "kube-system"}}}},
				Ports: []networkingv1.NetworkPolicyPort{{Protocol: &udp, Port: &dns}},
			}},
		},
	}
	if _, err := c.NetworkingV1().NetworkPolicies(ns).Create(ctx, np, metav1.CreateOptions{}); err != nil {
		return err
	}
	severities := []string{"CRITICAL", "HIGH", "HIGH", "MEDIUM", "MEDIUM", "MEDIUM", "LOW", "LOW", "LOW", "UNKNOWN"}
	vulns := make([]any, 0, 40)
	counts := map[string]int64{}
	for v := range 40 {
		sev := severities[v%len(severities)]
		counts[sev]++
		vulns = append(vulns, map[string]any{
			"vulnerabilityID": fmt.Sprintf("CVE-2026-%05d", 10000+v), "severity": sev, "score": 5.5,
			"resource": fmt.Sprintf("lib%d", v), "installedVersion": "1.2.3-r0", "fixedVersion": "1.2.4-r0",
			"title":       "a benchmark vulnerability of a library the image ships",
			"primaryLink": fmt.Sprintf("https://avd.aquasec.com/nvd/cve-2026-%05d", 10000+v),
		})
	}
	report := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "aquasecurity.github.io/v1alpha1", "kind": "VulnerabilityReport",
		"metadata": map[string]any{"name": "replicaset-" + name + "-app", "namespace": ns, "labels": map[string]any{
			"trivy-operator.resource.kind": "ReplicaSet", "trivy-operator.resource.name": name, "trivy-operator.container.name": "app"}},
		"report": map[string]any{
			"updateTimestamp": "2026-12-01T00:00:00Z",
			"scanner":         map[string]any{"name": "Trivy", "vendor": "Aqua Security", "version": "0.60.0"},
			"registry":        map[string]any{"server": "ghcr.io"},
			"artifact":        map[string]any{"repository": "acme/" + name, "tag": "1.4.2"},
			"summary": map[string]any{"criticalCount": counts["CRITICAL"], "highCount": counts["HIGH"], "mediumCount": counts["MEDIUM"],
				"lowCount": counts["LOW"], "unknownCount": counts["UNKNOWN"]},
			"vulnerabilities": vulns,
		},
	}}
	_, err := dyn.Resource(harness.ReportResource).Namespace(ns).Create(ctx, report, metav1.CreateOptions{})
	return err
}
