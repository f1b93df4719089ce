package e2e

// The security rules that read the cluster, at admission through the real
// API server: network-policy (NetworkPolicies) and image-vulnerabilities
// (trivy-operator's VulnerabilityReports, their custom resource installed
// from testdata), each with a plimsoll serve of its own whose caches read
// the API server as the admin.

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/plimsoll/plimsoll/admission"
	"github.com/plimsoll/plimsoll/check"
	"github.com/plimsoll/plimsoll/test/harness"
)

// dryRunWarnings dry-run creates dep (a fresh copy each time) and returns
// the warnings that name rule.
func dryRunWarnings(t *testing.T, client *kubernetes.Clientset, warnings *harness.Warnings, dep *appsv1.Deployment, rule string) []string {
	t.Helper()
	warnings.Take()
	if _, err := client.AppsV1().Deployments(dep.Namespace).Create(context.Background(), dep.DeepCopy(), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
		t.Fatalf("Deployment %s/%s is refused: %v", dep.Namespace, dep.Name, err)
	}
	return withRule(warnings.Take(), rule)
}

// workloadNamed is the compliant Deployment, named and labelled name, in
// namespace ns.
func workloadNamed(t *testing.T, ns, name string) *appsv1.Deployment {
	d := in(load[*appsv1.Deployment](t, "compliant-deployment.yaml"), ns)
	labels := map[string]string{"app": name}
	d.Name = name
	d.Spec.Selector.MatchLabels = labels
	d.Spec.Template.Labels = labels
	for i := range d.Spec.Template.Spec.TopologySpreadConstraints {
		d.Spec.Template.Spec.TopologySpreadConstraints[i].LabelSelector.MatchLabels = labels
	}
	return d
}

// A namespace with a default-deny NetworkPolicy has no network-policy
// warning; one whose only policy selects other labels has one per
// workload, which names the policy to write.
func TestNetworkPolicyAtAdmission(t *testing.T) {
	ctx := context.Background()
	x, denied := contextServer(t, "netpol", "")
	open := "netpol-open"
	if err := x.Namespace(ctx, open, admission.Enforce); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*time.Minute, "the context rules' caches to sync", func() bool {
		return strings.Contains(x.Process.Log(), "the caches of the cluster are synced")
	})
	client, warnings, err := env.ClientWithWarnings()
	if err != nil {
		t.Fatal(err)
	}
	for _, np := range []*networkingv1.NetworkPolicy{
		{ObjectMeta: metav1.ObjectMeta{Name: "default-deny", Namespace: denied}, Spec: networkingv1.NetworkPolicySpec{
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "db-only", Namespace: open}, Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}}},
	} {
		if _, err := client.NetworkingV1().NetworkPolicies(np.Namespace).Create(ctx, np, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// The cache learns of the policies through its watch.
	waitFor(t, 2*time.Minute, "the default-deny policy to reach plimsoll's cache", func() bool {
		return len(dryRunWarnings(t, client, warnings, workloadNamed(t, denied, "api"), "network-policy")) == 0
	})
	for _, name := range []string{"web", "worker"} {
		if ws := dryRunWarnings(t, client, warnings, workloadNamed(t, denied, name), "network-policy"); len(ws) != 0 {
			t.Errorf("%s, under a namespace-wide default deny: %q", name, ws)
		}
	}
	// The other namespace's policy is in the cache by now (the watch
	// delivered both); each workload it does not select is warned about.
	for _, name := range []string{"web", "worker"} {
		var ws []string
		waitFor(t, time.Minute, "the db-only policy to reach plimsoll's cache", func() bool {
			ws = dryRunWarnings(t, client, warnings, workloadNamed(t, open, name), "network-policy")
			return len(ws) == 1
		})
		want := "podSelector: {matchLabels: {app: " + name + "}}, policyTypes: [Ingress]"
		if !strings.Contains(ws[0], "selected by no NetworkPolicy in the cluster that isolates it for ingress") || !strings.Contains(ws[0], want) {
			t.Errorf("%s: warning %q does not say what is open and the policy to write (%s)", name, ws[0], want)
		}
	}
	if _, err := client.AppsV1().Deployments(open).Create(ctx, workloadNamed(t, open, "web"), metav1.CreateOptions{}); err != nil {
		t.Fatalf("a warning denied a Deployment in enforce: %v", err)
	}
}

// installReportCRD installs trivy-operator's VulnerabilityReport custom
// resource and waits until it is served.
func installReportCRD(t *testing.T, dyn dynamic.Interface) {
	t.Helper()
	if err := harness.InstallReportCRD(context.Background(), dyn); err != nil {
		t.Fatal(err)
	}
}

// vulnerableReport is a VulnerabilityReport of image repository:tag on
// registry, as trivy-operator writes one for a ReplicaSet's container.
func vulnerableReport(ns, name, registry, repository, tag string) *unstructured.Unstructured {
	vuln := func(id, severity string) map[string]any {
		return map[string]any{"vulnerabilityID": id, "severity": severity, "resource": "openssl", "installedVersion": "3.0.1",
			"fixedVersion": "3.0.7", "title": "a test vulnerability"}
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "aquasecurity.github.io/v1alpha1",
		"kind":       "VulnerabilityReport",
		"metadata": map[string]any{"name": name, "namespace": ns, "labels": map[string]any{
			"trivy-operator.resource.kind": "ReplicaSet", "trivy-operator.container.name": "api"}},
		"report": map[string]any{
			"scanner":  map[string]any{"name": "Trivy", "vendor": "Aqua Security", "version": "0.60.0"},
			"registry": map[string]any{"server": registry},
			"artifact": map[string]any{"repository": repository, "tag": tag},
			"summary":  map[string]any{"criticalCount": int64(2), "highCount": int64(1), "mediumCount": int64(0), "lowCount": int64(0), "unknownCount": int64(0)},
			"vulnerabilities": []any{
				vuln("CVE-2022-3602", "CRITICAL"), vuln("CVE-2022-3786", "CRITICAL"), vuln("CVE-2023-0286", "HIGH"),
			},
		},
	}}
}

