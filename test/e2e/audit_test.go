package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/plimsoll/plimsoll/admission"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/yaml"

	"github.com/plimsoll/plimsoll/audit"
	"github.com/plimsoll/plimsoll/check"
	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/test/harness"
	"github.com/plimsoll/plimsoll/workload"
)

// The audit's namespaces: three in audit mode (the webhook admits every
// object unchanged, so what is stored is what the manifests say), one
// unlabelled, one switched off, and one the background audit test
// changes.
const (
	auditNSPrefix = "audit-e2e-"
	auditNSPlain  = auditNSPrefix + "plain"
	auditNSOff    = auditNSPrefix + "off"
	auditNSLive   = auditNSPrefix + "live"
)

var auditNSLabelled = []string{auditNSPrefix + "a", auditNSPrefix + "b", auditNSPrefix + "c"}

// auditSeed is what was seeded: the manifests of every object reported as
// itself, per namespace, and how many objects were made by an owner.
type auditSeed struct {
	dir   string         // <dir>/<namespace>/<kind>-<name>.yaml
	owned map[string]int // objects reported through their owner, per namespace
	total int            // objects created
}

var (
	auditSeedOnce sync.Once
	auditSeeded   *auditSeed
	auditSeedErr  error
)

// auditSeedAll creates the namespaces and a few hundred objects of mixed
// compliance once for every audit test.
func auditSeedAll(t *testing.T) *auditSeed {
	t.Helper()
	auditSeedOnce.Do(func() {
		start := time.Now()
		auditSeeded, auditSeedErr = auditDoSeed(context.Background())
		if auditSeedErr == nil {
			t.Logf("seeded %d objects in %v", auditSeeded.total, time.Since(start).Round(time.Millisecond))
		}
	})
	if auditSeedErr != nil {
		t.Fatalf("seeding the audit's workloads: %v", auditSeedErr)
	}
	return auditSeeded
}

func auditDoSeed(ctx context.Context) (*auditSeed, error) {
	dir, err := os.MkdirTemp(env.Dir, "audit-manifests-")
	if err != nil {
		return nil, err
	}
	s := &auditSeed{dir: dir, owned: map[string]int{}}
	cfg := rest.CopyConfig(env.Config)
	cfg.QPS, cfg.Burst = 400, 800
	cfg.WarningHandler = rest.NoWarnings{}
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	namespaces := map[string]admission.Mode{auditNSPlain: "", auditNSOff: admission.Off, auditNSLive: admission.Audit}
	for _, ns := range auditNSLabelled {
		namespaces[ns] = admission.Audit
	}
	for ns, mode := range namespaces {
		if err := env.CreateNamespace(ctx, ns, mode); err != nil {
			return nil, err
		}
		if ns == auditNSLive {
			continue // its objects are the background audit test's
		}
		// The audit judges each namespace that runs workloads
		// (namespace-quota); check judges its manifest.
		if err := auditWriteManifest(dir, ns, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			return nil, err
		}
	}
	type job struct {
		ns string
		i  int
	}
	var jobs []job
	for n, ns := range auditNSLabelled {
		for i := range 40 {
			jobs = append(jobs, job{ns, i + n})
		}
	}
	for i := range 16 {
		jobs = append(jobs, job{auditNSPlain, i})
	}
	for i := range 8 {
		jobs = append(jobs, job{auditNSOff, i})
	}
	var mu sync.Mutex
	errs := make(chan error, len(jobs))
	work := make(chan job)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range work {
				created, owned, err := auditSeedEntry(ctx, c, dir, j.ns, j.i)
				if err != nil {
					errs <- fmt.Errorf("%s entry %d: %w", j.ns, j.i, err)
					continue
				}
				mu.Lock()
				s.total += created
				s.owned[j.ns] += owned
				mu.Unlock()
			}
		}()
	}
	for _, j := range jobs {
		work <- j
	}
	close(work)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	return s, nil
}

// auditVariants are Pod specs of mixed compliance, by name.
var auditVariants = []string{"good", "latest", "bare", "privileged", "hostpath", "root", "probed"}

func auditSpec(variant string) corev1.PodSpec {
	no, yes := false, true
	spec := corev1.PodSpec{
		SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: &yes, SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
		Containers: []corev1.Container{{
			Name: "app", Image: "registry.example.com/team/app:1.4.2",
			Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
				Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("256Mi")},
			},
			SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: &no, ReadOnlyRootFilesystem: &yes,
				Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}},
		}},
	}
	c := &spec.Containers[0]
	switch variant {
	case "latest":
		c.Image = "nginx:latest"
	case "bare": // everything defaulting fixes, and no probes
		c.Image = "nginx:1.27"
		c.Resources = corev1.ResourceRequirements{}
		c.SecurityContext = nil
		spec.SecurityContext = nil
		c.Ports = []corev1.ContainerPort{{ContainerPort: 8080}}
	case "privileged":
		c.SecurityContext.Privileged = &yes
		c.SecurityContext.AllowPrivilegeEscalation = nil
	case "hostpath":
		spec.Volumes = []corev1.Volume{{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/log"}}}}
		c.VolumeMounts = []corev1.VolumeMount{{Name: "host", MountPath: "/host", ReadOnly: true}}
	case "root":
		spec.SecurityContext.RunAsNonRoot = &no
	case "probed":
		probe := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(8080)}}}
		ready := probe.DeepCopy()
		ready.HTTPGet.Path = "/ready"
		c.Ports = []corev1.ContainerPort{{ContainerPort: 8080}}
		c.LivenessProbe, c.ReadinessProbe = probe, ready
	}
	return spec
}

