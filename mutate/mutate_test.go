package mutate_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"

	"github.com/plimsoll/plimsoll/mutate"
	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/workload"
)

// quantities compares resource quantities by value, not by how they were
// written.
var quantities = cmp.Comparer(func(a, b resource.Quantity) bool { return a.Cmp(b) == 0 })

func ch(f mutate.Family, container, field string) mutate.Change {
	return mutate.Change{Family: f, Container: container, Field: field}
}

// resources is what the resources family writes on a container that sets
// nothing.
func resources(c string) mutate.Changes {
	return mutate.Changes{
		ch(mutate.Resources, c, "resources.requests.cpu"),
		ch(mutate.Resources, c, "resources.limits.cpu"),
		ch(mutate.Resources, c, "resources.requests.memory"),
		ch(mutate.Resources, c, "resources.limits.memory"),
	}
}

func probes(c string) mutate.Changes {
	return mutate.Changes{
		ch(mutate.Probes, c, "readinessProbe"),
		ch(mutate.Probes, c, "livenessProbe"),
		ch(mutate.Probes, c, "startupProbe"),
	}
}

func ape(c string) mutate.Change {
	return ch(mutate.SecurityContext, c, "securityContext.allowPrivilegeEscalation")
}

func dropAll(c string) mutate.Change {
	return ch(mutate.SecurityContext, c, "securityContext.capabilities.drop")
}

func nonRoot(c string) mutate.Change {
	return ch(mutate.SecurityContext, c, "securityContext.runAsNonRoot")
}

// hardened is what the securityContext family writes on a container that
// sets nothing.
func hardened(c string) mutate.Changes { return mutate.Changes{ape(c), dropAll(c), nonRoot(c)} }

var seccomp = ch(mutate.SecurityContext, "", "securityContext.seccompProfile")

func join(parts ...any) mutate.Changes {
	var out mutate.Changes
	for _, p := range parts {
		switch p := p.(type) {
		case mutate.Change:
			out = append(out, p)
		case mutate.Changes:
			out = append(out, p...)
		default:
			panic("join: not a change")
		}
	}
	return out
}

// fixtures maps each directory under testdata to the changes defaulting
// reports for its in.yaml.
var fixtures = map[string]mutate.Changes{
	"bare-nginx":                  join(resources("nginx"), probes("nginx"), hardened("nginx"), seccomp),
	"request-above-default-limit": join(ch(mutate.Resources, "app", "resources.limits.cpu"), ch(mutate.Resources, "app", "resources.limits.memory"), hardened("app"), seccomp),
	"only-limits":                 join(hardened("app"), seccomp),
	"user-values-kept":            nil,
	"partly-set-values-are-completed": join(
		ch(mutate.Resources, "web", "resources.limits.cpu"),
		ch(mutate.Resources, "web", "resources.requests.memory"),
		ch(mutate.Resources, "web", "resources.limits.memory"),
		ch(mutate.Probes, "web", "livenessProbe"),
		ch(mutate.Probes, "web", "startupProbe"),
		ape("web"), dropAll("web"), seccomp,
	),
	"no-tcp-port":                        join(resources("worker"), hardened("worker"), seccomp),
	"udp-only-port":                      join(resources("dns"), hardened("dns"), seccomp),
	"first-tcp-port-is-probed":           join(resources("dns"), probes("dns"), hardened("dns"), seccomp),
	"init-container":                     join(resources("migrate"), resources("app"), hardened("migrate"), hardened("app"), seccomp),
	"restartable-sidecar":                join(resources("proxy"), resources("web"), probes("proxy"), probes("web"), hardened("proxy"), hardened("web"), seccomp),
	"ephemeral-container":                join(resources("app"), hardened("app"), seccomp),
	"run-as-user-zero-on-pod":            join(ape("app"), dropAll("app"), seccomp),
	"run-as-user-zero-on-container":      join(ape("app"), dropAll("app"), seccomp),
	"run-as-non-root-false-on-pod":       join(ape("app"), dropAll("app"), seccomp),
	"run-as-non-root-false-on-container": join(ape("app"), dropAll("app"), seccomp),
	"privileged-container":               join(nonRoot("app"), seccomp),
	"capabilities-added":                 join(ch(mutate.SecurityContext, "app", "securityContext.allowPrivilegeEscalation"), nonRoot("app"), seccomp),
	"seccomp-on-container":               join(hardened("app"), seccomp),
	"windows-pod":                        join(resources("iis"), probes("iis"), nonRoot("iis")),
	"job-owned-pod":                      join(resources("report"), hardened("report"), seccomp),
	"pod-level-resources":                join(hardened("app"), hardened("helper"), seccomp),
	"pod-level-cpu-only":                 join(ch(mutate.Resources, "app", "resources.requests.memory"), ch(mutate.Resources, "app", "resources.limits.memory"), hardened("app"), seccomp),
	"reinvoked-after-another-webhook":    join(resources("logger"), hardened("logger")),
}

