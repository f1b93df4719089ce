package validate

// The differential test against Pod Security Admission: every Pod that
// Pod Security "restricted" (k8s.io/pod-security-admission, latest
// version) rejects must be either denied by plimsoll's enforce mode with
// the built-in policy, or defaulted by plimsoll into a Pod that
// "restricted" accepts. Otherwise a namespace that trusts plimsoll to hold
// the restricted line lets such a Pod through.
//
// The Pods come from PSA's own fixtures (every level and version under
// test/testdata in its module) and from a deterministic generator: each
// security-relevant field set to each risky (and each harmless) value, on
// each kind of container, then a few thousand random combinations with a
// fixed seed.

import (
	"cmp"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	psaapi "k8s.io/pod-security-admission/api"
	psapolicy "k8s.io/pod-security-admission/policy"
	"sigs.k8s.io/yaml"

	"github.com/plimsoll/plimsoll/mutate"
	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/workload"
)

func TestPodSecurityRestrictedDifferential(t *testing.T) {
	d := newDifferential(t)
	fixtures := psaFixtures(t)
	for _, f := range fixtures {
		d.judge("psa-fixture "+f.name, f.pod)
	}
	fromFixtures := d.counts
	for _, g := range generatedPods() {
		d.judge("generated "+g.name, g.pod)
	}
	fromGenerator := d.counts.minus(fromFixtures)

	t.Logf("PSA fixtures:   %s", fromFixtures)
	t.Logf("generated Pods: %s", fromGenerator)
	t.Logf("total:          %s", d.counts)
	t.Logf("denials by rule (Pods that restricted rejects): %s", sortedCounts(d.deniedBy))
	t.Logf("rejections by PSA reason: %s", sortedCounts(d.reasons))

	if d.counts.escaped > 0 {
		t.Errorf("%d Pods that Pod Security restricted rejects are neither denied by plimsoll nor fixed by defaulting:\n%s",
			d.counts.escaped, strings.Join(d.escapes, "\n"))
	}
	if fromFixtures.rejected == 0 {
		t.Errorf("no PSA fixture was rejected by restricted: the fixtures were not read")
	}
	// The generator must reach every check of restricted, or a rule could
	// drift away from it unseen.
	for _, reason := range []string{
		"allowPrivilegeEscalation != false", "forbidden AppArmor profile", "forbidden sysctls",
		"host namespaces", "hostPort", "hostProcess",
		"privileged", "probe or lifecycle host", "procMount", "restricted volume types",
		"runAsNonRoot != true", "runAsUser=0", "seLinuxOptions", "seccompProfile",
		"unrestricted capabilities",
	} {
		if d.reasons[reason] == 0 {
			t.Errorf("no Pod was rejected for %q: the generator misses a restricted check", reason)
		}
	}
}

