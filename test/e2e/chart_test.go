package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plimsoll/plimsoll/admission"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/plimsoll/plimsoll/test/chart"
)

// chartCRDs installs cert-manager's CRDs, taken from the cert-manager Go
// module's deploy/crds (the module proxy does not serve its controllers, so
// cert-manager itself does not run: the API server validates Certificates
// and Issuers against the CRDs' schemas, and nothing issues them).
var chartCRDs = sync.OnceValue(func() error {
	out, err := exec.Command("go", "mod", "download", "-json", "github.com/cert-manager/cert-manager@v1.21.2").Output()
	if err != nil {
		return err
	}
	var mod struct{ Dir string }
	if err := json.Unmarshal(out, &mod); err != nil {
		return err
	}
	_, err = envtest.InstallCRDs(env.Config, envtest.CRDInstallOptions{
		Paths:              []string{filepath.Join(mod.Dir, "deploy", "crds")},
		ErrorIfPathMissing: true,
	})
	return err
})

// chartKubeconfig writes a kubeconfig for the envtest API server (its
// admin user) so the helm CLI can reach it.
func chartKubeconfig(t *testing.T) string {
	t.Helper()
	c := env.Config
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["envtest"] = &clientcmdapi.Cluster{Server: c.Host, CertificateAuthorityData: c.CAData}
	cfg.AuthInfos["admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: c.CertData, ClientKeyData: c.KeyData, Token: c.BearerToken}
	cfg.Contexts["envtest"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: "admin"}
	cfg.CurrentContext = "envtest"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// chartClients are a dynamic client and a REST mapper that knows the CRDs.
func chartClients(t *testing.T) (dynamic.Interface, meta.RESTMapper) {
	t.Helper()
	dyn, err := dynamic.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	return dyn, restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
}

func chartResource(t *testing.T, dyn dynamic.Interface, mapper meta.RESTMapper, o chart.Object) dynamic.ResourceInterface {
	t.Helper()
	m, err := mapper.RESTMapping(o.GVK.GroupKind(), o.GVK.Version)
	if err != nil {
		t.Fatalf("%s: %v", o.Key(), err)
	}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		return dyn.Resource(m.Resource).Namespace(o.Namespace)
	}
	return dyn.Resource(m.Resource)
}

// completeHookJob stands in for the Job controller, which envtest does not
// run: when the pre-delete hook's Job appears, it is marked complete, so
// `helm uninstall` goes on as in a cluster where kubectl ran.
func completeHookJob(ctx context.Context, t *testing.T, ns, name string) <-chan bool {
	done := make(chan bool, 1)
	go func() {
		jobs := env.Client.BatchV1().Jobs(ns)
		for ctx.Err() == nil {
			job, err := jobs.Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				time.Sleep(100 * time.Millisecond)
				continue
			}
			now := metav1.Now()
			job.Status.StartTime, job.Status.CompletionTime = &now, &now
			job.Status.Succeeded = 1
			job.Status.Conditions = []batchv1.JobCondition{
				{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, LastProbeTime: now, LastTransitionTime: now},
				{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, LastProbeTime: now, LastTransitionTime: now},
			}
			if _, err := jobs.UpdateStatus(ctx, job, metav1.UpdateOptions{}); err != nil {
				t.Errorf("marking the hook Job complete: %v", err)
				done <- false
				return
			}
			done <- true
			return
		}
		done <- false
	}()
	return done
}