// A VulnerabilityReport created on the API server makes a warning appear
// at admission of a Deployment that runs its image (once the report is in
// plimsoll's cache), naming the count and the worst CVEs; an image no
// report speaks of is not warned about.
func TestImageVulnerabilitiesAtAdmission(t *testing.T) {
	ctx := context.Background()
	dyn, err := dynamic.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	installReportCRD(t, dyn)
	x, ns := contextServer(t, "scans", "")
	waitFor(t, 2*time.Minute, "the VulnerabilityReports to be cached", func() bool {
		return strings.Contains(x.Process.Log(), "VulnerabilityReports are cached")
	})
	client, warnings, err := env.ClientWithWarnings()
	if err != nil {
		t.Fatal(err)
	}
	dep := workloadNamed(t, ns, "api") // runs registry.example.com/team/api:2.4.1
	if ws := dryRunWarnings(t, client, warnings, dep, "image-vulnerabilities"); len(ws) != 0 {
		t.Fatalf("an image no report speaks of is warned about: %q", ws)
	}
	report := vulnerableReport(ns, "replicaset-api-5d8f7c9b6-api", "registry.example.com", "team/api", "2.4.1")
	if _, err := dyn.Resource(harness.ReportResource).Namespace(ns).Create(ctx, report, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var ws []string
	waitFor(t, time.Minute, "the report to reach plimsoll's cache", func() bool {
		ws = dryRunWarnings(t, client, warnings, dep, "image-vulnerabilities")
		return len(ws) == 1
	})
	for _, want := range []string{`container "api" runs image "registry.example.com/team/api:2.4.1"`, "found 2 vulnerabilities of severity CRITICAL or worse: CVE-2022-3602, CVE-2022-3786",
		`VulnerabilityReport "replicaset-api-5d8f7c9b6-api"`} {
		if !strings.Contains(ws[0], want) {
			t.Errorf("warning %q does not say %q", ws[0], want)
		}
	}
	other := dep.DeepCopy()
	other.Spec.Template.Spec.Containers[0].Image = "registry.example.com/team/api:2.4.2"
	if ws := dryRunWarnings(t, client, warnings, other, "image-vulnerabilities"); len(ws) != 0 {
		t.Errorf("the next tag, which no report speaks of, is warned about: %q", ws)
	}
	// A warning, never a denial, even in enforce.
	if _, err := client.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatalf("the vulnerable image is refused in enforce: %v", err)
	}
	if n := strings.Count(x.Process.Log(), "CVE-2022-3602"); n > 0 {
		t.Errorf("plimsoll's log carries the report's contents (%d times)", n)
	}

	// plimsoll audit reads the same report from the cluster.
	results, _ := auditJSON(t, ns)
	i := slices.IndexFunc(results, func(r check.Result) bool {
		return r.Rule == "image-vulnerabilities" && r.Kind == "Deployment" && r.Name == "api"
	})
	if i < 0 || !strings.Contains(results[i].Message, "CVE-2022-3602") {
		t.Errorf("plimsoll audit does not report the vulnerable image of Deployment api; results:\n%+v", results)
	}
}
