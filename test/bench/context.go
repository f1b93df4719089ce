package main

// The context phase: what the caches of the context rules cost
// `plimsoll serve` in memory. A real kube-apiserver is filled with
// BENCH_CONTEXT_OBJECTS (10,000) each of PodDisruptionBudgets,
// HorizontalPodAutoscalers, ResourceQuotas and Deployments, spread over
// 100 namespaces; a fresh plimsoll serve reads it with the context rules
// on (its caches listed and synced) and off (contextRules: false, no
// cache), before and after the objects exist, and its VmRSS is read once
// the caches have synced.

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
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/plimsoll/plimsoll/test/bench/load"
	"github.com/plimsoll/plimsoll/test/harness"
)

// contextSample is plimsoll serve's VmRSS with the context rules on or
// off, with the cluster empty or full.
type contextSample struct {
	objects   int  // of each kind
	on        bool // context rules on (caches) or off
	rssKB     int64
	heapKB    int64 // go_memstats_heap_inuse_bytes: live objects and what the GC has yet to free
	syncedIn  time.Duration
	listedAll bool
}

const contextNamespaces = 100

func (r *report) contextCaches(ctx context.Context) error {
	logf("context: starting kube-apiserver and etcd (test/harness)")
	env, err := harness.Start(ctx, harness.Options{Log: func(f string, a ...any) { logf(f, a...) }})
	if err != nil {
		return err
	}
	defer env.Stop()
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
	measure := func(objects int, on bool) error {
		args := []string{"--tls-cert-file", env.Certs.CertFile, "--tls-key-file", env.Certs.KeyFile, "--kubeconfig", kubeconfig}
		if !on {
			args = append(args, "--config", off)
		}
		log := filepath.Join(dir, fmt.Sprintf("serve-%d-%v.log", objects, on))
		start := time.Now()
		p, err := harness.StartPlimsoll(ctx, bin, log, args...)
		if err != nil {
			return err
		}
		defer func() { _ = p.Stop() }()
		s := contextSample{objects: objects, on: on}
		if on {
			deadline := time.Now().Add(5 * time.Minute)
			for !strings.Contains(p.Log(), "caches of the cluster are synced") {
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
		logf("context: %d objects of each kind, context rules on=%v: VmRSS %d KiB, Go heap in use %d KiB", objects, on, s.rssKB, s.heapKB)
		r.context = append(r.context, s)
		return nil
	}
	for _, on := range []bool{false, true} {
		if err := measure(0, on); err != nil {
			return err
		}
	}
	n := r.contextObjects
	logf("context: creating %d PodDisruptionBudgets, HorizontalPodAutoscalers, ResourceQuotas and Deployments in %d namespaces", n, contextNamespaces)
	cfg := rest.CopyConfig(env.Config)
	cfg.QPS, cfg.Burst = -1, 0
	cfg.WarningHandler = rest.NoWarnings{}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	start := time.Now()
	if err := fillCluster(ctx, client, n); err != nil {
		return err
	}
	logf("context: created %d objects in %s", 4*n, time.Since(start).Round(time.Second))
	for _, on := range []bool{false, true} {
		if err := measure(n, on); err != nil {
			return err
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

// fillCluster creates n of each kind, evenly over contextNamespaces
// namespaces (unlabelled: no webhook entry selects them), 16 at a time.
func fillCluster(ctx context.Context, c kubernetes.Interface, n int) error {
	for i := range contextNamespaces {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("bench-context-%03d", i)}}
		if _, err := c.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	jobs := make(chan int)
	errs := make(chan error, 16)
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				if err := createSet(ctx, c, i); err != nil {
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

// createSet creates the i-th Deployment and its budget, autoscaler and
// quota: the shapes a chart installs, with labels and a container.
func createSet(ctx context.Context, c kubernetes.Interface, i int) error {
	ns := fmt.Sprintf("bench-context-%03d", i%contextNamespaces)
	name := fmt.Sprintf("app-%05d", i)
	labels := map[string]string{"app.kubernetes.io/name": name, "app.kubernetes.io/instance": "bench"}
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
