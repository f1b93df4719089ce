package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/plimsoll/plimsoll/test/harness"
)

// load decodes a fixture of testdata/.
func load[T client.Object](t *testing.T, name string) T {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(data, nil, nil)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return obj.(T)
}

// newClient returns a client and the warnings it receives.
func newClient(t *testing.T) (client.Client, *harness.Warnings) {
	t.Helper()
	w := &harness.Warnings{}
	cfg := rest.CopyConfig(env.Config)
	cfg.WarningHandler = w
	c, err := client.New(cfg, client.Options{Scheme: scheme.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c, w
}

func in[T client.Object](obj T, ns string) T {
	obj.SetNamespace(ns)
	return obj
}

func TestBarePodInEnforceNamespaceIsStoredWithDefaults(t *testing.T) {
	ctx := context.Background()
	c, _ := newClient(t)
	pod := in(load[*corev1.Pod](t, "bare-nginx-pod.yaml"), enforceNS)
	if err := c.Create(ctx, pod); err != nil {
		t.Fatalf("a bare nginx Pod must be admitted in enforce mode once defaulted: %v", err)
	}
	stored := &corev1.Pod{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(pod), stored); err != nil {
		t.Fatal(err)
	}
	ctr := stored.Spec.Containers[0]
	for name, want := range map[string]string{
		"requests.cpu": "100m", "requests.memory": "128Mi", "limits.cpu": "500m", "limits.memory": "512Mi",
	} {
		list := ctr.Resources.Requests
		if strings.HasPrefix(name, "limits") {
			list = ctr.Resources.Limits
		}
		got := list[corev1.ResourceName(strings.SplitN(name, ".", 2)[1])]
		if got.Cmp(resource.MustParse(want)) != 0 {
			t.Errorf("stored %s = %s, want %s", name, got.String(), want)
		}
	}
	if p := ctr.ReadinessProbe; p == nil || p.TCPSocket == nil || p.TCPSocket.Port.IntValue() != 80 || p.InitialDelaySeconds != 5 || p.PeriodSeconds != 5 {
		t.Errorf("stored readinessProbe = %+v, want TCP on 80, 5s/5s", p)
	}
	if p := ctr.LivenessProbe; p == nil || p.TCPSocket == nil || p.TCPSocket.Port.IntValue() != 80 || p.InitialDelaySeconds != 30 || p.PeriodSeconds != 10 {
		t.Errorf("stored livenessProbe = %+v, want TCP on 80, 30s/10s", p)
	}
	sc := ctr.SecurityContext
	if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot ||
		sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" {
		t.Errorf("stored securityContext = %+v, want allowPrivilegeEscalation false, runAsNonRoot true, drop ALL", sc)
	}
	if psc := stored.Spec.SecurityContext; psc == nil || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("stored pod securityContext = %+v, want seccompProfile RuntimeDefault", psc)
	}
	if got, want := stored.Annotations["plimsoll.dev/mutations"], "probes=nginx; resources=nginx; securityContext=nginx,pod"; got != want {
		t.Errorf("annotation plimsoll.dev/mutations = %q, want %q", got, want)
	}
}

func TestEnforceRefusesPrivilegedPodAndLatestDeployment(t *testing.T) {
	ctx := context.Background()
	c, _ := newClient(t)
	cases := []struct {
		name     string
		obj      client.Object
		mentions []string
	}{
		{"a privileged Pod", load[*corev1.Pod](t, "privileged-pod.yaml"),
			[]string{"plimsoll denied", `Pod "root-shell"`, "[privileged]", `container "shell"`, "spec.containers[0].securityContext.privileged"}},
		{"a Deployment using image :latest", load[*appsv1.Deployment](t, "latest-deployment.yaml"),
			[]string{"plimsoll denied", `Deployment "shop"`, "[image-tag]", `container "frontend"`, "spec.template.spec.containers[0].image", "nginx:<version>"}},
		{"a CronJob with an untagged image", load[client.Object](t, "cronjob-latest.yaml"),
			[]string{"[image-tag]", `container "report"`, "spec.jobTemplate.spec.template.spec.containers[0].image"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := c.Create(ctx, in(tc.obj, enforceNS))
			if !apierrors.IsForbidden(err) {
				t.Fatalf("want Forbidden, got %v", err)
			}
			for _, m := range tc.mentions {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("denial does not mention %q:\n%v", m, err)
				}
			}
			if err := c.Get(ctx, client.ObjectKeyFromObject(tc.obj), tc.obj.DeepCopyObject().(client.Object)); !apierrors.IsNotFound(err) {
				t.Errorf("a refused object must not be stored; Get says %v", err)
			}
		})
	}
}

func TestWarnNamespaceAdmitsWithWarnings(t *testing.T) {
	ctx := context.Background()
	c, warnings := newClient(t)
	dep := in(load[*appsv1.Deployment](t, "latest-deployment.yaml"), warnNS)
	if err := c.Create(ctx, dep); err != nil {
		t.Fatalf("warn mode must admit: %v", err)
	}
	got := strings.Join(warnings.Take(), "\n")
	for _, m := range []string{"[image-tag]", `container "frontend"`, "spec.template.spec.containers[0].image", "enforce mode would deny this"} {
		if !strings.Contains(got, m) {
			t.Errorf("client-go warnings do not mention %q:\n%s", m, got)
		}
	}
}