// TestChartInstallsIntoTheAPIServer installs the chart with the real helm
// CLI into the real API server, once per TLS mode, and uninstalls it.
//
// Every object must be accepted (Certificates and Issuers against
// cert-manager's CRDs). The release namespace is in enforce mode, so the
// running plimsoll judges the chart's own Deployment and hook Job and must
// admit them. The chart's webhook configurations are made harmless to the
// rest of the suite: another release name (so other configuration names),
// opt-in scope, and failurePolicy Ignore with a 1s timeout for every entry
// (nothing serves their Service here). Uninstalling runs the pre-delete
// hook (its Job is marked complete in place of the Job controller) and must
// leave no webhook configuration behind.
func TestChartInstallsIntoTheAPIServer(t *testing.T) {
	if err := chartCRDs(); err != nil {
		t.Fatalf("installing cert-manager's CRDs: %v", err)
	}
	if v, err := env.Client.Discovery().ServerVersion(); err != nil {
		t.Fatal(err)
	} else if strings.HasPrefix(v.GitVersion, "v0.0.0") {
		t.Fatalf("bin/kube-apiserver reports %s, which the chart's kubeVersion refuses: it predates the version stamp; run make controlplane-version (or test/controlplane/build.sh kube-apiserver)", v.GitVersion)
	}
	kubeconfig := chartKubeconfig(t)
	dyn, mapper := chartClients(t)
	ca := env.Certs.CAPEM
	caFile := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(caFile, ca, 0o600); err != nil {
		t.Fatal(err)
	}
	harmless := []string{
		"--set", "scope=opt-in",
		"--set", "webhook.failurePolicy.enforce=Ignore",
		"--set", "webhook.failurePolicy.warn=Ignore",
		"--set", "webhook.failurePolicy.audit=Ignore",
		"--set", "webhook.timeoutSeconds=1",
	}
	// Each TLS mode with Helm 3, and with Helm 4 the default TLS mode with
	// the background audit and tracing turned on.
	for _, c := range []struct {
		name, mode string
		helm       int
		extra      []string
		warned     float64 // Deployments plimsoll warns about
	}{
		{name: "selfManaged", mode: "selfManaged", helm: 3},
		{name: "certManager", mode: "certManager", helm: 3},
		{name: "existingSecret", mode: "existingSecret", helm: 3},
		// The audit runs one replica by design: the replicas rule warns.
		{name: "helm4", mode: "selfManaged", helm: 4, warned: 1,
			extra: []string{"--set", "audit.enabled=true", "--set", "tracing.otlpEndpoint=http://otel-collector.monitoring:4318"}},
	} {
		mode := c.mode
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			release := "chart-" + strings.ToLower(c.name)
			ns := release + "-system"
			fullname := release + "-plimsoll"
			if err := env.CreateNamespace(ctx, ns, admission.Enforce); err != nil {
				t.Fatal(err)
			}
			flags := append([]string{"--kubeconfig", kubeconfig, "--namespace", ns}, harmless...)
			flags = append(flags, "--set", "tls.mode="+mode)
			flags = append(flags, c.extra...)
			if mode == "existingSecret" {
				flags = append(flags, "--set", "tls.existingSecret.name=my-serving-cert", "--set-file", "tls.existingSecret.caBundle="+caFile)
			}
			dir, err := chart.Dir()
			if err != nil {
				t.Fatal(err)
			}
			before := chartAdmissions(t, "Deployment")
			install := append([]string{"install", release, dir, "--timeout", "60s"}, flags...)
			if out, err := chart.HelmOf(c.helm, nil, install...); err != nil {
				t.Fatalf("helm install: %v", err)
			} else if !strings.Contains(string(out), "kubectl label namespace <ns> plimsoll.dev/mode=") {
				t.Errorf("helm install's NOTES do not say how to label a namespace:\n%s", out)
			}

			// Every object of the release is stored as rendered.
			manifest, err := chart.HelmOf(c.helm, nil, "get", "manifest", release, "--kubeconfig", kubeconfig, "--namespace", ns)
			if err != nil {
				t.Fatal(err)
			}
			objs, err := chart.Decode(manifest)
			if err != nil {
				t.Fatal(err)
			}
			kinds := map[string]bool{}
			for _, o := range objs {
				kinds[o.GVK.Kind] = true
				if _, err := chartResource(t, dyn, mapper, o).Get(ctx, o.Name, metav1.GetOptions{}); err != nil {
					t.Errorf("%s was not stored: %v", o.Key(), err)
				}
			}
			for _, k := range []string{"Deployment", "Service", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration", "PodDisruptionBudget", "ConfigMap"} {
				if !kinds[k] {
					t.Errorf("the release has no %s", k)
				}
			}
			if mode == "certManager" && (!kinds["Certificate"] || !kinds["Issuer"]) {
				t.Errorf("tls.mode certManager installed no Certificate or Issuer: %v", kinds)
			}
			if mode == "selfManaged" && (!kinds["Role"] || !kinds["ClusterRole"]) {
				t.Errorf("tls.mode selfManaged installed no RBAC: %v", kinds)
			}
			// plimsoll judged the chart's Deployment in this enforce namespace
			// and had nothing to say: no denial, no warning.
			checkAllowed(t, "Deployment", c.warned, before, chartAdmissions(t, "Deployment"))
			if c.warned > 0 && !kinds["ClusterRole"] {
				t.Errorf("audit.enabled installed no ClusterRole: %v", kinds)
			}
			mwc, err := env.Client.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, fullname, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if mode == "certManager" && mwc.Annotations["cert-manager.io/inject-ca-from"] != ns+"/"+fullname+"-tls" {
				t.Errorf("inject-ca-from annotation %q", mwc.Annotations["cert-manager.io/inject-ca-from"])
			}
			if mode == "existingSecret" && string(mwc.Webhooks[0].ClientConfig.CABundle) != string(ca) {
				t.Error("the stored caBundle is not tls.existingSecret.caBundle")
			}

			// helm uninstall runs the pre-delete hook, then deletes the rest.
			beforeJob := chartAdmissions(t, "Job")
			hookDone := completeHookJob(ctx, t, ns, fullname+"-cleanup")
			if _, err := chart.HelmOf(c.helm, nil, "uninstall", release, "--kubeconfig", kubeconfig, "--namespace", ns, "--wait", "--timeout", "60s"); err != nil {
				t.Fatalf("helm uninstall: %v", err)
			}
			if !<-hookDone {
				t.Error("the pre-delete hook Job never appeared")
			}
			checkAllowed(t, "Job", 0, beforeJob, chartAdmissions(t, "Job"))
			adm := env.Client.AdmissionregistrationV1()
			if _, err := adm.MutatingWebhookConfigurations().Get(ctx, fullname, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("MutatingWebhookConfiguration %s is still there after helm uninstall (%v)", fullname, err)
			}
			if _, err := adm.ValidatingWebhookConfigurations().Get(ctx, fullname, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("ValidatingWebhookConfiguration %s is still there after helm uninstall (%v)", fullname, err)
			}
			for _, o := range objs {
				if _, err := chartResource(t, dyn, mapper, o).Get(ctx, o.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
					t.Errorf("%s is still there after helm uninstall (%v)", o.Key(), err)
				}
			}
			// The hook's own objects are gone too (hook-delete-policy).
			if _, err := env.Client.BatchV1().Jobs(ns).Get(ctx, fullname+"-cleanup", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("the hook Job is still there (%v)", err)
			}
		})
	}
}

