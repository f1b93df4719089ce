package workload_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/plimsoll/plimsoll/workload"
)

// decode reads a manifest of any supported kind into its typed object.
func decode(t *testing.T, path string) runtime.Object {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(data, &tm); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	obj, err := workload.New(schema.FromAPIVersionAndKind(tm.APIVersion, tm.Kind))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if err := yaml.UnmarshalStrict(data, obj); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return obj
}

func int32Ptr(v int32) *int32 { return &v }

func TestFindLocatesThePodTemplateOfEveryKind(t *testing.T) {
	tests := []struct {
		name     string
		file     string
		kind     string
		specPath string
		replicas *int32
		// spec and podMeta return, from the typed object, where the
		// template must point.
		spec    func(runtime.Object) *corev1.PodSpec
		podMeta func(runtime.Object) *metav1.ObjectMeta
	}{
		{
			name: "a Pod is its own template", file: "pod.yaml", kind: "Pod", specPath: "spec",
			spec:    func(o runtime.Object) *corev1.PodSpec { return &o.(*corev1.Pod).Spec },
			podMeta: func(o runtime.Object) *metav1.ObjectMeta { return &o.(*corev1.Pod).ObjectMeta },
		},
		{
			name: "a ReplicationController keeps its template under spec.template", file: "replicationcontroller.yaml",
			kind: "ReplicationController", specPath: "spec.template.spec", replicas: int32Ptr(3),
			spec: func(o runtime.Object) *corev1.PodSpec { return &o.(*corev1.ReplicationController).Spec.Template.Spec },
			podMeta: func(o runtime.Object) *metav1.ObjectMeta {
				return &o.(*corev1.ReplicationController).Spec.Template.ObjectMeta
			},
		},
		{
			name: "a Deployment keeps its template under spec.template", file: "deployment.yaml",
			kind: "Deployment", specPath: "spec.template.spec", replicas: int32Ptr(2),
			spec:    func(o runtime.Object) *corev1.PodSpec { return &o.(*appsv1.Deployment).Spec.Template.Spec },
			podMeta: func(o runtime.Object) *metav1.ObjectMeta { return &o.(*appsv1.Deployment).Spec.Template.ObjectMeta },
		},
		{
			name: "a StatefulSet keeps its template under spec.template", file: "statefulset.yaml",
			kind: "StatefulSet", specPath: "spec.template.spec", replicas: int32Ptr(4),
			spec:    func(o runtime.Object) *corev1.PodSpec { return &o.(*appsv1.StatefulSet).Spec.Template.Spec },
			podMeta: func(o runtime.Object) *metav1.ObjectMeta { return &o.(*appsv1.StatefulSet).Spec.Template.ObjectMeta },
		},
		{
			name: "a DaemonSet has a template but no replica count", file: "daemonset.yaml",
			kind: "DaemonSet", specPath: "spec.template.spec",
			spec:    func(o runtime.Object) *corev1.PodSpec { return &o.(*appsv1.DaemonSet).Spec.Template.Spec },
			podMeta: func(o runtime.Object) *metav1.ObjectMeta { return &o.(*appsv1.DaemonSet).Spec.Template.ObjectMeta },
		},
		{
			name: "a ReplicaSet without replicas gets the API server's default of one", file: "replicaset.yaml",
			kind: "ReplicaSet", specPath: "spec.template.spec", replicas: int32Ptr(1),
			spec:    func(o runtime.Object) *corev1.PodSpec { return &o.(*appsv1.ReplicaSet).Spec.Template.Spec },
			podMeta: func(o runtime.Object) *metav1.ObjectMeta { return &o.(*appsv1.ReplicaSet).Spec.Template.ObjectMeta },
		},
		{
			name: "a Job keeps its template under spec.template", file: "job.yaml",
			kind: "Job", specPath: "spec.template.spec",
			spec:    func(o runtime.Object) *corev1.PodSpec { return &o.(*batchv1.Job).Spec.Template.Spec },
			podMeta: func(o runtime.Object) *metav1.ObjectMeta { return &o.(*batchv1.Job).Spec.Template.ObjectMeta },
		},
		{
			name: "a CronJob nests its template inside the job template", file: "cronjob.yaml",
			kind: "CronJob", specPath: "spec.jobTemplate.spec.template.spec",
			spec: func(o runtime.Object) *corev1.PodSpec {
				return &o.(*batchv1.CronJob).Spec.JobTemplate.Spec.Template.Spec
			},
			podMeta: func(o runtime.Object) *metav1.ObjectMeta {
				return &o.(*batchv1.CronJob).Spec.JobTemplate.Spec.Template.ObjectMeta
			},
		},
	}

	covered := map[string]bool{}
	for _, tt := range tests {
		covered[tt.kind] = true
		t.Run(tt.name, func(t *testing.T) {
			obj := decode(t, filepath.Join("testdata", tt.file))
			got, err := workload.Find(obj)
			if err != nil {
				t.Fatalf("Find: %v", err)
			}
			if got.Kind != tt.kind {
				t.Errorf("Kind = %q, want %q", got.Kind, tt.kind)
			}
			if got.SpecPath.String() != tt.specPath {
				t.Errorf("SpecPath = %q, want %q", got.SpecPath, tt.specPath)
			}
			if got.Object != obj {
				t.Errorf("Object is not the object passed in")
			}
			if got.Spec != tt.spec(obj) {
				t.Errorf("Spec does not point into the object's pod template")
			}
			if got.PodMeta != tt.podMeta(obj) {
				t.Errorf("PodMeta does not point at the pod template's metadata")
			}
			if got.Meta.Name != "web" {
				t.Errorf("Meta.Name = %q, want the object's own name %q", got.Meta.Name, "web")
			}
			if got.PodMeta.Labels["app"] != "web" {
				t.Errorf("PodMeta.Labels = %v, want app=web", got.PodMeta.Labels)
			}
			wantContainer := strings.ToLower(tt.kind) + "-app"
			if len(got.Spec.Containers) != 1 || got.Spec.Containers[0].Name != wantContainer {
				t.Errorf("Spec.Containers = %v, want one container %q", got.Spec.Containers, wantContainer)
			}
			if diff := cmp.Diff(tt.replicas, got.Replicas); diff != "" {
				t.Errorf("Replicas (-want +got):\n%s", diff)
			}

			// Writing through the template writes the object.
			got.Spec.Containers[0].Image = "changed:1"
			if img := tt.spec(obj).Containers[0].Image; img != "changed:1" {
				t.Errorf("after writing through Spec the object's image is %q", img)
			}
		})
	}
	for _, gvk := range workload.Kinds {
		if !covered[gvk.Kind] {
			t.Errorf("kind %s has no Find test case", gvk.Kind)
		}
	}
}

