package audit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/plimsoll/plimsoll/admission"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/plimsoll/plimsoll/audit"
	"github.com/plimsoll/plimsoll/check"
	"github.com/plimsoll/plimsoll/internal/kube/kubetest"
	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/workload"
)

func mustQ(s string) resource.Quantity { return resource.MustParse(s) }

func TestRunListsEveryPageOfEveryKind(t *testing.T) {
	objs := []runtime.Object{namespace("team-a", mode("audit"))}
	for i := range 1203 {
		objs = append(objs, pod("team-a", fmt.Sprintf("p-%04d", i), goodSpec()))
	}
	for i := range 7 {
		objs = append(objs, deployment("team-a", fmt.Sprintf("d-%d", i), goodSpec()))
	}
	c, calls := paginated(t, objs)
	r := runAudit(t, c, audit.Options{PageSize: 500})

	if r.Summary.Objects != 1211 {
		t.Errorf("objects judged = %d, want 1211 (the Pods, the Deployments and the namespace)", r.Summary.Objects)
	}
	var got []string
	for _, o := range calls.of("pods") {
		got = append(got, fmt.Sprintf("limit=%d continue=%q", o.Limit, o.Continue))
	}
	want := []string{`limit=500 continue=""`, `limit=500 continue="500"`, `limit=500 continue="1000"`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("pod List requests (-want +got):\n%s", diff)
	}
	for _, res := range []string{"deployments", "statefulsets", "daemonsets", "replicasets", "replicationcontrollers", "jobs", "cronjobs",
		"poddisruptionbudgets", "horizontalpodautoscalers", "resourcequotas", "limitranges"} {
		if n := len(calls.of(res)); n != 1 {
			t.Errorf("%s listed %d times, want once", res, n)
		}
	}
}

func TestRunListsAgainWhenTheContinueTokenExpires(t *testing.T) {
	objs := []runtime.Object{namespace("team-a", mode("audit"))}
	for i := range 25 {
		objs = append(objs, pod("team-a", fmt.Sprintf("p-%02d", i), latest(goodSpec())))
	}
	c, calls := paginated(t, objs, "pods")
	r := runAudit(t, c, audit.Options{PageSize: 10})

	names := slices.DeleteFunc(reported(r), func(s string) bool { return !strings.Contains(s, "/Pod/") })
	if len(names) != 25 || len(slices.Compact(slices.Clone(names))) != 25 {
		t.Errorf("judged %d objects (%d distinct), want each of the 25 Pods once", len(names), len(slices.Compact(slices.Clone(names))))
	}
	if r.Summary.Errors != 25 {
		t.Errorf("errors = %d, want 25 (one image-tag per Pod, none counted twice)", r.Summary.Errors)
	}
	// first page, expired continue, first page again, then on to the end
	if n := len(calls.of("pods")); n != 5 {
		t.Errorf("pod List requests = %d, want 5", n)
	}
}

