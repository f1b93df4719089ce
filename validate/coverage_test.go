package validate

// The mechanics of coverage expectations: which kinds of container, and
// which kinds of object, a rule judges. The bug every peer project has had
// once is a rule that forgot one. Each rule states its own expectations in
// rule_<id>_test.go with the helpers below; nothing here is about one rule.

import (
	"maps"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/workload"
)

// The containers of bareSpec and riskySpec, in walking order.
const (
	initPath      = "spec.initContainers[0]"      // init container "init"
	sidecarPath   = "spec.initContainers[1]"      // sidecar container "proxy"
	appPath       = "spec.containers[0]"          // container "app"
	ephemeralPath = "spec.ephemeralContainers[0]" // ephemeral container "debugger"
)

// allContainers are the paths of every container of bareSpec and riskySpec.
var allContainers = []string{initPath, sidecarPath, appPath, ephemeralPath}

// fieldIn returns the path of the field at suffix in each container.
func fieldIn(suffix string, containers ...string) []string {
	out := make([]string, len(containers))
	for i, c := range containers {
		out[i] = c + suffix
	}
	return out
}

// bareSpec has one container of each type, none of which sets resources,
// probes or a securityContext, all on :latest.
func bareSpec() corev1.PodSpec {
	always := corev1.ContainerRestartPolicyAlways
	priv := true
	return corev1.PodSpec{
		InitContainers: []corev1.Container{
			{Name: "init", Image: "busybox:latest"},
			{Name: "proxy", Image: "envoy:latest", RestartPolicy: &always},
		},
		Containers: []corev1.Container{{Name: "app", Image: "app:latest"}},
		EphemeralContainers: []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
			Name: "debugger", Image: "busybox:latest",
			SecurityContext: &corev1.SecurityContext{Privileged: &priv},
		}}},
	}
}

// riskySpec has one container of each type, each setting every risky
// value a container-level rule looks for (but not privileged, which some
// rules leave to the privileged rule).
func riskySpec() corev1.PodSpec {
	always := corev1.ContainerRestartPolicyAlways
	unmasked := corev1.UnmaskedProcMount
	yes, no := true, false
	risky := func(name string) corev1.Container {
		probe := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Host: "10.0.0.1", Port: intstr.FromInt32(8080)}}}
		return corev1.Container{
			Name:           name,
			Image:          name + ":1.0",
			Ports:          []corev1.ContainerPort{{ContainerPort: 80, HostPort: 80}},
			Env:            []corev1.EnvVar{{Name: "API_TOKEN", Value: "t0ps3cret"}},
			LivenessProbe:  probe,
			ReadinessProbe: probe.DeepCopy(),
			SecurityContext: &corev1.SecurityContext{
				Capabilities:           &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}, Add: []corev1.Capability{"SYS_ADMIN"}},
				SeccompProfile:         &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined},
				AppArmorProfile:        &corev1.AppArmorProfile{Type: corev1.AppArmorProfileTypeUnconfined},
				SELinuxOptions:         &corev1.SELinuxOptions{Type: "spc_t"},
				ProcMount:              &unmasked,
				WindowsOptions:         &corev1.WindowsSecurityContextOptions{HostProcess: &yes},
				ReadOnlyRootFilesystem: &no,
			},
		}
	}
	sidecar := risky("proxy")
	sidecar.RestartPolicy = &always
	return corev1.PodSpec{
		InitContainers:      []corev1.Container{risky("init"), sidecar},
		Containers:          []corev1.Container{risky("app")},
		EphemeralContainers: []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon(risky("debugger"))}},
	}
}

func findTemplate(t *testing.T, obj runtime.Object) *workload.Template {
	t.Helper()
	tpl, err := workload.Find(obj)
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

func findingPaths(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Path)
	}
	return out
}

// expectPathsOn checks the exact paths, in order, of what rule id finds
// on a Pod "web" of spec.
func expectPathsOn(t *testing.T, id, name string, spec corev1.PodSpec, want []string) {
	t.Helper()
	r := ruleByID(t, id)
	t.Run(name, func(t *testing.T) {
		tpl := findTemplate(t, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: spec})
		if diff := cmp.Diff(want, findingPaths(r.Check(tpl, policy.Default()))); diff != "" {
			t.Errorf("%s finding paths (-want +got):\n%s", id, diff)
		}
	})
}