// auditSeedEntry creates the i-th entry of namespace ns: one object reported as
// itself, and the objects it owns. It writes the manifest of the first
// into dir, as a Git repository would hold it, and returns how many
// objects it created and how many of them have an owner.
func auditSeedEntry(ctx context.Context, c kubernetes.Interface, dir, ns string, i int) (created, owned int, err error) {
	variant := auditVariants[(i/8+i)%len(auditVariants)]
	spec := auditSpec(variant)
	name := fmt.Sprintf("%s-%d", variant, i)
	labels := map[string]string{"app": name}
	tmpl := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: spec}
	sel := &metav1.LabelSelector{MatchLabels: labels}
	om := metav1.ObjectMeta{Name: name, Namespace: ns}
	replicas := int32(1 + i%3)
	if replicas > 1 {
		tmpl.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: "kubernetes.io/hostname",
			WhenUnsatisfiable: corev1.ScheduleAnyway, LabelSelector: sel}}
	}
	batch := tmpl.DeepCopy()
	batch.Spec.RestartPolicy = corev1.RestartPolicyNever
	batch.Spec.TopologySpreadConstraints = nil
	podOf := func(name string, owner metav1.Object, kind, apiVersion string, spec corev1.PodSpec) error {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels}, Spec: spec}
		if owner != nil {
			p.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(owner, schema.FromAPIVersionAndKind(apiVersion, kind))}
			owned++
		}
		_, err := c.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{})
		created++
		return err
	}
	var top runtime.Object
	switch i % 8 {
	case 0: // Deployment → ReplicaSet → Pod
		d := &appsv1.Deployment{ObjectMeta: om, Spec: appsv1.DeploymentSpec{Replicas: &replicas, Selector: sel, Template: tmpl}}
		if d, err = c.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
			return
		}
		created++
		top = d
		rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: name + "-5d8f7c9b6", Namespace: ns,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(d, appsv1.SchemeGroupVersion.WithKind("Deployment"))}},
			Spec: appsv1.ReplicaSetSpec{Replicas: &replicas, Selector: sel, Template: tmpl}}
		if rs, err = c.AppsV1().ReplicaSets(ns).Create(ctx, rs, metav1.CreateOptions{}); err != nil {
			return
		}
		created++
		owned++
		err = podOf(rs.Name+"-x7k2p", rs, "ReplicaSet", "apps/v1", tmpl.Spec)
	case 1: // StatefulSet → Pod
		s := &appsv1.StatefulSet{ObjectMeta: om, Spec: appsv1.StatefulSetSpec{Replicas: &replicas, Selector: sel, Template: tmpl, ServiceName: name}}
		if s, err = c.AppsV1().StatefulSets(ns).Create(ctx, s, metav1.CreateOptions{}); err != nil {
			return
		}
		created++
		top = s
		err = podOf(name+"-0", s, "StatefulSet", "apps/v1", tmpl.Spec)
	case 2: // DaemonSet → Pod
		ds := &appsv1.DaemonSet{ObjectMeta: om, Spec: appsv1.DaemonSetSpec{Selector: sel, Template: tmpl}}
		if ds, err = c.AppsV1().DaemonSets(ns).Create(ctx, ds, metav1.CreateOptions{}); err != nil {
			return
		}
		created++
		top = ds
		err = podOf(name+"-node1", ds, "DaemonSet", "apps/v1", tmpl.Spec)
	case 3: // Job
		j := &batchv1.Job{ObjectMeta: om, Spec: batchv1.JobSpec{Template: *batch}}
		if j, err = c.BatchV1().Jobs(ns).Create(ctx, j, metav1.CreateOptions{}); err != nil {
			return
		}
		created++
		top = j
	case 4: // CronJob → Job → Pod
		cj := &batchv1.CronJob{ObjectMeta: om, Spec: batchv1.CronJobSpec{Schedule: "*/30 * * * *",
			JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: *batch}}}}
		if cj, err = c.BatchV1().CronJobs(ns).Create(ctx, cj, metav1.CreateOptions{}); err != nil {
			return
		}
		created++
		top = cj
		j := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: name + "-29123456", Namespace: ns,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(cj, batchv1.SchemeGroupVersion.WithKind("CronJob"))}},
			Spec: batchv1.JobSpec{Template: *batch.DeepCopy()}}
		if j, err = c.BatchV1().Jobs(ns).Create(ctx, j, metav1.CreateOptions{}); err != nil {
			return
		}
		created++
		owned++
		err = podOf(j.Name+"-abcde", j, "Job", "batch/v1", batch.Spec)
	case 5: // a bare Pod
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels}, Spec: spec}
		if p, err = c.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			return
		}
		created++
		top = p
	case 6: // a ReplicaSet of its own → two Pods
		rs := &appsv1.ReplicaSet{ObjectMeta: om, Spec: appsv1.ReplicaSetSpec{Replicas: &replicas, Selector: sel, Template: tmpl}}
		if rs, err = c.AppsV1().ReplicaSets(ns).Create(ctx, rs, metav1.CreateOptions{}); err != nil {
			return
		}
		created++
		top = rs
		if err = podOf(name+"-aaaaa", rs, "ReplicaSet", "apps/v1", tmpl.Spec); err != nil {
			return
		}
		err = podOf(name+"-bbbbb", rs, "ReplicaSet", "apps/v1", tmpl.Spec)
	case 7: // a Pod whose ReplicaSet is gone: reported as itself
		yes := true
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: name + "-gone", UID: "00000000-0000-0000-0000-000000000000", Controller: &yes}}},
			Spec: spec}
		if p, err = c.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			return
		}
		created++
		top = p
	}
	if err != nil || dir == "" {
		return
	}
	err = auditWriteManifest(dir, ns, top)
	return
}

// auditWriteManifest writes obj as the manifest its author would have written:
// apiVersion, kind, metadata (name, namespace, labels, owners) and spec.
func auditWriteManifest(dir, ns string, obj runtime.Object) error {
	m := obj.(metav1.Object)
	gvk := auditKindOf(obj)
	src := map[string]any{}
	b, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, &src); err != nil {
		return err
	}
	meta := map[string]any{"name": m.GetName()}
	if m.GetNamespace() != "" {
		meta["namespace"] = m.GetNamespace()
	}
	if len(m.GetLabels()) > 0 {
		meta["labels"] = m.GetLabels()
	}
	if refs := m.GetOwnerReferences(); len(refs) > 0 {
		meta["ownerReferences"] = refs
	}
	doc := map[string]any{"apiVersion": gvk.GroupVersion().String(), "kind": gvk.Kind, "metadata": meta}
	if src["spec"] != nil {
		doc["spec"] = src["spec"]
	}
	y, err := yaml.Marshal(doc)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, ns), 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, ns, gvk.Kind+"-"+m.GetName()+".yaml"), y, 0o644)
}