// psaAllows evaluates a Pod against Pod Security at the latest version of
// a level.
func psaAllows(t *testing.T, level psaapi.Level, pod *corev1.Pod) bool {
	t.Helper()
	eval, err := psapolicy.NewEvaluator(psapolicy.DefaultChecks(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range eval.EvaluatePod(psaapi.LevelVersion{Level: level, Version: psaapi.LatestVersion()}, &pod.ObjectMeta, &pod.Spec) {
		if !r.Allowed {
			return false
		}
	}
	return true
}

// counts are what the differential test reports.
type counts struct {
	checked  int // Pods judged
	rejected int // of which Pod Security restricted rejects
	denied   int // of those, plimsoll's enforce mode denies (by a security rule)
	fixed    int // of the rest, defaulting turns into a Pod restricted accepts
	escaped  int // the rest: must be 0
}

func (c counts) String() string {
	return fmt.Sprintf("checked %d, rejected by restricted %d, denied by plimsoll %d, fixed by defaulting %d, escaped %d",
		c.checked, c.rejected, c.denied, c.fixed, c.escaped)
}

func (c counts) minus(o counts) counts {
	return counts{c.checked - o.checked, c.rejected - o.rejected, c.denied - o.denied, c.fixed - o.fixed, c.escaped - o.escaped}
}

type differential struct {
	t        *testing.T
	psa      psapolicy.Evaluator
	level    psaapi.LevelVersion
	policy   *policy.Policy
	rules    []*Rule
	counts   counts
	deniedBy map[string]int
	reasons  map[string]int
	escapes  []string
}

func newDifferential(t *testing.T) *differential {
	t.Helper()
	eval, err := psapolicy.NewEvaluator(psapolicy.DefaultChecks(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return &differential{
		t:        t,
		psa:      eval,
		level:    psaapi.LevelVersion{Level: psaapi.LevelRestricted, Version: psaapi.LatestVersion()},
		policy:   policy.Default(),
		rules:    Registry(),
		deniedBy: map[string]int{},
		reasons:  map[string]int{},
	}
}

// forbidden returns what Pod Security restricted objects to in pod.
func (d *differential) forbidden(pod *corev1.Pod) []psapolicy.CheckResult {
	var out []psapolicy.CheckResult
	for _, r := range d.psa.EvaluatePod(d.level, &pod.ObjectMeta, &pod.Spec) {
		if !r.Allowed {
			out = append(out, r)
		}
	}
	return out
}

func describe(rs []psapolicy.CheckResult) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = r.ForbiddenReason + ": " + r.ForbiddenDetail
	}
	return strings.Join(parts, "; ")
}

func (d *differential) judge(name string, pod *corev1.Pod) {
	d.t.Helper()
	// Pin every image: PSA does not look at images, and an untagged image
	// would be denied by image-tag, hiding what the security rules do.
	for _, c := range workload.Containers(&pod.Spec, nil) {
		if _, tag, digest := ParseImage(c.Image); tag == "" && digest == "" {
			c.Image += ":1.0"
		}
	}
	// The API server makes a volume without a source an emptyDir before
	// admission (SetDefaults_Volume): Pod Security never sees one.
	for i := range pod.Spec.Volumes {
		if volumeType(&pod.Spec.Volumes[i].VolumeSource) == "" {
			pod.Spec.Volumes[i].EmptyDir = &corev1.EmptyDirVolumeSource{}
		}
	}
	d.counts.checked++
	rejections := d.forbidden(pod)
	if len(rejections) == 0 {
		return
	}
	d.counts.rejected++
	for _, r := range rejections {
		d.reasons[r.ForbiddenReason]++
	}

	tpl, err := workload.Find(pod.DeepCopy())
	if err != nil {
		d.t.Fatalf("%s: %v", name, err)
	}
	defaulted, err := workload.Find(pod.DeepCopy())
	if err != nil {
		d.t.Fatalf("%s: %v", name, err)
	}
	mutate.Template(defaulted, d.policy.Defaults)
	vs := evaluate(d.t, d.rules, d.policy, Input{Template: tpl, Defaulted: defaulted})

	var deniers []string
	for _, v := range Denied(vs) {
		if v.Rule.Category == "security" && !slices.Contains(deniers, v.Rule.ID) {
			deniers = append(deniers, v.Rule.ID)
		}
	}
	if len(deniers) > 0 {
		d.counts.denied++
		for _, id := range deniers {
			d.deniedBy[id]++
		}
		return
	}
	stillForbidden := d.forbidden(defaulted.Object.(*corev1.Pod))
	if len(stillForbidden) == 0 {
		d.counts.fixed++
		return
	}
	d.counts.escaped++
	if len(d.escapes) < 25 {
		var said []string
		for _, v := range vs {
			if !v.Fixable {
				said = append(said, fmt.Sprintf("%s (%s)", v.ShortMessage(), v.Severity))
			}
		}
		raw, _ := yaml.Marshal(pod)
		d.escapes = append(d.escapes, fmt.Sprintf("- %s\n  restricted still rejects it once defaulted: %s\n  plimsoll says: %s\n  pod:\n    %s",
			name, describe(stillForbidden), strings.Join(said, "; "),
			strings.ReplaceAll(strings.TrimSpace(string(raw)), "\n", "\n    ")))
	}
}

func sortedCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return cmp.Or(cmp.Compare(m[b], m[a]), cmp.Compare(a, b)) })
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