// expectBareFindings checks the exact paths rule id finds on bareSpec,
// where no container sets anything: which kinds of container it asks for
// what they lack.
func expectBareFindings(t *testing.T, id string, want ...string) {
	t.Helper()
	expectPathsOn(t, id, "on a bare spec", bareSpec(), want)
}

// expectRiskyFindings checks the exact paths rule id finds on riskySpec,
// where every container sets every risky value: which kinds of container
// it refuses them in.
func expectRiskyFindings(t *testing.T, id string, want ...string) {
	t.Helper()
	expectPathsOn(t, id, "on a risky spec", riskySpec(), want)
}

// expectNothingOnWindows checks that rule id finds nothing on a Windows
// Pod of bareSpec: the API forbids the Linux-only fields it asks for
// there, so asking would be advice nobody can follow.
func expectNothingOnWindows(t *testing.T, id string) {
	t.Helper()
	r := ruleByID(t, id)
	t.Run("on a Windows Pod", func(t *testing.T) {
		spec := bareSpec()
		spec.OS = &corev1.PodOS{Name: corev1.Windows}
		tpl := findTemplate(t, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "iis"}, Spec: spec})
		if got := r.Check(tpl, policy.Default()); len(got) != 0 {
			t.Errorf("findings on a Windows Pod: %v", findingPaths(got))
		}
	})
}

// namedObject is an object for a rule to judge, as the webhook finds it.
type namedObject struct {
	name    string
	obj     runtime.Object
	trusted bool // the request came from the owner's controller (Template.OwnerTrusted)
}

// expectFindsOn runs rule id over each object with the built-in policy.
// want says, for every object by name and for no other, whether the rule
// finds something there.
func expectFindsOn(t *testing.T, id string, objects []namedObject, want map[string]bool) {
	t.Helper()
	r := ruleByID(t, id)
	var names []string
	for _, o := range objects {
		names = append(names, o.name)
		wants, ok := want[o.name]
		if !ok {
			t.Errorf("no expectation for %q", o.name)
			continue
		}
		t.Run(o.name, func(t *testing.T) {
			tpl := findTemplate(t, o.obj.DeepCopyObject())
			tpl.OwnerTrusted = o.trusted
			if got := len(r.Check(tpl, policy.Default())) > 0; got != wants {
				t.Errorf("%s finds something = %v, want %v", id, got, wants)
			}
		})
	}
	for _, name := range slices.Sorted(maps.Keys(want)) {
		if !slices.Contains(names, name) {
			t.Errorf("an expectation for %q, which is none of the objects %q", name, names)
		}
	}
}

// runToCompletionObjects are workloads whose Pods run to completion (Job,
// CronJob, a Pod a believed Job controller made) and workloads whose Pods
// run on, for the rules that ask only the latter for probes.
func runToCompletionObjects() []namedObject {
	spec := corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app:1.0"}}}
	yes := true
	jobPod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{OwnerReferences: []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: "j", Controller: &yes}}},
		Spec:       spec,
	}
	return []namedObject{
		{"a Job", &batchv1.Job{Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: spec}}}, false},
		{"a CronJob", &batchv1.CronJob{Spec: batchv1.CronJobSpec{JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: spec}}}}}, false},
		{"a Pod the Job controller made", jobPod, true},
		{"a Pod that only claims a Job owner", jobPod, false},
		{"a bare Pod", &corev1.Pod{Spec: spec}, false},
		{"a Deployment", &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: spec}}}, false},
		{"a StatefulSet", &appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{Template: corev1.PodTemplateSpec{Spec: spec}}}, false},
		{"a DaemonSet", &appsv1.DaemonSet{Spec: appsv1.DaemonSetSpec{Template: corev1.PodTemplateSpec{Spec: spec}}}, false},
	}
}

