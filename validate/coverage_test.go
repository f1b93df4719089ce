package validate

import (
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

// TestRulesVisitTheContainersTheyMustAndOnlyThose pins, per rule, which
// kinds of container it judges: the bug every peer project has had once is
// a rule that forgot one.
func TestRulesVisitTheContainersTheyMustAndOnlyThose(t *testing.T) {
	const (
		init      = "spec.initContainers[0]"
		sidecar   = "spec.initContainers[1]"
		app       = "spec.containers[0]"
		ephemeral = "spec.ephemeralContainers[0]"
	)
	tests := []struct {
		name string
		rule *Rule
		want []string
	}{
		{"cpu-limits skips ephemeral containers, which cannot have resources", cpuLimits,
			[]string{init + ".resources.limits.cpu", sidecar + ".resources.limits.cpu", app + ".resources.limits.cpu"}},
		{"cpu-requests skips ephemeral containers", cpuRequests,
			[]string{init + ".resources.requests.cpu", sidecar + ".resources.requests.cpu", app + ".resources.requests.cpu"}},
		{"memory-limits skips ephemeral containers", memoryLimits,
			[]string{init + ".resources.limits.memory", sidecar + ".resources.limits.memory", app + ".resources.limits.memory"}},
		{"memory-requests skips ephemeral containers", memoryRequests,
			[]string{init + ".resources.requests.memory", sidecar + ".resources.requests.memory", app + ".resources.requests.memory"}},
		{"image-tag checks every container, ephemeral ones included", imageTag,
			[]string{init + ".image", sidecar + ".image", app + ".image", ephemeral + ".image"}},
		{"privileged checks ephemeral containers", privileged,
			[]string{ephemeral + ".securityContext.privileged"}},
		{"privilege-escalation checks every container but the privileged ephemeral one, left to the privileged rule", privilegeEscalation,
			[]string{init + ".securityContext.allowPrivilegeEscalation", sidecar + ".securityContext.allowPrivilegeEscalation", app + ".securityContext.allowPrivilegeEscalation"}},
		{"run-as-non-root checks every container", runAsNonRoot,
			[]string{init + ".securityContext.runAsNonRoot", sidecar + ".securityContext.runAsNonRoot", app + ".securityContext.runAsNonRoot", ephemeral + ".securityContext.runAsNonRoot"}},
		{"liveness-probe asks only regular containers", livenessProbe, []string{app + ".livenessProbe"}},
		{"readiness-probe asks only regular containers", readinessProbe, []string{app + ".readinessProbe"}},
		{"capabilities checks every container but the privileged ephemeral one, left to the privileged rule", capabilities,
			[]string{init + ".securityContext.capabilities.drop", sidecar + ".securityContext.capabilities.drop", app + ".securityContext.capabilities.drop"}},
		{"seccomp-profile checks every container, ephemeral ones included", seccompProfile,
			[]string{init + ".securityContext.seccompProfile", sidecar + ".securityContext.seccompProfile", app + ".securityContext.seccompProfile", ephemeral + ".securityContext.seccompProfile"}},
		{"read-only-root-filesystem skips ephemeral containers, which debug", readOnlyRootFilesystem,
			[]string{init + ".securityContext.readOnlyRootFilesystem", sidecar + ".securityContext.readOnlyRootFilesystem", app + ".securityContext.readOnlyRootFilesystem"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tpl := findTemplate(t, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: bareSpec()})
			if diff := cmp.Diff(tt.want, findingPaths(tt.rule.Check(tpl, policy.Default()))); diff != "" {
				t.Errorf("finding paths (-want +got):\n%s", diff)
			}
		})
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

// TestContainerRulesVisitEveryKindOfContainer pins, for the rules that
// judge a risky value wherever it is, which kinds of container they visit.
func TestContainerRulesVisitEveryKindOfContainer(t *testing.T) {
	every := func(suffix string) []string {
		return []string{"spec.initContainers[0]" + suffix, "spec.initContainers[1]" + suffix, "spec.containers[0]" + suffix, "spec.ephemeralContainers[0]" + suffix}
	}
	tests := []struct {
		name string
		rule *Rule
		want []string
	}{
		{"capabilities refuses an added capability in every container", capabilities, every(".securityContext.capabilities.add")},
		{"seccomp-profile refuses Unconfined in every container", seccompProfile, every(".securityContext.seccompProfile.type")},
		{"apparmor refuses Unconfined in every container", apparmor, every(".securityContext.appArmorProfile.type")},
		{"selinux refuses a foreign type in every container", selinux, every(".securityContext.seLinuxOptions.type")},
		{"proc-mount refuses Unmasked in every container", procMount, every(".securityContext.procMount")},
		{"host-process refuses hostProcess in every container", hostProcess, every(".securityContext.windowsOptions.hostProcess")},
		{"host-port refuses a hostPort in every container", hostPort, every(".ports[0].hostPort")},
		{"secret-env finds a literal secret in every container", secretEnv, every(".env[0].value")},
		{"probe-host refuses a probe host in every container, as Pod Security does", probeHost,
			[]string{
				"spec.initContainers[0].livenessProbe.httpGet.host", "spec.initContainers[0].readinessProbe.httpGet.host",
				"spec.initContainers[1].livenessProbe.httpGet.host", "spec.initContainers[1].readinessProbe.httpGet.host",
				"spec.containers[0].livenessProbe.httpGet.host", "spec.containers[0].readinessProbe.httpGet.host",
				"spec.ephemeralContainers[0].livenessProbe.httpGet.host", "spec.ephemeralContainers[0].readinessProbe.httpGet.host",
			}},
		{"probe-port checks the probes of every container that has them", probePort,
			[]string{
				"spec.initContainers[0].livenessProbe.httpGet.port", "spec.initContainers[0].readinessProbe.httpGet.port",
				"spec.initContainers[1].livenessProbe.httpGet.port", "spec.initContainers[1].readinessProbe.httpGet.port",
				"spec.containers[0].livenessProbe.httpGet.port", "spec.containers[0].readinessProbe.httpGet.port",
				"spec.ephemeralContainers[0].livenessProbe.httpGet.port", "spec.ephemeralContainers[0].readinessProbe.httpGet.port",
			}},
		{"probes-identical compares the probes of every container that has them", probesIdentical, every(".livenessProbe")},
		{"read-only-root-filesystem skips ephemeral containers", readOnlyRootFilesystem, every(".securityContext.readOnlyRootFilesystem")[:3]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tpl := findTemplate(t, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: riskySpec()})
			if diff := cmp.Diff(tt.want, findingPaths(tt.rule.Check(tpl, policy.Default()))); diff != "" {
				t.Errorf("finding paths (-want +got):\n%s", diff)
			}
		})
	}
}

