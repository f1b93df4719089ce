package audit_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"sigs.k8s.io/yaml"

	"github.com/plimsoll/plimsoll/audit"
	"github.com/plimsoll/plimsoll/check"
	"github.com/plimsoll/plimsoll/internal/kube/kubetest"
	"github.com/plimsoll/plimsoll/policy"
)

// ConfigMaps in the audit: listed and judged by configmap-secrets alone,
// as objects of their own; they run nothing, so a namespace that holds
// only ConfigMaps is no namespace that runs workloads.

func configMapOf(ns, name string, data map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: meta_(ns, name), Data: data}
}

func TestAuditJudgesConfigMaps(t *testing.T) {
	objs := []runtime.Object{
		namespace("shop", mode("enforce")), deployment("shop", "web", goodSpec()),
		configMapOf("shop", "db", map[string]string{"DB_HOST": "db", "DB_PASSWORD": "correct-horse-battery"}),
		configMapOf("shop", "settings", map[string]string{"LOG_LEVEL": "info"}),
		// A namespace of ConfigMaps alone (every namespace has
		// kube-root-ca.crt) runs no workload: namespace-quota leaves it be.
		namespace("config-only", mode("enforce")),
		configMapOf("config-only", "kube-root-ca.crt", map[string]string{"ca.crt": "-----BEGIN CERTIFICATE-----\nFAKECERT\n-----END CERTIFICATE-----\n"}),
	}
	c, _ := paginated(t, objs)
	r := runAudit(t, c, audit.Options{})
	if diff := cmp.Diff([]string{"ConfigMap/db"}, findings(r, "configmap-secrets")); diff != "" {
		t.Errorf("configmap-secrets (-want +got):\n%s", diff)
	}
	for _, ob := range r.Objects {
		if ob.Kind != "ConfigMap" {
			continue
		}
		if ob.APIVersion != "v1" {
			t.Errorf("ConfigMap %s has apiVersion %q", ob.Name, ob.APIVersion)
		}
		for _, f := range ob.Findings {
			if f.Rule != "configmap-secrets" {
				t.Errorf("%s judged ConfigMap %s: %s", f.Rule, ob.Name, f.Message)
			}
		}
	}
	for _, ob := range r.Objects {
		if ob.Kind == "Namespace" && ob.Name == "config-only" {
			t.Errorf("namespace config-only, which runs nothing, is judged: %+v", ob.Findings)
		}
	}
	if !slices.Contains(reported(r), "config-only/ConfigMap/kube-root-ca.crt") {
		t.Errorf("the ConfigMap of config-only is not judged: %v", reported(r))
	}

	// The same objects as manifests, through plimsoll check: the same
	// findings.
	dir := t.TempDir()
	for _, obj := range objs {
		obj = obj.DeepCopyObject()
		gvk := mustGVK(t, obj)
		obj.GetObjectKind().SetGroupVersionKind(gvk)
		b, err := yaml.Marshal(obj)
		if err != nil {
			t.Fatal(err)
		}
		m := obj.(metav1.Object)
		if err := os.WriteFile(filepath.Join(dir, gvk.Kind+"-"+m.GetNamespace()+"-"+m.GetName()+".yaml"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cr, err := check.Run(check.Options{Paths: []string{dir}, Policy: policy.Default(), Mode: "enforce"})
	if err != nil {
		t.Fatal(err)
	}
	// check judges every Namespace it is given; the audit only those that
	// run workloads.
	fromCheck := slices.DeleteFunc(asInTheCluster(cr.Results), func(res check.Result) bool { return res.Kind == "Namespace" && res.Name == "config-only" })
	if diff := cmp.Diff(sortedResults(fromCheck, ""), sortedResults(r.Results(), ""), cmpopts.IgnoreUnexported(check.Result{})); diff != "" {
		t.Errorf("audit and check disagree (-check +audit):\n%s", diff)
	}
}

func TestAuditWithConfigMapSecretsOffListsNoConfigMaps(t *testing.T) {
	objs := []runtime.Object{namespace("shop", mode("enforce")), deployment("shop", "web", goodSpec()),
		configMapOf("shop", "db", map[string]string{"DB_PASSWORD": "correct-horse-battery"})}
	c, calls := paginated(t, objs)
	p := policy.Default()
	p.Rules = map[string]policy.Severity{"configmap-secrets": policy.Off}
	r := runAudit(t, c, audit.Options{Policy: p})
	if n := len(calls.of("configmaps")); n != 0 {
		t.Errorf("configmaps listed %d times with configmap-secrets off", n)
	}
	for _, ob := range r.Objects {
		if ob.Kind == "ConfigMap" {
			t.Errorf("ConfigMap %s judged with configmap-secrets off", ob.Name)
		}
	}
	// On, they are listed.
	c, calls = paginated(t, objs)
	runAudit(t, c, audit.Options{})
	if n := len(calls.of("configmaps")); n == 0 {
		t.Error("configmaps not listed with configmap-secrets on")
	}
}

func TestAuditFailsWhenItCannotReadConfigMaps(t *testing.T) {
	c, _ := paginated(t, []runtime.Object{namespace("team-a", mode("enforce")), deployment("team-a", "web", goodSpec())})
	c.PrependReactor("list", "configmaps", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "configmaps"}, "", fmt.Errorf("RBAC"))
	})
	_, err := audit.Run(context.Background(), audit.Options{Client: kubetest.Wrap(c)})
	if err == nil || !strings.Contains(err.Error(), "listing configmaps in namespace team-a") {
		t.Errorf("error = %v, want it to name the ConfigMaps and the namespace: a partial audit would read as a clean one", err)
	}
}