type namedPod struct {
	name string
	pod  *corev1.Pod
}

// psaFixtures reads every Pod fixture of k8s.io/pod-security-admission's
// own tests (test/testdata/<level>/<version>/<pass|fail>/*.yaml) from the
// module cache, once each (many are the same across versions).
func psaFixtures(t *testing.T) []namedPod {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "k8s.io/pod-security-admission").Output()
	if err != nil {
		t.Fatalf("finding the k8s.io/pod-security-admission module: %v", err)
	}
	root := filepath.Join(strings.TrimSpace(string(out)), "test", "testdata")
	seen := map[[32]byte]bool{}
	files := 0
	var pods []namedPod
	err = filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || filepath.Ext(path) != ".yaml" {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		sum := sha256.Sum256(data)
		if seen[sum] {
			return nil
		}
		seen[sum] = true
		var pod corev1.Pod
		if err := yaml.Unmarshal(data, &pod); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		rel, _ := filepath.Rel(root, path)
		pods = append(pods, namedPod{rel, &pod})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(pods) == 0 {
		t.Fatalf("no fixtures under %s", root)
	}
	t.Logf("read %d PSA fixture files (baseline and restricted, every version, pass and fail), %d distinct Pods", files, len(pods))
	return pods
}

// knob sets one security-relevant field to one value, on the Pod or on a
// container (c is nil for a pod-level knob).
type knob struct {
	name     string
	podLevel bool
	apply    func(p *corev1.Pod, c *corev1.Container)
}

func sc(c *corev1.Container) *corev1.SecurityContext {
	if c.SecurityContext == nil {
		c.SecurityContext = &corev1.SecurityContext{}
	}
	return c.SecurityContext
}

func psc(p *corev1.Pod) *corev1.PodSecurityContext {
	if p.Spec.SecurityContext == nil {
		p.Spec.SecurityContext = &corev1.PodSecurityContext{}
	}
	return p.Spec.SecurityContext
}