// TestWindowsPodsAreExemptFromLinuxOnlyRules: the API forbids these fields
// on Windows, so asking for them would be advice nobody can follow.
func TestWindowsPodsAreExemptFromLinuxOnlyRules(t *testing.T) {
	for _, r := range []*Rule{capabilities, seccompProfile, readOnlyRootFilesystem, privilegeEscalation} {
		t.Run(r.ID, func(t *testing.T) {
			spec := bareSpec()
			spec.OS = &corev1.PodOS{Name: corev1.Windows}
			tpl := findTemplate(t, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "iis"}, Spec: spec})
			if got := r.Check(tpl, policy.Default()); len(got) != 0 {
				t.Errorf("findings on a Windows Pod: %v", findingPaths(got))
			}
		})
	}
}

func TestProbeRulesSkipWorkloadsThatRunToCompletion(t *testing.T) {
	spec := corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app:1.0"}}}
	yes := true
	jobPod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{OwnerReferences: []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: "j", Controller: &yes}}},
		Spec:       spec,
	}
	tests := []struct {
		name    string
		obj     runtime.Object
		trusted bool // the request came from the owner's controller
		wants   bool
	}{
		{"a Job is not asked for probes", &batchv1.Job{Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: spec}}}, false, false},
		{"a CronJob is not asked for probes", &batchv1.CronJob{Spec: batchv1.CronJobSpec{JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: spec}}}}}, false, false},
		{"a Pod the Job controller made is not asked for probes", jobPod, true, false},
		{"a Pod that only claims a Job owner is asked for probes", jobPod, false, true},
		{"a bare Pod is asked for probes", &corev1.Pod{Spec: spec}, false, true},
		{"a Deployment is asked for probes", &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: spec}}}, false, true},
		{"a StatefulSet is asked for probes", &appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{Template: corev1.PodTemplateSpec{Spec: spec}}}, false, true},
		{"a DaemonSet is asked for probes", &appsv1.DaemonSet{Spec: appsv1.DaemonSetSpec{Template: corev1.PodTemplateSpec{Spec: spec}}}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, r := range []*Rule{livenessProbe, readinessProbe} {
				tpl := findTemplate(t, tt.obj.DeepCopyObject())
				tpl.OwnerTrusted = tt.trusted
				got := len(r.Check(tpl, policy.Default())) > 0
				if got != tt.wants {
					t.Errorf("%s: finding = %v, want %v", r.ID, got, tt.wants)
				}
			}
		})
	}
}

func TestPodLevelResourcesSatisfyTheResourceRules(t *testing.T) {
	type budget struct{ requests, limits corev1.ResourceList }
	cpu := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}
	tests := []struct {
		name   string
		budget budget
		// want lists the rules that still find the container lacking.
		want []string
	}{
		{"a pod-level cpu limit satisfies both cpu rules", budget{limits: cpu}, []string{"memory-limits", "memory-requests"}},
		{"a pod-level cpu request satisfies both cpu rules, as defaulting leaves cpu to the pod", budget{requests: cpu}, []string{"memory-limits", "memory-requests"}},
		{"a pod-level cpu request and limit satisfy both", budget{requests: cpu, limits: cpu}, []string{"memory-limits", "memory-requests"}},
		{"no pod-level budget satisfies nothing", budget{}, []string{"cpu-limits", "cpu-requests", "memory-limits", "memory-requests"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}}}}
			if tt.budget.requests != nil || tt.budget.limits != nil {
				pod.Spec.Resources = &corev1.ResourceRequirements{Requests: tt.budget.requests, Limits: tt.budget.limits}
			}
			tpl := findTemplate(t, pod)
			var got []string
			for _, r := range []*Rule{cpuLimits, cpuRequests, memoryLimits, memoryRequests} {
				if len(r.Check(tpl, policy.Default())) > 0 {
					got = append(got, r.ID)
				}
			}
			slices.Sort(got)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("rules that find something (-want +got):\n%s", diff)
			}
		})
	}
}