func TestNewAndSupported(t *testing.T) {
	for _, gvk := range workload.Kinds {
		t.Run(gvk.Kind+" is supported and gets its typed object", func(t *testing.T) {
			if !workload.Supported(gvk) {
				t.Errorf("Supported(%v) = false", gvk)
			}
			obj, err := workload.New(gvk)
			if err != nil {
				t.Fatalf("New(%v): %v", gvk, err)
			}
			if got := obj.GetObjectKind().GroupVersionKind(); got != gvk {
				t.Errorf("New(%v) has GVK %v", gvk, got)
			}
			if _, err := workload.Find(obj); err != nil {
				t.Errorf("Find(New(%v)): %v", gvk, err)
			}
		})
	}

	tests := []struct {
		name    string
		gvk     schema.GroupVersionKind
		wantErr string
	}{
		{"a kind without a pod template is refused", corev1.SchemeGroupVersion.WithKind("Service"), "kind Service of v1"},
		{"an old API version of a supported kind is refused", schema.GroupVersionKind{Group: "extensions", Version: "v1beta1", Kind: "Deployment"}, "kind Deployment of extensions/v1beta1"},
		{"an object without a kind is refused", schema.GroupVersionKind{}, "objects without a kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if workload.Supported(tt.gvk) {
				t.Errorf("Supported(%v) = true", tt.gvk)
			}
			_, err := workload.New(tt.gvk)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("New(%v) error = %v, want it to mention %q", tt.gvk, err, tt.wantErr)
			}
		})
	}
}

// TestCompanionsAreFoundWithoutPods: every companion kind is supported,
// gets its typed object, and is found as a template with its metadata and
// no pod template (so no rule about Pods judges it).
func TestCompanionsAreFoundWithoutPods(t *testing.T) {
	for _, gvk := range workload.Companions {
		t.Run(gvk.Kind, func(t *testing.T) {
			if !workload.Supported(gvk) {
				t.Errorf("Supported(%v) = false", gvk)
			}
			obj, err := workload.New(gvk)
			if err != nil {
				t.Fatalf("New(%v): %v", gvk, err)
			}
			if got := obj.GetObjectKind().GroupVersionKind(); got != gvk {
				t.Errorf("New(%v) has GVK %v", gvk, got)
			}
			m, ok := obj.(metav1.Object)
			if !ok {
				t.Fatalf("%T has no metadata", obj)
			}
			m.SetName("x")
			tpl, err := workload.Find(obj)
			if err != nil {
				t.Fatalf("Find(New(%v)): %v", gvk, err)
			}
			if tpl.Kind != gvk.Kind || tpl.Object != obj || tpl.Meta == nil || tpl.Meta.Name != "x" {
				t.Errorf("Find = kind %q, object %p (want %p), meta %v", tpl.Kind, tpl.Object, obj, tpl.Meta)
			}
			if tpl.HasPods() || tpl.Spec != nil || tpl.SpecPath != nil || tpl.PodMeta != nil || len(tpl.Containers()) != 0 {
				t.Errorf("a %s has a pod template: %+v", gvk.Kind, tpl)
			}
		})
	}
	for _, kind := range []string{"PodDisruptionBudget", "HorizontalPodAutoscaler", "Namespace", "ConfigMap"} {
		if !slices.ContainsFunc(workload.Companions, func(k schema.GroupVersionKind) bool { return k.Kind == kind }) {
			t.Errorf("%s is not among the companions", kind)
		}
	}
}