func TestRunReportsPodsThroughTheirOwners(t *testing.T) {
	ns := "team-a"
	objs := []runtime.Object{
		namespace(ns, mode("enforce")),
		// Deployment → ReplicaSet → Pod: only the Deployment.
		deployment(ns, "web", latest(goodSpec())),
		replicaSet(ns, "web-5d8f7c9b6", latest(goodSpec()), controlledBy("apps/v1", "Deployment", ns, "web")),
		pod(ns, "web-5d8f7c9b6-x7k2p", latest(goodSpec()), controlledBy("apps/v1", "ReplicaSet", ns, "web-5d8f7c9b6")),
		// CronJob → Job → Pod: only the CronJob.
		cronJob(ns, "report", goodSpec()),
		job(ns, "report-29123456", goodSpec(), controlledBy("batch/v1", "CronJob", ns, "report")),
		pod(ns, "report-29123456-abcde", goodSpec(), controlledBy("batch/v1", "Job", ns, "report-29123456")),
		// A ReplicaSet of its own: it, not its Pod.
		replicaSet(ns, "bare-rs", goodSpec()),
		pod(ns, "bare-rs-abcde", goodSpec(), controlledBy("apps/v1", "ReplicaSet", ns, "bare-rs")),
		// DaemonSet → Pod: the DaemonSet.
		daemonSet(ns, "agent", goodSpec()),
		pod(ns, "agent-xyz12", goodSpec(), controlledBy("apps/v1", "DaemonSet", ns, "agent")),
		// A Pod whose ReplicaSet is gone: the Pod itself.
		pod(ns, "orphan", goodSpec(), controlledBy("apps/v1", "ReplicaSet", ns, "gone")),
		// A Pod whose controller is not a kind plimsoll judges: the Pod.
		pod(ns, "vm-launcher", goodSpec(), controlledBy("kubevirt.io/v1", "VirtualMachineInstance", ns, "vm")),
		// An owner that is not the controller does not count.
		func() runtime.Object {
			p := pod(ns, "adopted", goodSpec(), controlledBy("apps/v1", "DaemonSet", ns, "agent"))
			p.OwnerReferences[0].Controller = nil
			return p
		}(),
		// A controller of the same name but another UID (recreated): the Pod.
		func() runtime.Object {
			p := pod(ns, "stale", goodSpec(), controlledBy("apps/v1", "ReplicaSet", ns, "bare-rs"))
			p.OwnerReferences[0].UID = "an-older-bare-rs"
			return p
		}(),
		// A bare Pod.
		pod(ns, "debug", latest(goodSpec())),
	}
	c, _ := paginated(t, objs)
	r := runAudit(t, c, audit.Options{})

	want := []string{
		"team-a/CronJob/report",
		"team-a/DaemonSet/agent",
		"team-a/Deployment/web",
		"team-a/Namespace/team-a", // namespace-quota judges the namespace
		"team-a/Pod/adopted",
		"team-a/Pod/debug",
		"team-a/Pod/orphan",
		"team-a/Pod/stale",
		"team-a/Pod/vm-launcher",
		"team-a/ReplicaSet/bare-rs",
	}
	if diff := cmp.Diff(want, reported(r)); diff != "" {
		t.Errorf("objects reported (-want +got):\n%s", diff)
	}
	if r.ThroughOwner != 6 {
		t.Errorf("ThroughOwner = %d, want 6", r.ThroughOwner)
	}
	// The Deployment's latest tag is reported once, not three times.
	if r.Summary.Errors != 2 {
		t.Errorf("errors = %d, want 2 (Deployment web and Pod debug)", r.Summary.Errors)
	}
}

