package policy_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/plimsoll/plimsoll/policy"
)

var (
	quantities = cmp.Comparer(func(a, b resource.Quantity) bool { return a.Cmp(b) == 0 })
	// ignoreHash leaves the source hash to TestHash.
	ignoreHash = cmpopts.IgnoreUnexported(policy.Policy{})
)

// knownRules stands for the validate registry, which this package must not
// import.
var knownRules = []string{"cpu-limits", "host-path", "image-tag", "liveness-probe", "privileged"}

func builtIn() *policy.Policy {
	return &policy.Policy{
		APIVersion: "plimsoll.dev/v1alpha1",
		Kind:       "Policy",
		Defaults: policy.Defaults{
			Resources: policy.ResourceDefaults{
				Enabled: true,
				Requests: corev1.ResourceList{
					corev1.ResourceCPU:    resource.MustParse("100m"),
					corev1.ResourceMemory: resource.MustParse("128Mi"),
				},
				Limits: corev1.ResourceList{
					corev1.ResourceCPU:    resource.MustParse("500m"),
					corev1.ResourceMemory: resource.MustParse("512Mi"),
				},
			},
			Probes: policy.ProbeDefaults{
				Enabled:   true,
				Type:      policy.ProbeTCP,
				Path:      "/healthz",
				Readiness: policy.ProbeTiming{InitialDelaySeconds: 5, PeriodSeconds: 5},
				Liveness:  policy.ProbeTiming{InitialDelaySeconds: 30, PeriodSeconds: 10},
				Startup:   policy.StartupTiming{PeriodSeconds: 5, FailureThreshold: 60},
			},
			SecurityContext: policy.SecurityDefaults{Enabled: true, Profile: policy.Restricted},
		},
	}
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestDefault(t *testing.T) {
	if diff := cmp.Diff(builtIn(), policy.Default(), quantities, ignoreHash); diff != "" {
		t.Errorf("Default() (-want +got):\n%s", diff)
	}
}

func TestDefaultReturnsAFreshPolicyEachTime(t *testing.T) {
	first := policy.Default()
	first.Defaults.Resources.Requests[corev1.ResourceCPU] = resource.MustParse("3")
	first.Defaults.Probes.Enabled = false
	if diff := cmp.Diff(builtIn(), policy.Default(), quantities, ignoreHash); diff != "" {
		t.Errorf("editing one Default() changed the next (-want +got):\n%s", diff)
	}
}

func TestLoadAcceptsAValidFile(t *testing.T) {
	withEdits := func(edit func(*policy.Policy)) *policy.Policy {
		p := builtIn()
		edit(p)
		return p
	}
	tests := []struct {
		name string
		file string
		want *policy.Policy
	}{
		{
			name: "a file that sets everything gets exactly what it says",
			file: "full.yaml",
			want: withEdits(func(p *policy.Policy) {
				p.Rules = map[string]policy.Severity{"image-tag": policy.Warning, "liveness-probe": policy.Error, "host-path": policy.Off}
				p.Defaults.Resources.Requests = corev1.ResourceList{
					corev1.ResourceCPU:    resource.MustParse("50m"),
					corev1.ResourceMemory: resource.MustParse("64Mi"),
				}
				p.Defaults.Resources.Limits = corev1.ResourceList{
					corev1.ResourceCPU:    resource.MustParse("1"),
					corev1.ResourceMemory: resource.MustParse("1Gi"),
				}
				p.Defaults.Probes.Enabled = false
				p.Defaults.Probes.Readiness = policy.ProbeTiming{InitialDelaySeconds: 1, PeriodSeconds: 2}
				p.Defaults.Probes.Liveness = policy.ProbeTiming{InitialDelaySeconds: 3, PeriodSeconds: 4}
				p.Defaults.SecurityContext.Enabled = false
			}),
		},
		{
			name: "a file with only apiVersion and kind is the built-in policy",
			file: "minimal.yaml",
			want: builtIn(),
		},
		{
			name: "a partial file keeps every default it does not mention",
			file: "partial.yaml",
			want: withEdits(func(p *policy.Policy) {
				p.Defaults.Resources.Limits[corev1.ResourceMemory] = resource.MustParse("1Gi")
				p.Defaults.Probes.Liveness.PeriodSeconds = 30
			}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := policy.Load(readFile(t, tt.file), knownRules)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, quantities, ignoreHash); diff != "" {
				t.Errorf("Load (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadRejectsABadFile(t *testing.T) {
	tests := []struct {
		name       string
		file       string
		knownRules []string
		// want are fragments the error must contain, in this order.
		want []string
	}{
		{
			name: "an unknown field is named",
			file: "unknown-field.yaml",
			want: []string{"line 5: defaults.resources.enabeld: unknown field", `did you mean "enabled"?`},
		},
		{
			name: "an unknown top-level field is named",
			file: "unknown-top-level-field.yaml",
			want: []string{"line 3: exemption: unknown field", `did you mean "exemptions"?`},
		},
		{
			name: "a value of the wrong type names its field",
			file: "wrong-type.yaml",
			want: []string{"probes.enabled"},
		},
		{
			name: "a wrong apiVersion says which one is expected",
			file: "wrong-apiversion.yaml",
			want: []string{`apiVersion: must be "plimsoll.dev/v1alpha1", not "plimsoll.dev/v1"`},
		},
		{
			name: "a wrong kind says which one is expected",
			file: "wrong-kind.yaml",
			want: []string{`kind: must be "Policy", not "ClusterPolicy"`},
		},
		{
			name: "a file without apiVersion and kind is told to add both",
			file: "missing-type.yaml",
			want: []string{`apiVersion: must be "plimsoll.dev/v1alpha1", not ""`, `kind: must be "Policy", not ""`},
		},
		{
			name: "a severity other than error, warning or off is refused",
			file: "bad-severity.yaml",
			want: []string{`rules.image-tag: severity must be error, warning or off, not "fatal"`},
		},
		{
			name:       "an unknown rule ID is refused with the list of known rules",
			file:       "unknown-rule.yaml",
			knownRules: knownRules,
			want:       []string{"rules.image-tags: no such rule (known rules: cpu-limits, host-path, image-tag, liveness-probe, privileged)"},
		},
		{
			name: "every bad rule is reported, in ID order",
			file: "several-errors.yaml",
			want: []string{`rules.image-tag: severity must be error, warning or off, not "info"`, `rules.privileged: severity must be error, warning or off, not "warn"`},
		},
		{
			name: "a service-account token can be defaulted to false only; a scan threshold must be one trivy writes",
			file: "bad-context-settings.yaml",
			want: []string{
				"defaults.serviceAccountToken: only false can be defaulted",
				`imageVulnerabilities.severity: must be CRITICAL, HIGH, MEDIUM, LOW or UNKNOWN, not "severe"`,
				"imageVulnerabilities.count: must be 1 or more, not -1",
			},
		},
		{
			name: "only cpu and memory can be defaulted",
			file: "non-cpu-memory-resource.yaml",
			want: []string{
				"defaults.resources.requests.ephemeral-storage: only cpu and memory can be defaulted",
				"defaults.resources.limits.nvidia.com/gpu: only cpu and memory can be defaulted",
			},
		},
		{
			name: "a default limit below the default request is refused",
			file: "limit-below-request.yaml",
			want: []string{"defaults.resources.limits.cpu: 50m is below the default request 100m"},
		},
		{
			name: "probe timings must be possible",
			file: "bad-probe-timing.yaml",
			want: []string{
				"defaults.probes.readiness.initialDelaySeconds: must be 0 or more",
				"defaults.probes.liveness.periodSeconds: must be 1 or more",
			},
		},
		{
			name: "an empty file is refused with what it needs",
			file: "empty.yaml",
			want: []string{"policy file is empty", "apiVersion: plimsoll.dev/v1alpha1", "kind: Policy"},
		},
		{
			name: "a file of blank lines counts as empty",
			file: "blank.yaml",
			want: []string{"policy file is empty"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := policy.Load(readFile(t, tt.file), tt.knownRules)
			if err == nil {
				t.Fatalf("Load accepted %s: %+v", tt.file, p)
			}
			if p != nil {
				t.Errorf("Load returned a policy with its error: %+v", p)
			}
			msg, at := err.Error(), 0
			for _, frag := range tt.want {
				i := strings.Index(msg[at:], frag)
				if i < 0 {
					t.Errorf("error %q lacks %q (after offset %d)", msg, frag, at)
					break
				}
				at += i + len(frag)
			}
		})
	}
}

func TestLoadChecksRuleIDsOnlyWhenToldWhichExist(t *testing.T) {
	p, err := policy.Load(readFile(t, "unknown-rule.yaml"), nil)
	if err != nil {
		t.Fatalf("Load without knownRules: %v", err)
	}
	if got := p.Severity("image-tags", policy.Error); got != policy.Warning {
		t.Errorf("Severity(image-tags) = %q, want %q", got, policy.Warning)
	}
}

func TestHash(t *testing.T) {
	minimal, err := policy.Load(readFile(t, "minimal.yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	again, err := policy.Load(readFile(t, "minimal.yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	full, err := policy.Load(readFile(t, "full.yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	builtIn := policy.Default()

	if minimal.Hash() == "" || builtIn.Hash() == "" {
		t.Fatalf("empty hash: file %q, built-in %q", minimal.Hash(), builtIn.Hash())
	}
	if minimal.Hash() != again.Hash() {
		t.Errorf("the same file hashes differently: %q and %q", minimal.Hash(), again.Hash())
	}
	if minimal.Hash() == full.Hash() {
		t.Errorf("different files hash alike: %q", full.Hash())
	}
	if minimal.Hash() == builtIn.Hash() {
		t.Errorf("a file hashes like the built-in policy: %q", builtIn.Hash())
	}
	if builtIn.Hash() != policy.Default().Hash() {
		t.Errorf("the built-in policy's hash is not stable")
	}
}

func TestSeverity(t *testing.T) {
	p := policy.Default()
	p.Rules = map[string]policy.Severity{"image-tag": policy.Warning, "host-path": policy.Off, "liveness-probe": policy.Error}
	tests := []struct {
		name string
		rule string
		def  policy.Severity
		want policy.Severity
	}{
		{"an override lowers a rule's severity", "image-tag", policy.Error, policy.Warning},
		{"an override raises a rule's severity", "liveness-probe", policy.Warning, policy.Error},
		{"an override turns a rule off", "host-path", policy.Error, policy.Off},
		{"a rule the policy does not name keeps its default", "privileged", policy.Error, policy.Error},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := p.Severity(tt.rule, tt.def); got != tt.want {
				t.Errorf("Severity(%q, %q) = %q, want %q", tt.rule, tt.def, got, tt.want)
			}
		})
	}
	if got := policy.Default().Severity("image-tag", policy.Warning); got != policy.Warning {
		t.Errorf("the built-in policy overrides image-tag: %q", got)
	}
}