func readPod(t *testing.T, path string) *corev1.Pod {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{}
	if err := yaml.UnmarshalStrict(data, pod); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return pod
}

// defaultPod runs what the webhook runs on a Pod CREATE: the built-in
// defaults, then the annotation. The fixtures are Pods as the controllers
// they name would send them, so their owners are trusted.
func defaultPod(t *testing.T, pod *corev1.Pod, d policy.Defaults) mutate.Changes {
	t.Helper()
	tpl, err := workload.Find(pod)
	if err != nil {
		t.Fatal(err)
	}
	tpl.OwnerTrusted = true
	cs := mutate.Template(tpl, d)
	mutate.Annotate(&pod.ObjectMeta, cs)
	return cs
}

func fixtureDirs(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range entries {
		if e.IsDir() {
			dirs = append(dirs, e.Name())
		}
	}
	if len(dirs) == 0 {
		t.Fatal("no fixtures under testdata")
	}
	return dirs
}

// A Pod that names a Job as its controller but was not sent by the Job
// controller is defaulted like any long-running Pod: claiming a Job owner
// must not be a way to go without probes.
func TestAPodThatClaimsAJobOwnerIsProbedLikeAnyOther(t *testing.T) {
	pod := readPod(t, filepath.Join("testdata", "job-owned-pod", "in.yaml"))
	tpl, err := workload.Find(pod)
	if err != nil {
		t.Fatal(err)
	}
	// tpl.OwnerTrusted stays false: nobody vouched for the owner.
	cs := mutate.Template(tpl, policy.Default().Defaults)
	if !slices.Contains(cs.Families(), mutate.Probes) {
		t.Errorf("a Pod whose Job owner nobody vouched for got no probes; changes: %v", cs)
	}
}

func TestEveryFixtureHasExpectedChanges(t *testing.T) {
	dirs := fixtureDirs(t)
	for _, d := range dirs {
		if _, ok := fixtures[d]; !ok {
			t.Errorf("testdata/%s has no entry in fixtures", d)
		}
	}
	for name := range fixtures {
		if !slices.Contains(dirs, name) {
			t.Errorf("fixtures names %s, which has no directory under testdata", name)
		}
	}
}