func knobs() []knob {
	var ks []knob
	ck := func(name string, f func(c *corev1.Container)) {
		ks = append(ks, knob{name: name, apply: func(_ *corev1.Pod, c *corev1.Container) { f(c) }})
	}
	pk := func(name string, f func(p *corev1.Pod)) {
		ks = append(ks, knob{name: name, podLevel: true, apply: func(p *corev1.Pod, _ *corev1.Container) { f(p) }})
	}

	// Container-level fields.
	ck("securityContext={}", func(c *corev1.Container) { sc(c) })
	for _, v := range []bool{true, false} {
		ck(fmt.Sprintf("privileged=%v", v), func(c *corev1.Container) { sc(c).Privileged = ptrTo(v) })
		ck(fmt.Sprintf("allowPrivilegeEscalation=%v", v), func(c *corev1.Container) { sc(c).AllowPrivilegeEscalation = ptrTo(v) })
		ck(fmt.Sprintf("runAsNonRoot=%v", v), func(c *corev1.Container) { sc(c).RunAsNonRoot = ptrTo(v) })
		ck(fmt.Sprintf("readOnlyRootFilesystem=%v", v), func(c *corev1.Container) { sc(c).ReadOnlyRootFilesystem = ptrTo(v) })
		ck(fmt.Sprintf("windowsOptions.hostProcess=%v", v), func(c *corev1.Container) {
			sc(c).WindowsOptions = &corev1.WindowsSecurityContextOptions{HostProcess: ptrTo(v)}
		})
	}
	for _, uid := range []int64{0, 1000} {
		ck(fmt.Sprintf("runAsUser=%d", uid), func(c *corev1.Container) { sc(c).RunAsUser = ptrTo(uid) })
	}
	for _, caps := range []struct {
		name      string
		add, drop []corev1.Capability
	}{
		{"capabilities={}", nil, nil},
		{"drop=[ALL]", nil, []corev1.Capability{"ALL"}},
		{"drop=[all]", nil, []corev1.Capability{"all"}},
		{"drop=[NET_RAW]", nil, []corev1.Capability{"NET_RAW"}},
		{"add=[NET_BIND_SERVICE]", []corev1.Capability{"NET_BIND_SERVICE"}, nil},
		{"add=[SYS_ADMIN]", []corev1.Capability{"SYS_ADMIN"}, nil},
		{"add=[CHOWN]", []corev1.Capability{"CHOWN"}, nil},
		{"add=[NET_RAW]", []corev1.Capability{"NET_RAW"}, nil},
		{"add=[CAP_NET_BIND_SERVICE]", []corev1.Capability{"CAP_NET_BIND_SERVICE"}, nil},
		{"drop=[ALL],add=[NET_BIND_SERVICE]", []corev1.Capability{"NET_BIND_SERVICE"}, []corev1.Capability{"ALL"}},
		{"drop=[ALL],add=[SYS_ADMIN]", []corev1.Capability{"SYS_ADMIN"}, []corev1.Capability{"ALL"}},
		{"drop=[ALL],add=[CHOWN]", []corev1.Capability{"CHOWN"}, []corev1.Capability{"ALL"}},
	} {
		ck("capabilities:"+caps.name, func(c *corev1.Container) {
			sc(c).Capabilities = &corev1.Capabilities{Add: caps.add, Drop: caps.drop}
		})
	}
	for _, typ := range []corev1.SeccompProfileType{corev1.SeccompProfileTypeUnconfined, corev1.SeccompProfileTypeRuntimeDefault, corev1.SeccompProfileTypeLocalhost} {
		ck("seccompProfile="+string(typ), func(c *corev1.Container) { sc(c).SeccompProfile = seccomp(typ) })
		pk("pod.seccompProfile="+string(typ), func(p *corev1.Pod) { psc(p).SeccompProfile = seccomp(typ) })
	}
	for _, typ := range []corev1.AppArmorProfileType{corev1.AppArmorProfileTypeUnconfined, corev1.AppArmorProfileTypeRuntimeDefault, corev1.AppArmorProfileTypeLocalhost} {
		ck("appArmorProfile="+string(typ), func(c *corev1.Container) { sc(c).AppArmorProfile = apparmorProfile(typ) })
		pk("pod.appArmorProfile="+string(typ), func(p *corev1.Pod) { psc(p).AppArmorProfile = apparmorProfile(typ) })
	}
	for _, opts := range []corev1.SELinuxOptions{
		{Type: "spc_t"}, {Type: "container_t"}, {Type: "container_engine_t"}, {User: "system_u"}, {Role: "system_r"}, {Level: "s0:c1,c2"},
	} {
		ck(fmt.Sprintf("seLinuxOptions=%+v", opts), func(c *corev1.Container) { sc(c).SELinuxOptions = ptrTo(opts) })
		pk(fmt.Sprintf("pod.seLinuxOptions=%+v", opts), func(p *corev1.Pod) { psc(p).SELinuxOptions = ptrTo(opts) })
	}
	for _, pm := range []corev1.ProcMountType{corev1.UnmaskedProcMount, corev1.DefaultProcMount} {
		ck("procMount="+string(pm), func(c *corev1.Container) { sc(c).ProcMount = ptrTo(pm) })
	}
	ck("ports[hostPort=8080]", func(c *corev1.Container) {
		c.Ports = append(c.Ports, corev1.ContainerPort{ContainerPort: 8080, HostPort: 8080})
	})
	ck("ports[containerPort=8080]", func(c *corev1.Container) {
		c.Ports = append(c.Ports, corev1.ContainerPort{ContainerPort: 8080})
	})
	ck("livenessProbe.httpGet.host", func(c *corev1.Container) {
		c.LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Host: "10.0.0.1", Port: intstr.FromInt32(80)}}}
	})
	ck("readinessProbe.tcpSocket.host", func(c *corev1.Container) {
		c.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Host: "db", Port: intstr.FromInt32(5432)}}}
	})
	ck("startupProbe.httpGet(no host)", func(c *corev1.Container) {
		c.StartupProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromInt32(80)}}}
	})
	ck("lifecycle.preStop.httpGet.host", func(c *corev1.Container) {
		c.Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{HTTPGet: &corev1.HTTPGetAction{Host: "example.com", Port: intstr.FromInt32(80)}}}
	})
	ck("lifecycle.postStart.tcpSocket.host", func(c *corev1.Container) {
		c.Lifecycle = &corev1.Lifecycle{PostStart: &corev1.LifecycleHandler{TCPSocket: &corev1.TCPSocketAction{Host: "example.com", Port: intstr.FromInt32(80)}}}
	})

	// Pod-level fields.
	pk("hostNetwork", func(p *corev1.Pod) { p.Spec.HostNetwork = true })
	pk("hostPID", func(p *corev1.Pod) { p.Spec.HostPID = true })
	pk("hostIPC", func(p *corev1.Pod) { p.Spec.HostIPC = true })
	pk("hostUsers=false", func(p *corev1.Pod) { p.Spec.HostUsers = ptrTo(false) })
	pk("os=windows", func(p *corev1.Pod) { p.Spec.OS = &corev1.PodOS{Name: corev1.Windows} })
	pk("os=linux", func(p *corev1.Pod) { p.Spec.OS = &corev1.PodOS{Name: corev1.Linux} })
	for _, v := range []bool{true, false} {
		pk(fmt.Sprintf("pod.runAsNonRoot=%v", v), func(p *corev1.Pod) { psc(p).RunAsNonRoot = ptrTo(v) })
		pk(fmt.Sprintf("pod.windowsOptions.hostProcess=%v", v), func(p *corev1.Pod) {
			psc(p).WindowsOptions = &corev1.WindowsSecurityContextOptions{HostProcess: ptrTo(v)}
		})
	}
	for _, uid := range []int64{0, 1000} {
		pk(fmt.Sprintf("pod.runAsUser=%d", uid), func(p *corev1.Pod) { psc(p).RunAsUser = ptrTo(uid) })
	}
	for _, name := range []string{"net.ipv4.tcp_syncookies", "net.ipv4.tcp_notsent_lowat", "kernel.msgmax", "net/ipv4/tcp_syncookies", "vm.overcommit_memory"} {
		pk("sysctls="+name, func(p *corev1.Pod) { psc(p).Sysctls = append(psc(p).Sysctls, corev1.Sysctl{Name: name, Value: "1"}) })
	}
	for _, v := range volumeSources() {
		pk("volume="+v.name, func(p *corev1.Pod) {
			p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: fmt.Sprintf("v%d", len(p.Spec.Volumes)), VolumeSource: v.source})
		})
	}
	for _, v := range []string{"unconfined", "runtime/default", "localhost/custom", "", "docker/default"} {
		pk("annotation apparmor="+v, func(p *corev1.Pod) {
			name := p.Spec.Containers[0].Name
			metav1.SetMetaDataAnnotation(&p.ObjectMeta, corev1.DeprecatedAppArmorBetaContainerAnnotationKeyPrefix+name, v)
		})
	}
	pk("annotation seccomp pod=unconfined", func(p *corev1.Pod) {
		metav1.SetMetaDataAnnotation(&p.ObjectMeta, "seccomp.security.alpha.kubernetes.io/pod", "unconfined")
	})
	return ks
}