// TestAuditFindsExactlyWhatCheckFindsOnTheSameManifests seeds a few
// hundred objects, audits the cluster and checks the manifests: the two
// must agree finding for finding.
func TestAuditFindsExactlyWhatCheckFindsOnTheSameManifests(t *testing.T) {
	s := auditSeedAll(t)
	ctx := context.Background()
	start := time.Now()
	r, err := audit.Run(ctx, audit.Options{Config: env.Config, ExcludeNamespaces: []string{plimsollNS}})
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	var paths []string
	for _, ns := range auditNSLabelled {
		paths = append(paths, filepath.Join(s.dir, ns))
	}
	cr, err := check.Run(check.Options{Paths: paths, Policy: policy.Default(), Mode: "enforce"})
	if err != nil {
		t.Fatal(err)
	}
	mine := func(ns string) bool { return slices.Contains(auditNSLabelled, ns) }
	var got []check.Result
	objects := 0
	for _, ob := range r.Objects {
		if mine(ob.Namespace) {
			objects++
			for _, f := range ob.Findings {
				got = append(got, f.Result)
			}
		}
	}
	t.Logf("audit: %d objects judged in %v (%d in the seeded namespaces, %d findings); check: %d objects, %d findings, %+v",
		r.Summary.Objects, took.Round(time.Millisecond), objects, len(got), cr.Summary.Objects, len(cr.Results), cr.Summary)
	if objects != cr.Summary.Objects || objects != 123 {
		t.Errorf("audit judged %d objects in the seeded namespaces, check %d; want 123 each (one per entry, and the 3 namespaces)", objects, cr.Summary.Objects)
	}
	if diff := cmp.Diff(auditSorted(auditAsInTheCluster(cr.Results)), auditSorted(got), cmpopts.IgnoreUnexported(check.Result{})); diff != "" {
		t.Errorf("audit and check disagree (-check +audit):\n%s", diff)
	}
	if cr.Summary.Errors == 0 || cr.Summary.Warnings == 0 {
		t.Errorf("the seed should hold errors and warnings: %+v", cr.Summary)
	}

	var seen []string
	for _, ns := range r.Namespaces {
		if strings.HasPrefix(ns.Name, auditNSPrefix) {
			seen = append(seen, ns.Name)
		}
		if slices.Contains(admission.AlwaysExcluded, ns.Name) || ns.Name == plimsollNS {
			t.Errorf("namespace %s audited", ns.Name)
		}
	}
	if want := append(slices.Clone(auditNSLabelled), auditNSLive); !cmp.Equal(want, seen) {
		t.Errorf("opt-in scope audited %v, want %v (not the unlabelled nor the switched-off namespace)", seen, want)
	}
}

// auditAsInTheCluster returns check's results as the audit words them:
// the context rules say where they looked, "in the documents checked" for
// check and "in the cluster" for the audit.
func auditAsInTheCluster(rs []check.Result) []check.Result {
	out := slices.Clone(rs)
	for i := range out {
		out[i].Message = strings.ReplaceAll(out[i].Message, " in the documents checked", " in the cluster")
	}
	return out
}

// auditNamespaceOf is the namespace a result is about: a Namespace's own
// results (namespace-quota) name no namespace, the Namespace being
// cluster-scoped.
func auditNamespaceOf(r check.Result) string {
	if r.Kind == "Namespace" {
		return r.Name
	}
	return r.Namespace
}

func auditSorted(rs []check.Result) []check.Result {
	out := slices.Clone(rs)
	for i := range out {
		out[i].File = ""
		out[i].Line, out[i].Column = 0, 0
	}
	slices.SortStableFunc(out, func(a, b check.Result) int {
		return strings.Compare(a.Namespace+"/"+a.Kind+"/"+a.Name, b.Namespace+"/"+b.Kind+"/"+b.Name)
	})
	return out
}