func TestTemplateDefaultsEachFixtureToItsExpectedPod(t *testing.T) {
	for _, dir := range fixtureDirs(t) {
		t.Run(dir, func(t *testing.T) {
			pod := readPod(t, filepath.Join("testdata", dir, "in.yaml"))
			want := readPod(t, filepath.Join("testdata", dir, "out.yaml"))

			got := defaultPod(t, pod, policy.Default().Defaults)

			if diff := cmp.Diff(want, pod, quantities); diff != "" {
				t.Errorf("defaulted Pod (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(fixtures[dir], got); diff != "" {
				t.Errorf("Changes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDefaultingTwiceEqualsDefaultingOnce(t *testing.T) {
	for _, dir := range fixtureDirs(t) {
		t.Run(dir, func(t *testing.T) {
			pod := readPod(t, filepath.Join("testdata", dir, "in.yaml"))
			defaultPod(t, pod, policy.Default().Defaults)
			once := pod.DeepCopy()

			again := defaultPod(t, pod, policy.Default().Defaults)

			if len(again) != 0 {
				t.Errorf("second pass reported changes: %v", again)
			}
			if diff := cmp.Diff(once, pod, quantities); diff != "" {
				t.Errorf("second pass changed the Pod (-once +twice):\n%s", diff)
			}
		})
	}
}

func TestDefaultedPodsNeverLimitBelowTheirRequest(t *testing.T) {
	for _, dir := range fixtureDirs(t) {
		t.Run(dir, func(t *testing.T) {
			pod := readPod(t, filepath.Join("testdata", dir, "in.yaml"))
			defaultPod(t, pod, policy.Default().Defaults)
			tpl, err := workload.Find(pod)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range workload.Containers(tpl.Spec, tpl.SpecPath) {
				for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
					req, hasReq := c.Resources.Requests[name]
					limit, hasLimit := c.Resources.Limits[name]
					if hasReq && hasLimit && limit.Cmp(req) < 0 {
						t.Errorf("%s: %s limit %s is below its request %s", c.Path, name, limit.String(), req.String())
					}
				}
			}
		})
	}
}

func TestTemplateFollowsThePolicy(t *testing.T) {
	custom := func(edit func(*policy.Defaults)) policy.Defaults {
		d := policy.Default().Defaults
		edit(&d)
		return d
	}
	tests := []struct {
		name     string
		defaults policy.Defaults
		want     mutate.Changes
		check    func(t *testing.T, c *corev1.Container)
	}{
		{
			name: "probes of type http GET the policy's path on the first TCP port, startup included",
			defaults: custom(func(d *policy.Defaults) {
				d.Probes.Type = policy.ProbeHTTP
				d.Probes.Path = "/livez"
			}),
			want: join(resources("nginx"), probes("nginx"), hardened("nginx"), seccomp),
			check: func(t *testing.T, c *corev1.Container) {
				for name, p := range map[string]*corev1.Probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe, "startup": c.StartupProbe} {
					if p == nil || p.HTTPGet == nil || p.TCPSocket != nil || p.HTTPGet.Path != "/livez" || p.HTTPGet.Port.IntValue() != 80 || p.HTTPGet.Scheme != corev1.URISchemeHTTP {
						t.Errorf("%s probe = %+v, want httpGet /livez on port 80", name, p)
					}
				}
				if c.StartupProbe.FailureThreshold != 60 || c.StartupProbe.PeriodSeconds != 5 {
					t.Errorf("startup probe gives %d×%ds to start, want 60×5s", c.StartupProbe.FailureThreshold, c.StartupProbe.PeriodSeconds)
				}
			},
		},
		{
			name:     "the baseline profile writes only allowPrivilegeEscalation and seccomp",
			defaults: custom(func(d *policy.Defaults) { d.SecurityContext.Profile = policy.Baseline }),
			want:     join(resources("nginx"), probes("nginx"), mutate.Changes{ape("nginx")}, seccomp),
			check: func(t *testing.T, c *corev1.Container) {
				if sc := c.SecurityContext; sc == nil || sc.RunAsNonRoot != nil || sc.Capabilities != nil {
					t.Errorf("securityContext = %+v, want no runAsNonRoot and no capabilities", sc)
				}
			},
		},
		{
			name:     "readOnlyRootFilesystem is written only when the policy opts in",
			defaults: custom(func(d *policy.Defaults) { d.SecurityContext.ReadOnlyRootFilesystem = true }),
			want: join(resources("nginx"), probes("nginx"), hardened("nginx"),
				mutate.Changes{ch(mutate.SecurityContext, "nginx", "securityContext.readOnlyRootFilesystem")}, seccomp),
			check: func(t *testing.T, c *corev1.Container) {
				if sc := c.SecurityContext; sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
					t.Errorf("securityContext = %+v, want readOnlyRootFilesystem true", sc)
				}
			},
		},
		{
			name:     "a disabled resources family writes no resources",
			defaults: custom(func(d *policy.Defaults) { d.Resources.Enabled = false }),
			want:     join(probes("nginx"), hardened("nginx"), seccomp),
			check: func(t *testing.T, c *corev1.Container) {
				if c.Resources.Requests != nil || c.Resources.Limits != nil {
					t.Errorf("resources = %v, want none", c.Resources)
				}
			},
		},
		{
			name:     "a disabled probes family writes no probes",
			defaults: custom(func(d *policy.Defaults) { d.Probes.Enabled = false }),
			want:     join(resources("nginx"), hardened("nginx"), seccomp),
			check: func(t *testing.T, c *corev1.Container) {
				if c.ReadinessProbe != nil || c.LivenessProbe != nil {
					t.Errorf("probes written: readiness %v, liveness %v", c.ReadinessProbe, c.LivenessProbe)
				}
			},
		},
		{
			name:     "a disabled securityContext family writes no securityContext",
			defaults: custom(func(d *policy.Defaults) { d.SecurityContext.Enabled = false }),
			want:     join(resources("nginx"), probes("nginx")),
			check: func(t *testing.T, c *corev1.Container) {
				if c.SecurityContext != nil {
					t.Errorf("securityContext = %v, want none", c.SecurityContext)
				}
			},
		},
		{
			name: "the policy's values are the ones written",
			defaults: custom(func(d *policy.Defaults) {
				d.Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m")}
				d.Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")}
				d.Probes.Readiness = policy.ProbeTiming{InitialDelaySeconds: 2, PeriodSeconds: 3}
				d.Probes.Liveness = policy.ProbeTiming{InitialDelaySeconds: 60, PeriodSeconds: 20}
			}),
			want: join(
				ch(mutate.Resources, "nginx", "resources.requests.cpu"),
				ch(mutate.Resources, "nginx", "resources.limits.memory"),
				probes("nginx"), hardened("nginx"), seccomp,
			),
			check: func(t *testing.T, c *corev1.Container) {
				want := corev1.ResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m")},
					Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")},
				}
				if diff := cmp.Diff(want, c.Resources, quantities); diff != "" {
					t.Errorf("resources (-want +got):\n%s", diff)
				}
				got := [4]int32{c.ReadinessProbe.InitialDelaySeconds, c.ReadinessProbe.PeriodSeconds, c.LivenessProbe.InitialDelaySeconds, c.LivenessProbe.PeriodSeconds}
				if got != [4]int32{2, 3, 60, 20} {
					t.Errorf("probe timings = %v, want [2 3 60 20]", got)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := readPod(t, filepath.Join("testdata", "bare-nginx", "in.yaml"))
			tpl, err := workload.Find(pod)
			if err != nil {
				t.Fatal(err)
			}
			got := mutate.Template(tpl, tt.defaults)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Changes (-want +got):\n%s", diff)
			}
			tt.check(t, &pod.Spec.Containers[0])
		})
	}
}

func TestChangesFamilies(t *testing.T) {
	tests := []struct {
		name string
		cs   mutate.Changes
		want []mutate.Family
	}{
		{"no changes name no family", nil, nil},
		{"families come in application order whatever the order of changes", join(seccomp, probes("web"), resources("web")), []mutate.Family{mutate.Resources, mutate.Probes, mutate.SecurityContext}},
		{"a family is named once however many changes it made", join(hardened("a"), hardened("b")), []mutate.Family{mutate.SecurityContext}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.cs.Families()); diff != "" {
				t.Errorf("Families (-want +got):\n%s", diff)
			}
		})
	}
}