func TestAuditNamespaceAdmitsUnchangedWithoutWarnings(t *testing.T) {
	ctx := context.Background()
	c, warnings := newClient(t)
	dep := in(load[*appsv1.Deployment](t, "latest-deployment.yaml"), auditNS)
	if err := c.Create(ctx, dep); err != nil {
		t.Fatalf("audit mode must admit: %v", err)
	}
	pod := in(load[*corev1.Pod](t, "privileged-pod.yaml"), auditNS)
	if err := c.Create(ctx, pod); err != nil {
		t.Fatalf("audit mode must admit: %v", err)
	}
	if w := warnings.Take(); len(w) > 0 {
		t.Errorf("audit mode must not warn the client, got %q", w)
	}
	stored := &corev1.Pod{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(pod), stored); err != nil {
		t.Fatal(err)
	}
	assertUntouched(t, stored)
	storedDep := &appsv1.Deployment{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(dep), storedDep); err != nil {
		t.Fatal(err)
	}
	if got := storedDep.Spec.Template.Spec.Containers[0].Image; got != "nginx:latest" {
		t.Errorf("stored image = %q, want it unchanged", got)
	}
}

func assertUntouched(t *testing.T, pod *corev1.Pod) {
	t.Helper()
	if _, ok := pod.Annotations["plimsoll.dev/mutations"]; ok {
		t.Errorf("Pod %s/%s was defaulted: %v", pod.Namespace, pod.Name, pod.Annotations)
	}
	c := pod.Spec.Containers[0]
	if c.Resources.Limits != nil || c.LivenessProbe != nil {
		t.Errorf("Pod %s/%s got defaults: resources %v, liveness %v", pod.Namespace, pod.Name, c.Resources, c.LivenessProbe)
	}
}

func TestUnlabelledNamespaceAndKubeSystemAreUntouched(t *testing.T) {
	ctx := context.Background()
	for _, ns := range []string{unlabelledNS, "kube-system", plimsollNS} {
		t.Run(ns, func(t *testing.T) {
			c, warnings := newClient(t)
			pod := in(load[*corev1.Pod](t, "privileged-pod.yaml"), ns)
			if err := c.Create(ctx, pod); err != nil {
				t.Fatalf("plimsoll must not judge namespace %s: %v", ns, err)
			}
			bare := in(load[*corev1.Pod](t, "bare-nginx-pod.yaml"), ns)
			if err := c.Create(ctx, bare); err != nil {
				t.Fatal(err)
			}
			stored := &corev1.Pod{}
			if err := c.Get(ctx, client.ObjectKeyFromObject(bare), stored); err != nil {
				t.Fatal(err)
			}
			assertUntouched(t, stored)
			if w := warnings.Take(); len(w) > 0 {
				t.Errorf("no warnings expected, got %q", w)
			}
		})
	}
}

func TestServerSideDryRunGetsTheSameVerdictAndStoresNothing(t *testing.T) {
	ctx := context.Background()
	c, _ := newClient(t)
	dry := client.DryRunAll

	priv := in(load[*corev1.Pod](t, "privileged-pod.yaml"), enforceNS)
	priv.Name = "dry-root-shell"
	err := c.Create(ctx, priv, dry)
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "[privileged]") {
		t.Fatalf("dry-run create of a privileged Pod: want the same denial, got %v", err)
	}

	bare := in(load[*corev1.Pod](t, "bare-nginx-pod.yaml"), enforceNS)
	bare.Name = "dry-web"
	if err := c.Create(ctx, bare, dry); err != nil {
		t.Fatalf("dry-run create of a bare Pod: %v", err)
	}
	if bare.Annotations["plimsoll.dev/mutations"] == "" || bare.Spec.Containers[0].Resources.Limits == nil {
		t.Errorf("the dry-run answer must show the defaults, got annotations %v, resources %v", bare.Annotations, bare.Spec.Containers[0].Resources)
	}
	if err := c.Get(ctx, client.ObjectKeyFromObject(bare), &corev1.Pod{}); !apierrors.IsNotFound(err) {
		t.Errorf("a dry-run create must store nothing; Get says %v", err)
	}
}