func TestScopeSelectsNamespacesAsTheWebhookDoes(t *testing.T) {
	namespaces := []runtime.Object{
		namespace("enforced", mode("enforce")),
		namespace("warned", mode("warn")),
		namespace("audited", mode("audit")),
		namespace("switched-off", mode("off")),
		namespace("misspelt", mode("enforced")),
		namespace("unlabelled", nil),
		namespace("plimsoll-system", mode("enforce")),
		namespace("kube-system", nil),
		namespace("kube-public", mode("enforce")),
		namespace("kube-node-lease", nil),
	}
	objs := slices.Clone(namespaces)
	for _, ns := range namespaces {
		name := ns.(metav1.Object).GetName()
		objs = append(objs, deployment(name, "web", goodSpec()))
	}
	tests := []struct {
		name    string
		options audit.Options
		want    []string
	}{
		{"opt-in audits the namespaces labelled enforce, warn or audit",
			audit.Options{Scope: admission.ScopeOptIn, ExcludeNamespaces: []string{"plimsoll-system"}},
			[]string{"audited", "enforced", "warned"}},
		{"cluster audits every namespace not labelled off, labelled or not",
			audit.Options{Scope: admission.ScopeCluster, ExcludeNamespaces: []string{"plimsoll-system"}},
			[]string{"audited", "enforced", "misspelt", "unlabelled", "warned"}},
		{"an excluded namespace is never audited, and kube-* never",
			audit.Options{Scope: admission.ScopeCluster, ExcludeNamespaces: []string{"warned", "unlabelled"}},
			[]string{"audited", "enforced", "misspelt", "plimsoll-system"}},
		{"a namespace named explicitly is audited whatever its label (opt-in, unlabelled)",
			audit.Options{Scope: admission.ScopeOptIn, Namespace: "unlabelled"},
			[]string{"unlabelled"}},
		{"a namespace named explicitly is audited even when switched off: that is the what-if",
			audit.Options{Namespace: "switched-off"},
			[]string{"switched-off"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := paginated(t, objs)
			r := runAudit(t, c, tt.options)
			var got []string
			for _, ns := range r.Namespaces {
				got = append(got, ns.Name)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("namespaces audited (-want +got):\n%s", diff)
			}
			var objNS []string
			for _, ob := range r.Objects {
				if ob.Kind != "Namespace" {
					objNS = append(objNS, ob.Namespace)
				}
			}
			if diff := cmp.Diff(tt.want, objNS); diff != "" {
				t.Errorf("namespaces of the objects judged (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNamespaceModeIsReported(t *testing.T) {
	c, _ := paginated(t, []runtime.Object{namespace("a", mode("audit")), namespace("b", nil)})
	r := runAudit(t, c, audit.Options{Scope: admission.ScopeCluster})
	got := map[string]string{}
	for _, ns := range r.Namespaces {
		got[ns.Name] = ns.Mode
	}
	if diff := cmp.Diff(map[string]string{"a": "audit", "b": "unlabelled"}, got); diff != "" {
		t.Errorf("modes (-want +got):\n%s", diff)
	}
}

func TestOptionsAreValidated(t *testing.T) {
	c, _ := paginated(t, nil)
	tests := []struct {
		name    string
		options audit.Options
		want    string
	}{
		{"kube-system is never judged", audit.Options{Namespace: "kube-system"}, "plimsoll never touches kube-system, kube-public, kube-node-lease"},
		{"a namespace both named and excluded", audit.Options{Namespace: "a", ExcludeNamespaces: []string{"a"}}, "also given to --exclude-namespace"},
		{"an unknown mode", audit.Options{Mode: "strict"}, `--mode "strict": use enforce or warn`},
		{"an unknown scope", audit.Options{Scope: "everything"}, `--scope "everything": use opt-in or cluster`},
		{"an invalid namespace name", audit.Options{Namespace: "Team_A"}, `namespace "Team_A" is not a valid namespace name`},
		{"a namespace that does not exist", audit.Options{Namespace: "nowhere"}, "namespace nowhere not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.options
			o.Client = kubetest.Wrap(c)
			_, err := audit.Run(context.Background(), o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want it to say %q", err, tt.want)
			}
		})
	}
}

// mixedCluster is a namespace of objects with every kind of verdict.
func mixedCluster() []runtime.Object {
	ns := "shop"
	bare := goodSpec()
	bare.Containers = slices.Clone(bare.Containers)
	bare.Containers[0].Resources = corev1.ResourceRequirements{}
	bare.Containers[0].SecurityContext = nil
	bare.SecurityContext = nil
	priv := goodSpec()
	priv.Containers = slices.Clone(priv.Containers)
	yes := true
	priv.Containers[0].SecurityContext = priv.Containers[0].SecurityContext.DeepCopy()
	priv.Containers[0].SecurityContext.Privileged = &yes
	one := int32(1)
	single := deployment(ns, "single", goodSpec())
	single.Spec.Replicas = &one
	return []runtime.Object{
		namespace(ns, mode("audit")),
		deployment(ns, "frontend", latest(goodSpec())),
		deployment(ns, "api", goodSpec()),
		deployment(ns, "bare", bare),
		single,
		daemonSet(ns, "agent", priv),
		cronJob(ns, "nightly", latest(bare)),
		pod(ns, "debug", bare),
	}
}

func TestJSONIsCheckSchemaAndAgreesWithCheck(t *testing.T) {
	objs := mixedCluster()
	c, _ := paginated(t, objs)
	r := runAudit(t, c, audit.Options{})

	// The same objects as manifests, through plimsoll check, with their
	// Namespace: check judges it (namespace-quota) as the audit judges
	// every namespace that runs workloads.
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
		if err := os.WriteFile(filepath.Join(dir, gvk.Kind+"-"+m.GetName()+".yaml"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cr, err := check.Run(check.Options{Paths: []string{dir}, Policy: policy.Default(), Mode: "enforce"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(sortedResults(asInTheCluster(cr.Results), ""), sortedResults(r.Results(), ""), cmpopts.IgnoreUnexported(check.Result{})); diff != "" {
		t.Errorf("audit and check disagree (-check +audit):\n%s", diff)
	}
	for _, rule := range []string{"pod-disruption-budget", "namespace-quota"} {
		if !slices.ContainsFunc(r.Results(), func(res check.Result) bool { return res.Rule == rule }) {
			t.Errorf("the audit reports no %s: the context rules did not run", rule)
		}
	}
	if cr.Summary != r.Summary {
		t.Errorf("summary: check %+v, audit %+v", cr.Summary, r.Summary)
	}
	if r.Summary.Errors == 0 || r.Summary.Warnings == 0 {
		t.Errorf("the mixed cluster should have errors and warnings: %+v", r.Summary)
	}

	var out bytes.Buffer
	if err := r.WriteJSON(&out); err != nil {
		t.Fatal(err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if keys := slices.Sorted(maps.Keys(doc)); !slices.Equal(keys, []string{"results", "summary"}) {
		t.Errorf("top-level keys = %v, want results and summary", keys)
	}
	var results []map[string]any
	_ = json.Unmarshal(doc["results"], &results)
	wantKeys := []string{"container", "file", "fixable", "kind", "message", "name", "namespace", "path", "remediation", "rule", "severity"}
	for _, res := range results {
		if keys := slices.Sorted(maps.Keys(res)); !slices.Equal(keys, wantKeys) {
			t.Fatalf("result keys = %v, want %v", keys, wantKeys)
		}
		if res["file"] != "cluster" {
			t.Fatalf("file = %v, want cluster", res["file"])
		}
	}
}

func TestWarnModeDeniesNothing(t *testing.T) {
	c, _ := paginated(t, mixedCluster())
	r := runAudit(t, c, audit.Options{Mode: "warn"})
	if r.Summary.Errors != 0 || r.Summary.Warnings == 0 || r.ExitCode() != 0 || r.DeniedObjects() != 0 {
		t.Errorf("warn mode: summary %+v, exit %d, denied objects %d; want no errors, some warnings, exit 0", r.Summary, r.ExitCode(), r.DeniedObjects())
	}
}

func TestTextGroupsByNamespaceAndRule(t *testing.T) {
	c, _ := paginated(t, mixedCluster())
	r := runAudit(t, c, audit.Options{})
	r.Context = "kind-test"
	var out bytes.Buffer
	r.WriteText(&out, false)
	text := out.String()
	for _, want := range []string{
		"plimsoll audit of kind-test in enforce mode (scope opt-in): 1 namespace",
		"namespace shop (mode: audit): 8 objects, 3 would be denied",
		"  ✘ would be denied\n    [image-tag] 2 findings in 2 objects\n      fix: pin a version",
		`      Deployment frontend: container "app" uses image "nginx:latest"`,
		"  ! would only warn\n",
		"    [replicas] 1 finding in 1 object\n      fix: set spec.replicas: 2 or more",
		"      Deployment single: workload runs a single replica",
		// Context rules: a finding on a Deployment, one on the Namespace.
		"    [pod-disruption-budget] 3 findings in 3 objects\n      Deployment api: workload runs 2 replicas, but no PodDisruptionBudget in the cluster selects its Pods",
		"        fix: create a PodDisruptionBudget: {apiVersion: policy/v1, kind: PodDisruptionBudget, metadata: {name: api, namespace: shop}",
		"    [namespace-quota] 2 findings in 1 object\n      Namespace shop: namespace has no ResourceQuota in the cluster",
		"  ✔ would be defaulted\n",
		"    [cpu-requests] 3 objects: CronJob nightly, Deployment bare, Pod debug\n",
		"8 objects audited in ",
		"that enforce mode would deny (3 objects refused)",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text output lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "\x1b[") {
		t.Error("colour without a terminal")
	}
}

func mustGVK(t *testing.T, obj runtime.Object) schema.GroupVersionKind {
	t.Helper()
	for _, k := range slices.Concat(workload.Kinds, workload.Companions) {
		o, _ := workload.New(k)
		if fmt.Sprintf("%T", o) == fmt.Sprintf("%T", obj) {
			return k
		}
	}
	t.Fatalf("no kind for %T", obj)
	return schema.GroupVersionKind{}
}

// asInTheCluster returns check's results as the audit words them: the
// context rules say where they looked, "in the documents checked" for
// check and "in the cluster" for the audit.
func asInTheCluster(rs []check.Result) []check.Result {
	out := slices.Clone(rs)
	for i := range out {
		out[i].Message = strings.ReplaceAll(out[i].Message, " in the documents checked", " in the cluster")
	}
	return out
}

// sortedResults are results with file set to file, in a fixed order.
func sortedResults(rs []check.Result, file string) []check.Result {
	out := slices.Clone(rs)
	for i := range out {
		out[i].File = file
		out[i].Line, out[i].Column = 0, 0 // the audit reads objects, not files
	}
	slices.SortStableFunc(out, func(a, b check.Result) int {
		return strings.Compare(a.Namespace+"/"+a.Kind+"/"+a.Name, b.Namespace+"/"+b.Kind+"/"+b.Name)
	})
	return out
}

func TestJSONIsPrintedByteForByteAsCheckPrintsIt(t *testing.T) {
	tests := []struct {
		name string
		objs []runtime.Object
	}{
		{"a cluster with findings", mixedCluster()},
		{"a namespace without workloads", []runtime.Object{namespace("empty", mode("warn"))}},
		{"nothing in scope", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := paginated(t, tt.objs)
			r := runAudit(t, c, audit.Options{})
			var got, want bytes.Buffer
			if err := r.WriteJSON(&got); err != nil {
				t.Fatal(err)
			}
			if err := (&check.Report{Results: r.Results(), Summary: r.Summary}).WriteJSON(&want); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want.String(), got.String()); diff != "" {
				t.Errorf("audit -o json differs from check's printer (-check +audit):\n%s", diff)
			}
		})
	}
}