func seccomp(typ corev1.SeccompProfileType) *corev1.SeccompProfile {
	p := &corev1.SeccompProfile{Type: typ}
	if typ == corev1.SeccompProfileTypeLocalhost {
		p.LocalhostProfile = ptrTo("profiles/app.json")
	}
	return p
}

func apparmorProfile(typ corev1.AppArmorProfileType) *corev1.AppArmorProfile {
	p := &corev1.AppArmorProfile{Type: typ}
	if typ == corev1.AppArmorProfileTypeLocalhost {
		p.LocalhostProfile = ptrTo("k8s-app")
	}
	return p
}

type namedSource struct {
	name   string
	source corev1.VolumeSource
}

func volumeSources() []namedSource {
	return []namedSource{
		{"hostPath", corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/log"}}},
		{"nfs", corev1.VolumeSource{NFS: &corev1.NFSVolumeSource{Server: "nfs", Path: "/"}}},
		{"gitRepo", corev1.VolumeSource{GitRepo: &corev1.GitRepoVolumeSource{Repository: "https://example.com/r.git"}}},
		{"iscsi", corev1.VolumeSource{ISCSI: &corev1.ISCSIVolumeSource{TargetPortal: "t", IQN: "i"}}},
		{"awsElasticBlockStore", corev1.VolumeSource{AWSElasticBlockStore: &corev1.AWSElasticBlockStoreVolumeSource{VolumeID: "v"}}},
		{"gcePersistentDisk", corev1.VolumeSource{GCEPersistentDisk: &corev1.GCEPersistentDiskVolumeSource{PDName: "d"}}},
		{"azureDisk", corev1.VolumeSource{AzureDisk: &corev1.AzureDiskVolumeSource{DiskName: "d", DataDiskURI: "u"}}},
		{"azureFile", corev1.VolumeSource{AzureFile: &corev1.AzureFileVolumeSource{SecretName: "s", ShareName: "s"}}},
		{"cephfs", corev1.VolumeSource{CephFS: &corev1.CephFSVolumeSource{Monitors: []string{"m"}}}},
		{"cinder", corev1.VolumeSource{Cinder: &corev1.CinderVolumeSource{VolumeID: "v"}}},
		{"fc", corev1.VolumeSource{FC: &corev1.FCVolumeSource{}}},
		{"flexVolume", corev1.VolumeSource{FlexVolume: &corev1.FlexVolumeSource{Driver: "d"}}},
		{"flocker", corev1.VolumeSource{Flocker: &corev1.FlockerVolumeSource{DatasetName: "d"}}},
		{"glusterfs", corev1.VolumeSource{Glusterfs: &corev1.GlusterfsVolumeSource{EndpointsName: "e", Path: "p"}}},
		{"photonPersistentDisk", corev1.VolumeSource{PhotonPersistentDisk: &corev1.PhotonPersistentDiskVolumeSource{PdID: "p"}}},
		{"portworxVolume", corev1.VolumeSource{PortworxVolume: &corev1.PortworxVolumeSource{VolumeID: "v"}}},
		{"quobyte", corev1.VolumeSource{Quobyte: &corev1.QuobyteVolumeSource{Registry: "r", Volume: "v"}}},
		{"rbd", corev1.VolumeSource{RBD: &corev1.RBDVolumeSource{CephMonitors: []string{"m"}, RBDImage: "i"}}},
		{"scaleIO", corev1.VolumeSource{ScaleIO: &corev1.ScaleIOVolumeSource{Gateway: "g", System: "s"}}},
		{"storageos", corev1.VolumeSource{StorageOS: &corev1.StorageOSVolumeSource{VolumeName: "v"}}},
		{"vsphereVolume", corev1.VolumeSource{VsphereVolume: &corev1.VsphereVirtualDiskVolumeSource{VolumePath: "p"}}},
		{"configMap", corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "c"}}}},
		{"secret", corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s"}}},
		{"emptyDir", corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		{"persistentVolumeClaim", corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "c"}}},
		{"csi", corev1.VolumeSource{CSI: &corev1.CSIVolumeSource{Driver: "d"}}},
		{"ephemeral", corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{}}},
		{"projected", corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{}}},
		{"downwardAPI", corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{}}},
		{"image", corev1.VolumeSource{Image: &corev1.ImageVolumeSource{Reference: "ghcr.io/acme/data:1"}}},
	}
}