// TestAuditOfOneNamespaceIsTheWhatIf audits an unlabelled namespace by
// name (opt-in scope would skip it) and the whole cluster in cluster scope.
func TestAuditOfOneNamespaceIsTheWhatIf(t *testing.T) {
	s := auditSeedAll(t)
	ctx := context.Background()
	r, err := audit.Run(ctx, audit.Options{Config: env.Config, Namespace: auditNSPlain, Mode: "enforce"})
	if err != nil {
		t.Fatal(err)
	}
	cr, err := check.Run(check.Options{Paths: []string{filepath.Join(s.dir, auditNSPlain)}, Policy: policy.Default(), Mode: "enforce"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(auditSorted(auditAsInTheCluster(cr.Results)), auditSorted(r.Results()), cmpopts.IgnoreUnexported(check.Result{})); diff != "" {
		t.Errorf("audit --namespace %s and check disagree (-check +audit):\n%s", auditNSPlain, diff)
	}
	if len(r.Namespaces) != 1 || r.Namespaces[0].Name != auditNSPlain || r.Namespaces[0].Mode != "unlabelled" {
		t.Errorf("namespaces = %+v, want %s only, unlabelled", r.Namespaces, auditNSPlain)
	}
	if r.ThroughOwner != s.owned[auditNSPlain] {
		t.Errorf("reported through their owner: %d, want %d", r.ThroughOwner, s.owned[auditNSPlain])
	}
	if r.Summary.Objects != 17 {
		t.Errorf("objects = %d, want 17 (16 entries and the namespace)", r.Summary.Objects)
	}

	cluster, err := audit.Run(ctx, audit.Options{Config: env.Config, Scope: admission.ScopeCluster, ExcludeNamespaces: []string{plimsollNS}})
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, ns := range cluster.Namespaces {
		names[ns.Name] = true
	}
	if !names[auditNSPlain] || names[auditNSOff] || names["kube-system"] || !names[auditNSLabelled[0]] {
		t.Errorf("cluster scope audited %v: want the unlabelled namespace, not the one switched off, never kube-system", names)
	}
}

// TestAuditCommandLine runs the binary as an operator would: a kubeconfig
// file whose current context points elsewhere, --context, --namespace,
// -o json and -o html.
func TestAuditCommandLine(t *testing.T) {
	auditSeedAll(t)
	ctx := context.Background()
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	auditWriteKubeconfig(t, env.Config, kubeconfig)
	bin := filepath.Join(env.BinDir, "plimsoll")
	ns := auditNSLabelled[1]

	cmd := exec.CommandContext(ctx, bin, "audit", "--kubeconfig", kubeconfig, "--context", "e2e", "--namespace", ns, "-o", "json")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if code := cmd.ProcessState.ExitCode(); code != 1 {
		t.Fatalf("plimsoll audit exited %d (%v), want 1 (enforce would deny something)\nstderr: %s", code, err, stderr.String())
	}
	var got struct {
		Results []check.Result `json:"results"`
		Summary check.Summary  `json:"summary"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("-o json: %v\n%s", err, stdout.String())
	}
	want, err := audit.Run(ctx, audit.Options{Config: env.Config, Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want.Results(), got.Results, cmpopts.IgnoreUnexported(check.Result{})); diff != "" {
		t.Errorf("plimsoll audit -o json (-in-process +command line):\n%s", diff)
	}
	if got.Summary != want.Summary || got.Results[0].File != "cluster" {
		t.Errorf("summary %+v (want %+v), file %q (want cluster)", got.Summary, want.Summary, got.Results[0].File)
	}

	html, err := exec.CommandContext(ctx, bin, "audit", "--kubeconfig", kubeconfig, "--context", "e2e", "-n", ns, "-o", "html").Output()
	if !strings.HasPrefix(string(html), "<!DOCTYPE html>") || !strings.Contains(string(html), "plimsoll audit of e2e") {
		t.Errorf("-o html (%v): %.200s", err, html)
	}
	out, _ := exec.CommandContext(ctx, bin, "audit", "--kubeconfig", kubeconfig, "-n", ns).CombinedOutput()
	if !strings.Contains(string(out), "connection refused") && !strings.Contains(string(out), "plimsoll audit:") {
		t.Errorf("without --context the kubeconfig's current context (nowhere) should fail clearly: %s", out)
	}
}

// auditWriteKubeconfig writes cfg as context "e2e"; the current context is
// "nowhere", a server that does not answer, so --context must be honoured.
func auditWriteKubeconfig(t *testing.T, cfg *rest.Config, path string) {
	t.Helper()
	server := cfg.Host
	if !strings.Contains(server, "://") {
		server = "https://" + server
	}
	kc := clientcmdapi.NewConfig()
	kc.Clusters["e2e"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: cfg.CAData}
	kc.Clusters["nowhere"] = &clientcmdapi.Cluster{Server: "https://127.0.0.1:1"}
	kc.AuthInfos["e2e"] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData, Token: cfg.BearerToken}
	kc.Contexts["e2e"] = &clientcmdapi.Context{Cluster: "e2e", AuthInfo: "e2e"}
	kc.Contexts["nowhere"] = &clientcmdapi.Context{Cluster: "nowhere", AuthInfo: "e2e"}
	kc.CurrentContext = "nowhere"
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
}

// auditInstallPolicyReportCRD installs the wgpolicyk8s.io CRDs from Kyverno's
// module in the Go module cache (downloaded through the module proxy; not
// committed here).
func auditInstallPolicyReportCRD(t *testing.T) {
	t.Helper()
	const module = "github.com/kyverno/kyverno@v1.19.1"
	out, err := exec.Command("go", "mod", "download", "-json", module).Output()
	if err != nil {
		t.Fatalf("go mod download %s (for the PolicyReport CRD): %v", module, err)
	}
	var info struct{ Dir string }
	if err := json.Unmarshal(out, &info); err != nil || info.Dir == "" {
		t.Fatalf("go mod download %s: no Dir in %s", module, out)
	}
	dir := filepath.Join(info.Dir, "config", "crds", "policyreport")
	dyn, err := dynamic.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	crds := dyn.Resource(schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"})
	for _, file := range []string{"wgpolicyk8s.io_policyreports.yaml", "wgpolicyk8s.io_clusterpolicyreports.yaml"} {
		data, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatalf("the PolicyReport CRD is not where Kyverno's module kept it: %v", err)
		}
		crd := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(data, &crd.Object); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if _, err := crds.Create(context.Background(), crd, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatalf("installing %s: %v", file, err)
		}
	}
	// Served once a List answers.
	auditWaitFor(t, 30*time.Second, "the PolicyReport API to be served", func() bool {
		_, err := dyn.Resource(audit.PolicyReportGVR).List(context.Background(), metav1.ListOptions{Limit: 1})
		return err == nil
	})
}

// auditReportKey is one PolicyReport result, or what one should be.
type auditReportKey struct{ Namespace, Kind, Name, Rule, Path, Result string }

// auditExpectedReport is what the background audit's PolicyReports should say
// of the one-shot audit's objects in namespace ns.
func auditExpectedReport(r *audit.Report, ns string) []auditReportKey {
	var out []auditReportKey
	for _, ob := range r.Objects {
		if ob.Namespace != ns {
			continue
		}
		if len(ob.Findings) == 0 {
			out = append(out, auditReportKey{ns, ob.Kind, ob.Name, "", "", "pass"})
		}
		for _, f := range ob.Findings {
			res := map[audit.Verdict]string{audit.Denied: "fail", audit.Warned: "warn", audit.Defaulted: "pass", audit.Exempted: "skip"}[f.Verdict()]
			out = append(out, auditReportKey{ns, ob.Kind, ob.Name, f.Rule, f.Path, res})
		}
	}
	slices.SortFunc(out, auditCompareKeys)
	return out
}

func auditCompareKeys(a, b auditReportKey) int {
	return strings.Compare(fmt.Sprint(a), fmt.Sprint(b))
}

// auditStoredReport reads the PolicyReport of ns; nil when there is none.
func auditStoredReport(t *testing.T, dyn dynamic.Interface, ns string) ([]auditReportKey, *unstructured.Unstructured) {
	t.Helper()
	u, err := dyn.Resource(audit.PolicyReportGVR).Namespace(ns).Get(context.Background(), audit.ReportName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		t.Fatal(err)
	}
	results, _, _ := unstructured.NestedSlice(u.Object, "results")
	out := []auditReportKey{}
	for _, item := range results {
		r := item.(map[string]any)
		res := r["resources"].([]any)[0].(map[string]any)
		path, _, _ := unstructured.NestedString(r, "properties", "path")
		rule, _ := r["rule"].(string)
		out = append(out, auditReportKey{ns, res["kind"].(string), res["name"].(string), rule, path, r["result"].(string)})
	}
	slices.SortFunc(out, auditCompareKeys)
	return out, u
}

// TestAuditBackgroundPublishesPolicyReports runs the in-cluster audit
// in-process against the API server: its PolicyReports say what the
// one-shot audit says, follow a fix, a deletion and a policy change, and
// its gauges agree.
func TestAuditBackgroundPublishesPolicyReports(t *testing.T) {
	auditSeedAll(t)
	auditInstallPolicyReportCRD(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dyn, err := dynamic.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// The reports written into other tests' namespaces go too.
		l, err := dyn.Resource(audit.PolicyReportGVR).List(context.Background(), metav1.ListOptions{LabelSelector: audit.ManagedByLabel + "=plimsoll"})
		if err != nil {
			return
		}
		for _, r := range l.Items {
			_ = dyn.Resource(audit.PolicyReportGVR).Namespace(r.GetNamespace()).Delete(context.Background(), r.GetName(), metav1.DeleteOptions{})
		}
	})
	// A few objects of its own, which this test changes.
	live := env.Client
	web := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: auditNSLive}, Spec: appsv1.DeploymentSpec{
		Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}}, Spec: auditSpec("latest")}}}
	if _, err := live.AppsV1().Deployments(auditNSLive).Create(ctx, web, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	nightly := &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Name: "nightly", Namespace: auditNSLive}, Spec: batchv1.CronJobSpec{Schedule: "0 3 * * *",
		JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: auditRestartNever(auditSpec("privileged"))}}}}}
	if _, err := live.BatchV1().CronJobs(auditNSLive).Create(ctx, nightly, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	policyFile := filepath.Join(t.TempDir(), "policy.yaml")
	auditWrite(t, policyFile, "apiVersion: plimsoll.dev/v1alpha1\nkind: Policy\n")
	// It runs as the ServiceAccount of config/audit, with that RBAC only.
	o := audit.DefaultBackgroundOptions()
	o.Config = auditServiceAccountConfig(t)
	o.ExcludeNamespaces = []string{plimsollNS}
	o.ConfigFile, o.ConfigPollInterval = policyFile, 100*time.Millisecond
	o.MetricsListen, o.HealthListen = "127.0.0.1:0", "127.0.0.1:0"
	o.Debounce = 100 * time.Millisecond
	var logs bytes.Buffer
	o.Log = slog.New(slog.NewJSONHandler(&auditLogWriter{w: &logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	b, err := audit.NewBackground(o)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	started := time.Now()
	go func() { done <- b.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("background audit: %v", err)
		}
		if t.Failed() {
			t.Logf("background audit's log:\n%s", logs.String())
		}
	}()
	auditWaitFor(t, 30*time.Second, "the background audit to be ready", func() bool {
		resp, err := http.Get("http://" + b.HealthAddr().String() + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	t.Logf("ready after %v", time.Since(started).Round(time.Millisecond))

	// The reports say what the one-shot audit says.
	oneShot, err := audit.Run(ctx, audit.Options{Config: env.Config, ExcludeNamespaces: []string{plimsollNS}})
	if err != nil {
		t.Fatal(err)
	}
	results := 0
	for _, ns := range append(slices.Clone(auditNSLabelled), auditNSLive) {
		got, u := auditStoredReport(t, dyn, ns)
		if u == nil {
			t.Fatalf("no PolicyReport in %s", ns)
		}
		results += len(got)
		if diff := cmp.Diff(auditExpectedReport(oneShot, ns), got); diff != "" {
			t.Errorf("PolicyReport of %s (-one-shot audit +report):\n%s", ns, diff)
		}
		fail, _, _ := unstructured.NestedInt64(u.Object, "summary", "fail")
		if want := int64(auditCountResult(got, "fail")); fail != want {
			t.Errorf("%s: summary.fail = %d, want %d", ns, fail, want)
		}
	}
	t.Logf("%d results in %d reports", results, len(auditNSLabelled)+1)
	for _, ns := range []string{auditNSPlain, auditNSOff, plimsollNS, "kube-system"} {
		if _, u := auditStoredReport(t, dyn, ns); u != nil {
			t.Errorf("a PolicyReport in %s, which is out of scope", ns)
		}
	}
	// The gauges agree with the report.
	got, _ := auditStoredReport(t, dyn, auditNSLabelled[0])
	wantFails := auditCountRule(got, "image-tag", "fail")
	if g := auditGauge(t, b, auditNSLabelled[0], "image-tag", "error"); g != float64(wantFails) || wantFails == 0 {
		t.Errorf("plimsoll_audit_violations{image-tag,error} = %v, want %d (non-zero)", g, wantFails)
	}

	// A fix: the Deployment's failure turns to a pass.
	has := func(kind, name, rule, result string) bool {
		got, _ := auditStoredReport(t, dyn, auditNSLive)
		return slices.ContainsFunc(got, func(k auditReportKey) bool {
			return k.Kind == kind && k.Name == name && (rule == "*" || k.Rule == rule) && k.Result == result
		})
	}
	if !has("Deployment", "web", "image-tag", "fail") {
		t.Fatal("the live Deployment's latest tag is not reported")
	}
	fixed, err := live.AppsV1().Deployments(auditNSLive).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fixed.Spec.Template.Spec.Containers[0].Image = "nginx:1.27.3"
	if _, err := live.AppsV1().Deployments(auditNSLive).Update(ctx, fixed, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	changed := time.Now()
	auditWaitFor(t, 10*time.Second, "the fixed Deployment's report", func() bool {
		return !has("Deployment", "web", "image-tag", "fail") && !has("Deployment", "web", "*", "fail")
	})
	t.Logf("the fix was reported after %v", time.Since(changed).Round(time.Millisecond))
	if auditGauge(t, b, auditNSLive, "image-tag", "error") != 0 {
		t.Error("the image-tag gauge of the live namespace stayed up after the fix")
	}

	// A deletion: the CronJob's results go.
	if !has("CronJob", "nightly", "privileged", "fail") {
		t.Fatal("the live CronJob's privileged container is not reported")
	}
	if err := live.BatchV1().CronJobs(auditNSLive).Delete(ctx, "nightly", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	auditWaitFor(t, 10*time.Second, "the deleted CronJob's results to go", func() bool {
		got, _ := auditStoredReport(t, dyn, auditNSLive)
		return !slices.ContainsFunc(got, func(k auditReportKey) bool { return k.Name == "nightly" })
	})

	// A policy change: image-tag off re-evaluates every namespace.
	auditWrite(t, policyFile, "apiVersion: plimsoll.dev/v1alpha1\nkind: Policy\nrules:\n  image-tag: \"off\"\n")
	auditWaitFor(t, 15*time.Second, "image-tag to leave every report", func() bool {
		for _, ns := range auditNSLabelled {
			got, _ := auditStoredReport(t, dyn, ns)
			if auditCountRule(got, "image-tag", "fail") > 0 {
				return false
			}
		}
		return true
	})
	if g := auditGauge(t, b, auditNSLabelled[0], "image-tag", "error"); g != 0 {
		t.Errorf("image-tag gauge after the rule was turned off = %v, want gone", g)
	}

	// Out of scope: the report goes.
	nsObj, err := live.CoreV1().Namespaces().Get(ctx, auditNSLive, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	nsObj.Labels[admission.ModeLabel] = string(admission.Off)
	if _, err := live.CoreV1().Namespaces().Update(ctx, nsObj, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	auditWaitFor(t, 10*time.Second, "the report of a namespace switched off to be deleted", func() bool {
		_, u := auditStoredReport(t, dyn, auditNSLive)
		return u == nil
	})
}

func auditRestartNever(s corev1.PodSpec) corev1.PodSpec {
	s.RestartPolicy = corev1.RestartPolicyNever
	return s
}

func auditCountResult(ks []auditReportKey, result string) int {
	n := 0
	for _, k := range ks {
		if k.Result == result {
			n++
		}
	}
	return n
}

func auditCountRule(ks []auditReportKey, rule, result string) int {
	n := 0
	for _, k := range ks {
		if k.Rule == rule && k.Result == result {
			n++
		}
	}
	return n
}

// auditGauge reads plimsoll_audit_violations{namespace,rule,severity}
// from the background audit's /metrics; 0 when the series is absent.
func auditGauge(t *testing.T, b *audit.Background, ns, rule, severity string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + b.MetricsAddr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	want := fmt.Sprintf(`plimsoll_audit_violations{namespace=%q,rule=%q,severity=%q} `, ns, rule, severity)
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), want); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	return 0
}

func auditWaitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func auditWrite(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// auditLogWriter serializes writes from the audit's goroutines.
type auditLogWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *auditLogWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// auditKindOf is the kind of a typed object plimsoll judges.
func auditKindOf(obj runtime.Object) schema.GroupVersionKind {
	t, err := workload.Find(obj)
	if err != nil {
		panic(err)
	}
	for _, k := range slices.Concat(workload.Kinds, workload.Companions) {
		if k.Kind == t.Kind {
			return k
		}
	}
	panic("no kind " + t.Kind)
}

// auditScaleCI is how many workloads TestAuditScale seeds when
// PLIMSOLL_AUDIT_SCALE is unset (make test, CI): enough for every kind and
// variant many times over, small enough for the time budget (about 20 s
// here). `make audit-scale` seeds 10,000: the figures of docs/audit.md.
const auditScaleCI = 1000

// TestAuditScale seeds PLIMSOLL_AUDIT_SCALE workloads (default
// auditScaleCI) into the test API server in 10 namespaces (with the
// ReplicaSets, Jobs and Pods they own), times `plimsoll audit` and the
// background audit's first pass, reports wall time and peak memory, and
// checks the counts: every workload judged once, as itself, the objects it
// owns through it, and findings for finding what `plimsoll check` finds on
// the seeded manifests (the one-shot audit's JSON, each namespace's report
// and each namespace's PolicyReport).
func TestAuditScale(t *testing.T) {
	n := auditScaleCI
	if v := os.Getenv("PLIMSOLL_AUDIT_SCALE"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			t.Fatalf("PLIMSOLL_AUDIT_SCALE=%q: want a number of workloads", v)
		}
	}
	ctx := context.Background()
	const namespaces = 10
	nsOf := func(i int) string { return fmt.Sprintf("audit-scale-%02d", i%namespaces) }
	cfg := rest.CopyConfig(env.Config)
	cfg.QPS, cfg.Burst = 2000, 4000
	cfg.WarningHandler = rest.NoWarnings{}
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	manifests := t.TempDir()
	for i := range namespaces {
		if err := env.CreateNamespace(ctx, nsOf(i), ""); err != nil {
			t.Fatal(err)
		}
		if i < n { // a namespace that runs workloads: judged itself (namespace-quota)
			if err := auditWriteManifest(manifests, nsOf(i), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: nsOf(i)}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	start := time.Now()
	var created, owned int
	var mu sync.Mutex
	work := make(chan int)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				cr, ow, err := auditSeedEntry(ctx, c, manifests, nsOf(i), i)
				if err != nil {
					errs <- err
					continue
				}
				mu.Lock()
				created += cr
				owned += ow
				mu.Unlock()
			}
		}()
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	t.Logf("seeded %d workloads (%d objects, %d of them owned) in %d namespaces in %v", n, created, owned, namespaces, time.Since(start).Round(time.Second))

	// What was seeded, counted from auditSeedEntry's kinds (entry i is kind
	// i%8): objects created, and those reported through their owner.
	perKindCreated := [8]int{3, 2, 2, 1, 3, 1, 3, 1}
	perKindOwned := [8]int{2, 1, 1, 0, 2, 0, 2, 0}
	wantCreated, wantOwned := 0, 0
	perNS := map[string]int{} // objects reported as themselves per namespace: its workloads and itself
	wantBudgets := 0          // pod-disruption-budget findings: Deployments and StatefulSets of 2 or more replicas
	for i := range n {
		wantCreated += perKindCreated[i%8]
		wantOwned += perKindOwned[i%8]
		if perNS[nsOf(i)] == 0 {
			perNS[nsOf(i)]++ // the Namespace
		}
		perNS[nsOf(i)]++
		if i%8 <= 1 && 1+i%3 >= 2 {
			wantBudgets++
		}
	}
	if created != wantCreated || owned != wantOwned {
		t.Fatalf("seeded %d objects, %d owned; want %d, %d", created, owned, wantCreated, wantOwned)
	}

	// The expected findings: plimsoll check on the manifests of the
	// objects reported as themselves, one per workload.
	var paths []string
	for i := range min(n, namespaces) {
		paths = append(paths, filepath.Join(manifests, nsOf(i)))
	}
	cr, err := check.Run(check.Options{Paths: paths, Policy: policy.Default(), Mode: "enforce"})
	if err != nil {
		t.Fatal(err)
	}
	if want := n + len(perNS); cr.Summary.Objects != want {
		t.Fatalf("check judged %d manifests, want the %d seeded and their %d namespaces", cr.Summary.Objects, n, len(perNS))
	}
	wantResults := auditSorted(auditAsInTheCluster(cr.Results))
	type objKey struct{ ns, kind, name string }
	deniedObj := map[objKey]bool{}    // objects enforce would refuse
	withFindings := map[objKey]bool{} // objects with a finding
	findings := map[string]int{}      // findings per namespace
	for _, r := range cr.Results {
		k := objKey{auditNamespaceOf(r), r.Kind, r.Name}
		withFindings[k] = true
		if (audit.Finding{Result: r}).Verdict() == audit.Denied {
			deniedObj[k] = true
		}
		findings[k.ns]++
	}
	denied, clean := map[string]int{}, maps.Clone(perNS) // per namespace: objects denied, objects without a finding
	for k := range deniedObj {
		denied[k.ns]++
	}
	for k := range withFindings {
		clean[k.ns]--
	}
	t.Logf("the seeded namespaces: %d objects judged, %d errors (what enforce would deny), %d warnings, %d findings in all",
		cr.Summary.Objects, cr.Summary.Errors, cr.Summary.Warnings, len(cr.Results))
	if cr.Summary.Errors == 0 || cr.Summary.Warnings == 0 {
		t.Errorf("the seed should hold errors and warnings: %+v", cr.Summary)
	}
	seeded := func(ns string) bool { return strings.HasPrefix(ns, "audit-scale-") }

	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	auditWriteKubeconfig(t, env.Config, kubeconfig)
	bin := filepath.Join(env.BinDir, "plimsoll")
	for _, output := range []string{"json", "text", "html"} {
		out, err := os.Create(filepath.Join(t.TempDir(), "audit."+output))
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.CommandContext(ctx, bin, "audit", "--kubeconfig", kubeconfig, "--context", "e2e", "--scope", "cluster", "-o", output)
		var stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = out, &stderr
		began := time.Now()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		peak := auditPeakRSS(cmd.Process.Pid)
		err = cmd.Wait()
		wall := time.Since(began)
		info, _ := out.Stat()
		out.Close()
		if code := cmd.ProcessState.ExitCode(); code != 1 {
			t.Fatalf("plimsoll audit -o %s exited %d (%v): %s", output, code, err, stderr.String())
		}
		ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		t.Logf("plimsoll audit --scope cluster -o %s: wall %v, CPU %v user + %v system, peak RSS (VmHWM) %d MiB, output %d KiB",
			output, wall.Round(10*time.Millisecond), time.Duration(ru.Utime.Nano()).Round(10*time.Millisecond),
			time.Duration(ru.Stime.Nano()).Round(10*time.Millisecond), peak()/1024, info.Size()/1024)
		if output == "json" {
			var doc struct {
				Results []check.Result
				Summary check.Summary
			}
			b, _ := os.ReadFile(out.Name())
			if err := json.Unmarshal(b, &doc); err != nil {
				t.Fatal(err)
			}
			t.Logf("summary (the whole cluster, whatever else it holds): %+v", doc.Summary)
			if doc.Summary.Objects < n {
				t.Errorf("judged %d objects, want at least the %d seeded workloads", doc.Summary.Objects, n)
			}
			var got []check.Result
			perRule := map[string]int{}
			for _, r := range doc.Results {
				if seeded(auditNamespaceOf(r)) {
					got = append(got, r)
					perRule[r.Rule]++
				}
			}
			if diff := cmp.Diff(wantResults, auditSorted(got), cmpopts.IgnoreUnexported(check.Result{})); diff != "" {
				t.Errorf("plimsoll audit -o json and plimsoll check disagree on the seeded namespaces (-check +audit):\n%s", diff)
			}
			// The context rules ran, on every object they are about.
			if perRule["pod-disruption-budget"] != wantBudgets || perRule["namespace-quota"] != 2*len(perNS) {
				t.Errorf("pod-disruption-budget: %d findings, want %d; namespace-quota: %d, want %d (no quota, no limit range in each namespace)",
					perRule["pod-disruption-budget"], wantBudgets, perRule["namespace-quota"], 2*len(perNS))
			}
		}
	}

	// Each seeded namespace audited on its own: exactly its workloads
	// judged, the objects they own reported through them, its errors,
	// warnings and denied objects.
	var sum audit.Report
	for i := range min(n, namespaces) {
		ns := nsOf(i)
		r, err := audit.Run(ctx, audit.Options{Config: env.Config, Namespace: ns})
		if err != nil {
			t.Fatal(err)
		}
		var nsWant check.Summary
		for _, res := range cr.Results {
			if auditNamespaceOf(res) != ns {
				continue
			}
			switch (audit.Finding{Result: res}).Verdict() {
			case audit.Denied:
				nsWant.Errors++
			case audit.Warned:
				nsWant.Warnings++
			}
		}
		nsWant.Objects = perNS[ns]
		if r.Summary != nsWant || r.DeniedObjects() != denied[ns] {
			t.Errorf("%s: judged %+v, %d objects denied; want %+v, %d", ns, r.Summary, r.DeniedObjects(), nsWant, denied[ns])
		}
		sum.Summary.Objects += r.Summary.Objects
		sum.Summary.Errors += r.Summary.Errors
		sum.Summary.Warnings += r.Summary.Warnings
		sum.ThroughOwner += r.ThroughOwner
	}
	if sum.Summary != cr.Summary || sum.ThroughOwner != owned {
		t.Errorf("the seeded namespaces: judged %+v, %d through their owner; want %+v, %d", sum.Summary, sum.ThroughOwner, cr.Summary, owned)
	}

	// The background audit's first pass, PolicyReports included.
	auditInstallPolicyReportCRD(t)
	health, err := auditFreePort()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, bin, "audit", "--watch", "--kubeconfig", kubeconfig, "--context", "e2e", "--scope", "cluster",
		"--metrics-listen", "0", "--health-listen", health, "--log-format", "text")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &auditLogWriter{w: &logs}
	began := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	}()
	auditWaitFor(t, 10*time.Minute, "the background audit to be ready", func() bool {
		resp, err := http.Get("http://" + health + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	ready := time.Since(began)
	status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
	hwm := ""
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			hwm = strings.TrimSpace(strings.TrimPrefix(line, "VmHWM:"))
		}
	}
	dyn, err := dynamic.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	reports, err := dyn.Resource(audit.PolicyReportGVR).Namespace("").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	results, omitted := 0, 0
	perReport := map[string]int{} // results written and left out, per seeded namespace
	for _, r := range reports.Items {
		rs, _, _ := unstructured.NestedSlice(r.Object, "results")
		results += len(rs)
		o, _ := strconv.Atoi(r.GetAnnotations()[audit.OmittedAnnotation])
		omitted += o
		if seeded(r.GetNamespace()) {
			perReport[r.GetNamespace()] += len(rs) + o
		}
	}
	t.Logf("plimsoll audit --watch --scope cluster: ready (informers synced, every namespace judged, %d PolicyReports with %d results written, %d results omitted to stay under the size limit) after %v, peak RSS (VmHWM) %s",
		len(reports.Items), results, omitted, ready.Round(10*time.Millisecond), hwm)
	// A report has a result per finding, and a "pass" per object without
	// one.
	for ns := range perNS {
		if want := findings[ns] + clean[ns]; perReport[ns] != want {
			t.Errorf("%s: its PolicyReport holds %d results (written and left out), want %d (%d findings, %d objects without one)",
				ns, perReport[ns], want, findings[ns], clean[ns])
		}
	}
}

// auditPeakRSS polls the peak resident set (VmHWM, in KiB) of process
// pid until it exits, and returns a function that waits for that and
// returns the last value read. (The ru_maxrss of wait4 is no use: a child
// that os/exec starts inherits, at exec, the test process's own
// high-water mark.)
func auditPeakRSS(pid int) func() int64 {
	done := make(chan int64, 1)
	go func() {
		var last int64
		for {
			status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
			if err != nil {
				break // reaped
			}
			found := false
			for _, line := range strings.Split(string(status), "\n") {
				if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
					n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
					found = err == nil
					if found {
						last = n
					}
				}
			}
			if !found {
				break // exited: a zombie has no memory
			}
			time.Sleep(5 * time.Millisecond)
		}
		done <- last
	}()
	return func() int64 { return <-done }
}

func auditFreePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// auditServiceAccountConfig applies the ClusterRole and ClusterRoleBinding
// of config/audit/audit-rbac.yaml and returns a client configuration acting as
// their ServiceAccount: what the in-cluster Deployment gets.
func auditServiceAccountConfig(t *testing.T) *rest.Config {
	t.Helper()
	ctx := context.Background()
	root, err := harness.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, "config", "audit", "audit-rbac.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var subject string
	for _, doc := range strings.Split(string(data), "\n---\n") {
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
			t.Fatal(err)
		}
		switch tm.Kind {
		case "ClusterRole":
			var role rbacv1.ClusterRole
			if err := yaml.UnmarshalStrict([]byte(doc), &role); err != nil {
				t.Fatal(err)
			}
			if _, err := env.Client.RbacV1().ClusterRoles().Create(ctx, &role, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
				t.Fatal(err)
			}
		case "ClusterRoleBinding":
			var binding rbacv1.ClusterRoleBinding
			if err := yaml.UnmarshalStrict([]byte(doc), &binding); err != nil {
				t.Fatal(err)
			}
			if _, err := env.Client.RbacV1().ClusterRoleBindings().Create(ctx, &binding, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
				t.Fatal(err)
			}
			sa := binding.Subjects[0]
			subject = "system:serviceaccount:" + sa.Namespace + ":" + sa.Name
		}
	}
	if subject == "" {
		t.Fatal("config/audit/audit-rbac.yaml binds no ServiceAccount")
	}
	// Leave nothing a later Helm install of the same names would trip on.
	t.Cleanup(func() {
		_ = env.Client.RbacV1().ClusterRoleBindings().Delete(ctx, "plimsoll-audit", metav1.DeleteOptions{})
		_ = env.Client.RbacV1().ClusterRoles().Delete(ctx, "plimsoll-audit", metav1.DeleteOptions{})
	})
	groups := []string{"system:serviceaccounts", "system:authenticated"}
	for _, resource := range []string{"pods", "namespaces"} {
		waitAuthorized(t, subject, groups, authorizationv1.ResourceAttributes{Verb: "list", Resource: resource})
	}
	cfg := rest.CopyConfig(env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: subject, Groups: groups}
	// The role really is read-only: no write to a workload.
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CoreV1().Pods(auditNSLive).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "x"}, Spec: auditSpec("good")}, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	if !apierrors.IsForbidden(err) {
		t.Fatalf("the audit's ServiceAccount may create a Pod (err %v): its role must be read-only", err)
	}
	return cfg
}