// TestKustomizeOverlaysAreAccepted builds config/overlays/default and
// config/overlays/cert-manager and has the API server validate every
// object with a server-side dry run (nothing is stored: the overlays use the
// names plimsoll-system and plimsoll, which this suite's own plimsoll
// already holds; namespaced objects go to a namespace in enforce mode, so
// plimsoll judges the Deployment too, and cluster-scoped ones get a prefix).
func TestKustomizeOverlaysAreAccepted(t *testing.T) {
	if err := chartCRDs(); err != nil {
		t.Fatalf("installing cert-manager's CRDs: %v", err)
	}
	root, err := chart.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dyn, mapper := chartClients(t)
	for _, overlay := range []string{"default", "cert-manager"} {
		t.Run(overlay, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			ns := "kustomize-" + overlay
			if err := env.CreateNamespace(ctx, ns, admission.Enforce); err != nil {
				t.Fatal(err)
			}
			out, err := chart.Kustomize(filepath.Join(root, "config", "overlays", overlay))
			if err != nil {
				t.Fatal(err)
			}
			objs, err := chart.Decode(out)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range objs {
				u := &unstructured.Unstructured{}
				if err := u.UnmarshalJSON(o.Raw); err != nil {
					t.Fatal(err)
				}
				if o.Namespace != "" {
					u.SetNamespace(ns)
					o.Namespace = ns
				} else {
					u.SetName(ns + "-" + o.Name)
				}
				_, err := chartResource(t, dyn, mapper, o).Create(ctx, u, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
				if err != nil {
					t.Errorf("the API server refuses %s: %v", o.Key(), err)
				}
			}
		})
	}
}