// shape is a set of containers: which kinds a Pod has.
type shape struct {
	name                                 string
	inits, sidecars, regulars, ephemeral int
}

var shapes = []shape{
	{"app", 0, 0, 1, 0},
	{"init+app", 1, 0, 1, 0},
	{"sidecar+app", 0, 1, 1, 0},
	{"app+debugger", 0, 0, 1, 1},
	{"init+sidecar+2apps+debugger", 1, 1, 2, 1},
}

// basePod builds a Pod of the shape. A hardened Pod already meets
// restricted; a bare one sets nothing and relies on defaulting.
func basePod(s shape, hardened bool) *corev1.Pod {
	always := corev1.ContainerRestartPolicyAlways
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "gen", Namespace: "default"}}
	harden := func(c *corev1.Container) {
		if hardened {
			c.SecurityContext = &corev1.SecurityContext{
				AllowPrivilegeEscalation: ptrTo(false),
				Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
				RunAsNonRoot:             ptrTo(true),
			}
		}
	}
	for i := range s.inits {
		c := corev1.Container{Name: fmt.Sprintf("init%d", i), Image: "busybox:1.36"}
		harden(&c)
		p.Spec.InitContainers = append(p.Spec.InitContainers, c)
	}
	for i := range s.sidecars {
		c := corev1.Container{Name: fmt.Sprintf("sidecar%d", i), Image: "envoy:1.31", RestartPolicy: &always}
		harden(&c)
		p.Spec.InitContainers = append(p.Spec.InitContainers, c)
	}
	for i := range s.regulars {
		c := corev1.Container{Name: fmt.Sprintf("app%d", i), Image: "app:1.0"}
		harden(&c)
		p.Spec.Containers = append(p.Spec.Containers, c)
	}
	for i := range s.ephemeral {
		c := corev1.Container{Name: fmt.Sprintf("debugger%d", i), Image: "busybox:1.36"}
		harden(&c)
		p.Spec.EphemeralContainers = append(p.Spec.EphemeralContainers, corev1.EphemeralContainer{EphemeralContainerCommon: corev1.EphemeralContainerCommon(c)})
	}
	if hardened {
		psc(p).SeccompProfile = seccomp(corev1.SeccompProfileTypeRuntimeDefault)
	}
	return p
}