// podBudgetObjects are Pods of one container "app" that sets no
// resources, under each pod-level budget (spec.resources), for the
// resource rules.
func podBudgetObjects() []namedObject {
	cpu := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}
	withBudget := func(requests, limits corev1.ResourceList) *corev1.Pod {
		pod := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}}}}
		if requests != nil || limits != nil {
			pod.Spec.Resources = &corev1.ResourceRequirements{Requests: requests, Limits: limits}
		}
		return pod
	}
	return []namedObject{
		{name: "a pod-level cpu limit", obj: withBudget(nil, cpu)},
		{name: "a pod-level cpu request", obj: withBudget(cpu, nil)},
		{name: "a pod-level cpu request and limit", obj: withBudget(cpu, cpu)},
		{name: "no pod-level budget", obj: withBudget(nil, nil)},
	}
}

// replicaObjects are workloads of every replica count, spread and not,
// for the rules about a workload's replicas.
func replicaObjects() []namedObject {
	spec := func() corev1.PodTemplateSpec {
		return corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx:1.27"}}},
		}
	}
	deployment := func(replicas *int32) *appsv1.Deployment {
		return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: appsv1.DeploymentSpec{Replicas: replicas, Template: spec()}}
	}
	spread := func(d *appsv1.Deployment) *appsv1.Deployment {
		d.Spec.Template.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: "kubernetes.io/hostname", WhenUnsatisfiable: corev1.ScheduleAnyway}}
		return d
	}
	antiAffinity := func(d *appsv1.Deployment) *appsv1.Deployment {
		d.Spec.Template.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{TopologyKey: "kubernetes.io/hostname"}},
		}}
		return d
	}
	return []namedObject{
		{name: "a Deployment without replicas runs one", obj: deployment(nil)},
		{name: "a Deployment of one replica", obj: deployment(ptrTo[int32](1))},
		{name: "a Deployment scaled to zero", obj: deployment(ptrTo[int32](0))},
		{name: "two unspread replicas", obj: deployment(ptrTo[int32](2))},
		{name: "three replicas spread by constraints", obj: spread(deployment(ptrTo[int32](3)))},
		{name: "three replicas spread by anti-affinity", obj: antiAffinity(deployment(ptrTo[int32](3)))},
		{name: "a StatefulSet without replicas", obj: &appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{Template: spec()}}},
		{name: "a StatefulSet of five unspread", obj: &appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{Replicas: ptrTo[int32](5), Template: spec()}}},
		{name: "a ReplicaSet is owned by a Deployment, which is judged instead", obj: &appsv1.ReplicaSet{Spec: appsv1.ReplicaSetSpec{Template: spec()}}},
		{name: "a DaemonSet has no replica count", obj: &appsv1.DaemonSet{Spec: appsv1.DaemonSetSpec{Template: spec()}}},
	}
}

// podsOfFailingWorkloads returns the failing fixtures of rule id whose
// Pod, as a controller would create it from the workload's template,
// still breaks the rule. Pod fixtures are their own Pods.
func podsOfFailingWorkloads(t *testing.T, id string) (failing []string) {
	t.Helper()
	r := ruleByID(t, id)
	for _, file := range ruleFixtures(t, id, "fail") {
		run := loadRun(t, file)
		for _, tpl := range run.judged(r) {
			if tpl.Kind != "Pod" {
				tpl = findTemplate(t, podOf(tpl))
				tpl.Meta.Namespace = fixtureNamespace
			}
			if len(run.findings(r, tpl, fixturePolicy(id))) > 0 {
				failing = append(failing, file)
				break
			}
		}
	}
	return failing
}

// expectWorkloadOnly checks that rule id is about a field a Pod does not
// have (its replica count): the Pod each failing workload would create
// passes the rule, so no Pod can fail it and its fail/ fixtures need not
// include one.
func expectWorkloadOnly(t *testing.T, id string) {
	t.Helper()
	t.Run("no Pod can fail it", func(t *testing.T) {
		if len(ruleFixtures(t, id, "fail")) == 0 {
			t.Fatalf("no fixture under testdata/%s/fail/", id)
		}
		if failing := podsOfFailingWorkloads(t, id); len(failing) > 0 {
			t.Errorf("the Pods of these failing fixtures break %s too: %q", id, failing)
		}
	})
}