// The background audit judges ConfigMaps as they change: a secret written
// into one appears in the namespace's PolicyReport, and goes once it is
// moved out; a namespace of ConfigMaps alone is not judged as one that
// runs workloads.
func TestBackgroundAuditFollowsConfigMaps(t *testing.T) {
	ns, quiet := "team-a", "config-only"
	c := fake.NewClientset(namespace(ns, mode("enforce")), deployment(ns, "web", goodSpec()),
		configMapOf(ns, "app", map[string]string{"LOG_LEVEL": "info"}),
		namespace(quiet, mode("enforce")), configMapOf(quiet, "settings", map[string]string{"api_token": "t0k3n-t0k3n-t0k3n"}))
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{audit.PolicyReportGVR: "PolicyReportList"})
	o := audit.DefaultBackgroundOptions()
	o.Client, o.Dynamic = kubetest.Wrap(c), dyn
	o.MetricsListen, o.HealthListen = "127.0.0.1:0", "0"
	o.Debounce = 0
	b, err := audit.NewBackground(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("background audit: %v", err)
		}
	}()
	results := func(ns string) (map[string]bool, error) {
		u, err := dyn.Resource(audit.PolicyReportGVR).Namespace(ns).Get(ctx, audit.ReportName, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		rs, _, _ := unstructured.NestedSlice(u.Object, "results")
		out := map[string]bool{}
		for _, item := range rs {
			r := item.(map[string]any)
			ref := r["resources"].([]any)[0].(map[string]any)
			rule, _ := r["rule"].(string)
			path, _, _ := unstructured.NestedString(r, "properties", "path")
			out[fmt.Sprintf("%s %s %s %s", ref["kind"], ref["name"], rule, path)] = true
		}
		return out, nil
	}
	waitFor(t, "the first reports", func() bool {
		got, err := results(quiet)
		if err != nil || !got["ConfigMap settings configmap-secrets data[api_token]"] {
			return false
		}
		for r := range got {
			if strings.HasPrefix(r, "Namespace ") {
				t.Errorf("namespace %s, which runs nothing, is judged: %s", quiet, r)
			}
		}
		got, err = results(ns)
		return err == nil && got["ConfigMap app  "] // passes every rule
	})

	cm, err := c.CoreV1().ConfigMaps(ns).Get(ctx, "app", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cm.Data["DB_PASSWORD"] = "correct-horse-battery"
	cm.ResourceVersion = "2"
	if _, err := c.CoreV1().ConfigMaps(ns).Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the secret to be reported", func() bool {
		got, err := results(ns)
		return err == nil && got["ConfigMap app configmap-secrets data[DB_PASSWORD]"]
	})
	if g := gauge(t, b, ns, "configmap-secrets"); g != 1 {
		t.Errorf("plimsoll_audit_violations{configmap-secrets} = %v, want 1", g)
	}
	delete(cm.Data, "DB_PASSWORD")
	cm.ResourceVersion = "3"
	if _, err := c.CoreV1().ConfigMaps(ns).Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the finding to go", func() bool {
		got, err := results(ns)
		return err == nil && !got["ConfigMap app configmap-secrets data[DB_PASSWORD]"] && got["ConfigMap app  "]
	})
}