// chartAdmissions reads, from the metrics of this suite's plimsoll, how
// many CREATEs of kind its validating enforce entry answered, by decision
// (allowed, warned, denied, error). An admission with nothing to say is
// logged at debug only, so the counters are what shows it was judged.
func chartAdmissions(t *testing.T, kind string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", env.Plimsoll.MetricsPort))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	// plimsoll_admission_requests_total{decision="allowed",endpoint="validate",...} 3
	out := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		series, value, ok := strings.Cut(line, "} ")
		name, labels, _ := strings.Cut(series, "{")
		if !ok || name != "plimsoll_admission_requests_total" {
			continue
		}
		l := map[string]string{}
		for _, kv := range strings.Split(labels, ",") {
			k, v, _ := strings.Cut(kv, "=")
			l[k] = strings.Trim(v, `"`)
		}
		n, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		if l["endpoint"] == "validate" && l["mode"] == "enforce" && l["kind"] == kind && l["operation"] == "CREATE" {
			out[l["decision"]] += n
		}
	}
	return out
}

// checkAllowed wants at least one new allowed admission of kind, exactly
// warned new warned ones, and no new denied or failed one.
func checkAllowed(t *testing.T, kind string, warned float64, before, after map[string]float64) {
	t.Helper()
	for _, d := range []string{"allowed", "warned", "denied", "error"} {
		n := after[d] - before[d]
		switch {
		case d == "allowed" && n < 1, d == "warned" && n != warned, d != "allowed" && d != "warned" && n != 0:
			t.Errorf("plimsoll (enforce) answered %v new CREATEs of the chart's %s with %q; want only allowed ones (and %v warned)", n, kind, d, warned)
		}
	}
}

// The suite judges through the chart's own webhook configurations (see
// harness.Start and chart.Webhooks): what the API server holds is the chart's rendering —
// its labels, entries and selectors — with only the clientConfig pointed
// at the plimsoll on loopback.
func TestSuiteRunsOnTheChartsWebhooks(t *testing.T) {
	ctx := context.Background()
	adm := env.Client.AdmissionregistrationV1()
	mwc, err := adm.MutatingWebhookConfigurations().Get(ctx, "plimsoll", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	vwc, err := adm.ValidatingWebhookConfigurations().Get(ctx, "plimsoll", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("https://127.0.0.1:%d/", env.Plimsoll.Port)
	for _, labels := range []map[string]string{mwc.Labels, vwc.Labels} {
		if !strings.HasPrefix(labels["helm.sh/chart"], "plimsoll-") || labels["app.kubernetes.io/managed-by"] != "Helm" {
			t.Errorf("the installed configuration is not the chart's rendering: labels %v", labels)
		}
	}
	var names []string
	for _, w := range mwc.Webhooks {
		names = append(names, w.Name)
		if w.ClientConfig.URL == nil || !strings.HasPrefix(*w.ClientConfig.URL, want+"mutate/") || w.ClientConfig.Service != nil {
			t.Errorf("%s calls %+v, want %smutate/<mode>", w.Name, w.ClientConfig, want)
		}
	}
	for _, w := range vwc.Webhooks {
		names = append(names, w.Name)
		if w.ClientConfig.URL == nil || !strings.HasPrefix(*w.ClientConfig.URL, want+"validate/") || w.ClientConfig.Service != nil {
			t.Errorf("%s calls %+v, want %svalidate/<mode>", w.Name, w.ClientConfig, want)
		}
	}
	if len(names) != 6 {
		t.Errorf("the chart's default values render one entry per mode and endpoint (6), got %v", names)
	}
}
