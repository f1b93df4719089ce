package workload

import (
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Template is the pod template of an object, as plimsoll judges it.
//
// Spec and PodMeta point into Object: changing them changes the object.
//
// The objects judged beside workloads (Companions: a
// PodDisruptionBudget, a HorizontalPodAutoscaler, a Namespace, a
// ConfigMap) have no pod template: their Template carries Kind, Object
// and Meta, and Spec, SpecPath and PodMeta are nil (HasPods is false).
type Template struct {
	// Kind is the object's kind ("Deployment", "Pod", ...).
	Kind string
	// Object is the whole object the template was found in.
	Object runtime.Object
	// Meta is the metadata of the object itself (name, namespace, owners).
	Meta *metav1.ObjectMeta
	// PodMeta is the metadata the Pods will carry (for a Pod, Meta itself).
	PodMeta *metav1.ObjectMeta
	// Spec is the PodSpec.
	Spec *corev1.PodSpec
	// SpecPath is where Spec lives in the object, e.g. spec.template.spec.
	SpecPath *field.Path
	// Replicas is the desired replica count for kinds that have one
	// (Deployment, StatefulSet, ReplicaSet, ReplicationController), else nil.
	Replicas *int32
	// OwnerTrusted says whether the controller named in the object's
	// ownerReferences made it. Anyone who may create a Pod may write any
	// ownerReferences, so they count — for exemptions (Identities) and
	// for every other decision (Batch) — only when the caller has
	// established who made the object: the webhook from the request's
	// userInfo (policy.Policy.TrustsController), the audit by finding the
	// owner, with that UID, in the cluster. False (the zero value): the
	// object answers for itself alone.
	OwnerTrusted bool

	// containers caches Containers() for the Spec and list lengths it was
	// worked out for.
	containers     []Container
	containersOf   *corev1.PodSpec
	containersLens [3]int
}

// Containers is Containers(t.Spec, t.SpecPath), worked out once and kept:
// every rule and default family walks the containers. It is worked out
// again if Spec is replaced (a copy of the template with its own Spec) or
// a container list changes length. Not safe for concurrent use.
func (t *Template) Containers() []Container {
	if t.Spec == nil {
		return nil
	}
	lens := [3]int{len(t.Spec.InitContainers), len(t.Spec.Containers), len(t.Spec.EphemeralContainers)}
	if t.containersOf != t.Spec || t.containersLens != lens {
		t.containers, t.containersOf, t.containersLens = Containers(t.Spec, t.SpecPath), t.Spec, lens
	}
	return t.containers
}

// Kinds lists the kinds that carry a pod template, by API group and version
// as the API server sends them (matchPolicy: Equivalent converts older
// versions to these).
var Kinds = []schema.GroupVersionKind{
	corev1.SchemeGroupVersion.WithKind("Pod"),
	corev1.SchemeGroupVersion.WithKind("ReplicationController"),
	appsv1.SchemeGroupVersion.WithKind("Deployment"),
	appsv1.SchemeGroupVersion.WithKind("StatefulSet"),
	appsv1.SchemeGroupVersion.WithKind("DaemonSet"),
	appsv1.SchemeGroupVersion.WithKind("ReplicaSet"),
	batchv1.SchemeGroupVersion.WithKind("Job"),
	batchv1.SchemeGroupVersion.WithKind("CronJob"),
}

// Companions lists the kinds plimsoll judges that carry no pod template
// but go with workloads: the budget that limits their evictions, the
// autoscaler that scales them, the namespace (its quotas) they run in,
// and the ConfigMaps they read (which must hold no secrets). Rules about
// them read their Object, and only the rules that name their kind in
// validate.Rule.Kinds judge them.
var Companions = []schema.GroupVersionKind{
	policyv1.SchemeGroupVersion.WithKind("PodDisruptionBudget"),
	autoscalingv2.SchemeGroupVersion.WithKind("HorizontalPodAutoscaler"),
	corev1.SchemeGroupVersion.WithKind("Namespace"),
	corev1.SchemeGroupVersion.WithKind("ConfigMap"),
}

// Supported reports whether gvk is one of Kinds or Companions.
func Supported(gvk schema.GroupVersionKind) bool {
	for _, k := range Kinds {
		if k == gvk {
			return true
		}
	}
	for _, k := range Companions {
		if k == gvk {
			return true
		}
	}
	return false
}

// HasPods reports whether the object carries a pod template (it is one of
// Kinds, not of Companions).
func (t *Template) HasPods() bool { return t.Spec != nil }

// New returns an empty typed object of a supported kind.
func New(gvk schema.GroupVersionKind) (runtime.Object, error) {
	var obj runtime.Object
	switch gvk {
	case corev1.SchemeGroupVersion.WithKind("Pod"):
		obj = &corev1.Pod{}
	case corev1.SchemeGroupVersion.WithKind("ReplicationController"):
		obj = &corev1.ReplicationController{}
	case appsv1.SchemeGroupVersion.WithKind("Deployment"):
		obj = &appsv1.Deployment{}
	case appsv1.SchemeGroupVersion.WithKind("StatefulSet"):
		obj = &appsv1.StatefulSet{}
	case appsv1.SchemeGroupVersion.WithKind("DaemonSet"):
		obj = &appsv1.DaemonSet{}
	case appsv1.SchemeGroupVersion.WithKind("ReplicaSet"):
		obj = &appsv1.ReplicaSet{}
	case batchv1.SchemeGroupVersion.WithKind("Job"):
		obj = &batchv1.Job{}
	case batchv1.SchemeGroupVersion.WithKind("CronJob"):
		obj = &batchv1.CronJob{}
	case policyv1.SchemeGroupVersion.WithKind("PodDisruptionBudget"):
		obj = &policyv1.PodDisruptionBudget{}
	case autoscalingv2.SchemeGroupVersion.WithKind("HorizontalPodAutoscaler"):
		obj = &autoscalingv2.HorizontalPodAutoscaler{}
	case corev1.SchemeGroupVersion.WithKind("Namespace"):
		obj = &corev1.Namespace{}
	case corev1.SchemeGroupVersion.WithKind("ConfigMap"):
		obj = &corev1.ConfigMap{}
	default:
		return nil, fmt.Errorf("plimsoll does not judge %s", describeGVK(gvk))
	}
	obj.GetObjectKind().SetGroupVersionKind(gvk)
	return obj, nil
}

func describeGVK(gvk schema.GroupVersionKind) string {
	if gvk.Kind == "" {
		return "objects without a kind"
	}
	return fmt.Sprintf("kind %s of %s", gvk.Kind, gvk.GroupVersion())
}

var (
	podSpecPath      = field.NewPath("spec")
	templateSpecPath = field.NewPath("spec", "template", "spec")
	cronJobSpecPath  = field.NewPath("spec", "jobTemplate", "spec", "template", "spec")
)

// Find returns the pod template of a typed object of a supported kind.
func Find(obj runtime.Object) (*Template, error) {
	t := &Template{Object: obj}
	switch o := obj.(type) {
	case *corev1.Pod:
		t.Kind, t.Meta, t.PodMeta, t.Spec, t.SpecPath = "Pod", &o.ObjectMeta, &o.ObjectMeta, &o.Spec, podSpecPath
	case *corev1.ReplicationController:
		if o.Spec.Template == nil {
			o.Spec.Template = &corev1.PodTemplateSpec{}
		}
		t.Kind, t.Meta, t.PodMeta, t.Spec, t.SpecPath = "ReplicationController", &o.ObjectMeta, &o.Spec.Template.ObjectMeta, &o.Spec.Template.Spec, templateSpecPath
		t.Replicas = replicas(o.Spec.Replicas)
	case *appsv1.Deployment:
		t.Kind, t.Meta, t.PodMeta, t.Spec, t.SpecPath = "Deployment", &o.ObjectMeta, &o.Spec.Template.ObjectMeta, &o.Spec.Template.Spec, templateSpecPath
		t.Replicas = replicas(o.Spec.Replicas)
	case *appsv1.StatefulSet:
		t.Kind, t.Meta, t.PodMeta, t.Spec, t.SpecPath = "StatefulSet", &o.ObjectMeta, &o.Spec.Template.ObjectMeta, &o.Spec.Template.Spec, templateSpecPath
		t.Replicas = replicas(o.Spec.Replicas)
	case *appsv1.DaemonSet:
		t.Kind, t.Meta, t.PodMeta, t.Spec, t.SpecPath = "DaemonSet", &o.ObjectMeta, &o.Spec.Template.ObjectMeta, &o.Spec.Template.Spec, templateSpecPath
	case *appsv1.ReplicaSet:
		t.Kind, t.Meta, t.PodMeta, t.Spec, t.SpecPath = "ReplicaSet", &o.ObjectMeta, &o.Spec.Template.ObjectMeta, &o.Spec.Template.Spec, templateSpecPath
		t.Replicas = replicas(o.Spec.Replicas)
	case *batchv1.Job:
		t.Kind, t.Meta, t.PodMeta, t.Spec, t.SpecPath = "Job", &o.ObjectMeta, &o.Spec.Template.ObjectMeta, &o.Spec.Template.Spec, templateSpecPath
	case *batchv1.CronJob:
		t.Kind, t.Meta, t.PodMeta, t.Spec, t.SpecPath = "CronJob", &o.ObjectMeta, &o.Spec.JobTemplate.Spec.Template.ObjectMeta, &o.Spec.JobTemplate.Spec.Template.Spec, cronJobSpecPath
	case *policyv1.PodDisruptionBudget:
		t.Kind, t.Meta = "PodDisruptionBudget", &o.ObjectMeta
	case *autoscalingv2.HorizontalPodAutoscaler:
		t.Kind, t.Meta = "HorizontalPodAutoscaler", &o.ObjectMeta
	case *corev1.Namespace:
		t.Kind, t.Meta = "Namespace", &o.ObjectMeta
	case *corev1.ConfigMap:
		t.Kind, t.Meta = "ConfigMap", &o.ObjectMeta
	default:
		return nil, fmt.Errorf("plimsoll does not judge %s", describeGVK(obj.GetObjectKind().GroupVersionKind()))
	}
	return t, nil
}

// replicas applies the API server's default of one replica.
func replicas(r *int32) *int32 {
	if r == nil {
		one := int32(1)
		return &one
	}
	return r
}

// Batch reports whether the template's Pods run to completion (Job, CronJob,
// or a Pod whose trusted owner is a Job): probes make no sense there.
func (t *Template) Batch() bool {
	switch t.Kind {
	case "Job", "CronJob":
		return true
	case "Pod":
		ref := Controller(t.Meta)
		return t.OwnerTrusted && ref != nil && ref.Kind == "Job" && strings.HasPrefix(ref.APIVersion, "batch/")
	}
	return false
}

// Windows reports whether the Pods declare the Windows operating system,
// where Linux-only securityContext fields are forbidden.
func (t *Template) Windows() bool {
	return t.Spec != nil && t.Spec.OS != nil && t.Spec.OS.Name == corev1.Windows
}

// Describe names the object for a person: `Deployment "web"`, or
// `Pod "web-7d9f-*"` for a Pod that only has a generateName yet.
func (t *Template) Describe() string {
	return fmt.Sprintf("%s %q", t.Kind, Name(t.Meta))
}

// Name returns the object's name, or its generateName followed by "*".
func Name(m *metav1.ObjectMeta) string {
	if m.Name != "" {
		return m.Name
	}
	if m.GenerateName != "" {
		return m.GenerateName + "*"
	}
	return "(unnamed)"
}