// containerAt returns the i-th container of p in walking order.
func containerAt(p *corev1.Pod, i int) *corev1.Container {
	return workload.Containers(&p.Spec, nil)[i].Container
}

// generatedPods returns, deterministically: every knob alone on every
// container of every shape, bare and hardened; then 3000 Pods with one to
// six random knobs each (fixed seed).
func generatedPods() []namedPod {
	ks := knobs()
	var out []namedPod
	for _, s := range shapes {
		for _, hardened := range []bool{false, true} {
			base := "bare"
			if hardened {
				base = "hardened"
			}
			n := len(workload.Containers(&basePod(s, hardened).Spec, nil))
			for _, k := range ks {
				targets := n
				if k.podLevel {
					targets = 1
				}
				for i := range targets {
					p := basePod(s, hardened)
					var c *corev1.Container
					where := "pod"
					if !k.podLevel {
						c = containerAt(p, i)
						where = c.Name
					}
					k.apply(p, c)
					out = append(out, namedPod{fmt.Sprintf("%s %s: %s.%s", base, s.name, where, k.name), p})
				}
			}
		}
	}
	rng := rand.New(rand.NewPCG(3, 37))
	for range 3000 {
		s := shapes[rng.IntN(len(shapes))]
		hardened := rng.IntN(2) == 0
		p := basePod(s, hardened)
		n := len(workload.Containers(&p.Spec, nil))
		var applied []string
		for range 1 + rng.IntN(6) {
			k := ks[rng.IntN(len(ks))]
			var c *corev1.Container
			where := "pod"
			if !k.podLevel {
				c = containerAt(p, rng.IntN(n))
				where = c.Name
			}
			k.apply(p, c)
			applied = append(applied, where+"."+k.name)
		}
		base := "bare"
		if hardened {
			base = "hardened"
		}
		out = append(out, namedPod{fmt.Sprintf("random %s %s: %s", base, s.name, strings.Join(applied, ", ")), p})
	}
	return out
}