func TestFindRefusesAnUnsupportedObject(t *testing.T) {
	svc := &corev1.Service{}
	svc.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Service"))
	_, err := workload.Find(svc)
	if err == nil || !strings.Contains(err.Error(), "kind Service of v1") {
		t.Errorf("Find(Service) error = %v, want it to name the kind", err)
	}
}

func TestFindGivesAReplicationControllerWithoutTemplateAnEmptyOne(t *testing.T) {
	rc := &corev1.ReplicationController{}
	got, err := workload.Find(rc)
	if err != nil {
		t.Fatal(err)
	}
	if rc.Spec.Template == nil || got.Spec != &rc.Spec.Template.Spec {
		t.Errorf("Spec does not point into a template allocated in the object")
	}
	if got.Replicas == nil || *got.Replicas != 1 {
		t.Errorf("Replicas = %v, want 1", got.Replicas)
	}
}

func TestBatch(t *testing.T) {
	yes, no := true, false
	owned := func(kind string, controller *bool) *workload.Template {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{OwnerReferences: []metav1.OwnerReference{
			{APIVersion: "batch/v1", Kind: kind, Name: "owner", Controller: controller},
		}}}
		tpl, err := workload.Find(pod)
		if err != nil {
			t.Fatal(err)
		}
		tpl.OwnerTrusted = true
		return tpl
	}
	claimed := owned("Job", &yes)
	claimed.OwnerTrusted = false
	find := func(obj runtime.Object) *workload.Template {
		tpl, err := workload.Find(obj)
		if err != nil {
			t.Fatal(err)
		}
		return tpl
	}
	tests := []struct {
		name string
		tpl  *workload.Template
		want bool
	}{
		{"a Job runs to completion", find(&batchv1.Job{}), true},
		{"a CronJob runs to completion", find(&batchv1.CronJob{}), true},
		{"a Pod controlled by a Job runs to completion", owned("Job", &yes), true},
		{"a Pod that claims a Job owner nobody vouched for is long-running", claimed, false},
		{"a Pod that names a Job as a non-controller owner is long-running", owned("Job", &no), false},
		{"a Pod whose Job owner reference does not say controller is long-running", owned("Job", nil), false},
		{"a Pod controlled by a ReplicaSet is long-running", owned("ReplicaSet", &yes), false},
		{"a bare Pod is long-running", find(&corev1.Pod{}), false},
		{"a Deployment is long-running", find(&appsv1.Deployment{}), false},
		{"a DaemonSet is long-running", find(&appsv1.DaemonSet{}), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.tpl.Batch(); got != tt.want {
				t.Errorf("Batch() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestWindows(t *testing.T) {
	tests := []struct {
		name string
		os   *corev1.PodOS
		want bool
	}{
		{"a Pod that declares windows is a Windows Pod", &corev1.PodOS{Name: corev1.Windows}, true},
		{"a Pod that declares linux is not", &corev1.PodOS{Name: corev1.Linux}, false},
		{"a Pod that declares no OS is not", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tpl, err := workload.Find(&appsv1.Deployment{Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{OS: tt.os}}}})
			if err != nil {
				t.Fatal(err)
			}
			if got := tpl.Windows(); got != tt.want {
				t.Errorf("Windows() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNameAndDescribe(t *testing.T) {
	tests := []struct {
		name         string
		meta         metav1.ObjectMeta
		wantName     string
		wantDescribe string
	}{
		{"a name is used as it is", metav1.ObjectMeta{Name: "web"}, "web", `Pod "web"`},
		{"a generateName alone is shown with a star", metav1.ObjectMeta{GenerateName: "web-7d9f-"}, "web-7d9f-*", `Pod "web-7d9f-*"`},
		{"a name wins over a generateName", metav1.ObjectMeta{Name: "web-7d9f-x2", GenerateName: "web-7d9f-"}, "web-7d9f-x2", `Pod "web-7d9f-x2"`},
		{"an object with neither is called unnamed", metav1.ObjectMeta{}, "(unnamed)", `Pod "(unnamed)"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := tt.meta
			if got := workload.Name(&m); got != tt.wantName {
				t.Errorf("Name() = %q, want %q", got, tt.wantName)
			}
			tpl, err := workload.Find(&corev1.Pod{ObjectMeta: tt.meta})
			if err != nil {
				t.Fatal(err)
			}
			if got := tpl.Describe(); got != tt.wantDescribe {
				t.Errorf("Describe() = %q, want %q", got, tt.wantDescribe)
			}
		})
	}
}