// Every Deployment the webhook admits yields Pods that it admits too: the
// Pods are built from the stored template as the ReplicaSet controller
// builds them (the test API server runs no controllers).
func TestAdmittedDeploymentsYieldAdmittedPods(t *testing.T) {
	ctx := context.Background()
	c, _ := newClient(t)
	for _, file := range []string{"compliant-deployment.yaml", "bare-deployment.yaml", "windows-deployment.yaml"} {
		t.Run(file, func(t *testing.T) {
			dep := in(load[*appsv1.Deployment](t, file), enforceNS)
			if err := c.Create(ctx, dep); err != nil {
				t.Fatalf("deployment refused: %v", err)
			}
			pod := &corev1.Pod{
				ObjectMeta: *dep.Spec.Template.ObjectMeta.DeepCopy(),
				Spec:       *dep.Spec.Template.Spec.DeepCopy(),
			}
			pod.Namespace = enforceNS
			pod.GenerateName = dep.Name + "-5d8f7c9b6-"
			pod.OwnerReferences = []metav1.OwnerReference{{
				APIVersion: "apps/v1", Kind: "ReplicaSet", Name: dep.Name + "-5d8f7c9b6",
				UID: types.UID("00000000-0000-0000-0000-000000000001"), Controller: ptr(true),
			}}
			if err := c.Create(ctx, pod); err != nil {
				t.Fatalf("the Deployment was admitted but its Pod is refused: %v", err)
			}
			for _, ctr := range pod.Spec.Containers {
				if ctr.Resources.Limits.Cpu().IsZero() || ctr.Resources.Limits.Memory().IsZero() {
					t.Errorf("container %s has no limits after defaulting: %v", ctr.Name, ctr.Resources)
				}
				if req, lim := ctr.Resources.Requests.Cpu(), ctr.Resources.Limits.Cpu(); req.Cmp(*lim) > 0 {
					t.Errorf("container %s: cpu request %s above limit %s", ctr.Name, req, lim)
				}
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// kubectl debug adds containers through the pods/ephemeralcontainers
// subresource: a privileged one is refused in enforce, a hardened one
// admitted.
func TestEphemeralContainersAreJudged(t *testing.T) {
	ctx := context.Background()
	pod := in(load[*corev1.Pod](t, "bare-nginx-pod.yaml"), enforceNS)
	pod.Name = "debug-target"
	if _, err := env.Client.CoreV1().Pods(enforceNS).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	add := func(name string, sc *corev1.SecurityContext) error {
		cur, err := env.Client.CoreV1().Pods(enforceNS).Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		cur.Spec.EphemeralContainers = append(cur.Spec.EphemeralContainers, corev1.EphemeralContainer{
			EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: name, Image: "busybox:1.36", SecurityContext: sc},
		})
		_, err = env.Client.CoreV1().Pods(enforceNS).UpdateEphemeralContainers(ctx, pod.Name, cur, metav1.UpdateOptions{})
		return err
	}
	err := add("root-debugger", &corev1.SecurityContext{Privileged: ptr(true)})
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "[privileged]") || !strings.Contains(err.Error(), "spec.ephemeralContainers[0].securityContext.privileged") {
		t.Fatalf("a privileged debug container must be refused naming the field, got %v", err)
	}
	err = add("debugger", &corev1.SecurityContext{
		AllowPrivilegeEscalation: ptr(false), RunAsNonRoot: ptr(true), ReadOnlyRootFilesystem: ptr(true),
		Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
	})
	if err != nil {
		t.Fatalf("a hardened debug container must be admitted: %v", err)
	}
}

// A cluster adopts plimsoll without a big bang: what a workload already
// had before its namespace was switched to enforce is warned about on
// UPDATE, never denied; what an UPDATE adds is denied.
func TestUpdatesAreRatcheted(t *testing.T) {
	ctx := context.Background()
	const ns = "team-adopting"
	if err := env.CreateNamespace(ctx, ns, ""); err != nil {
		t.Fatal(err)
	}
	c, warnings := newClient(t)
	dep := in(load[*appsv1.Deployment](t, "latest-deployment.yaml"), ns)
	if err := c.Create(ctx, dep); err != nil {
		t.Fatalf("an unlabelled namespace is not judged: %v", err)
	}
	nsObj := &corev1.Namespace{}
	if err := c.Get(ctx, client.ObjectKey{Name: ns}, nsObj); err != nil {
		t.Fatal(err)
	}
	nsObj.Labels["plimsoll.dev/mode"] = "enforce"
	if err := c.Update(ctx, nsObj); err != nil {
		t.Fatal(err)
	}
	warnings.Take()
	// The API server sees the label change through its informer: retry
	// until the webhook judges the namespace.
	var got []string
	for i := 0; i < 50; i++ {
		if err := c.Get(ctx, client.ObjectKeyFromObject(dep), dep); err != nil {
			t.Fatal(err)
		}
		dep.Spec.Replicas = ptr(int32(3 + i%2))
		if err := c.Update(ctx, dep); err != nil {
			t.Fatalf("scaling a Deployment whose violations predate enforce must be admitted: %v", err)
		}
		if got = warnings.Take(); len(got) > 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if joined := strings.Join(got, "\n"); !strings.Contains(joined, "[image-tag]") || !strings.Contains(joined, "already there before this update") {
		t.Fatalf("want a warning about the pre-existing :latest image, got %q", got)
	}
	dep.Spec.Template.Spec.Containers = append(dep.Spec.Template.Spec.Containers, corev1.Container{Name: "sidecar", Image: "busybox"})
	err := c.Update(ctx, dep)
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `container "sidecar"`) || strings.Contains(err.Error(), `container "frontend"`) {
		t.Fatalf("an UPDATE adding an untagged image must be denied for it alone, got %v", err)
	}
}
