package policy

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

// APIVersion and Kind identify a policy file.
const (
	APIVersion = "plimsoll.dev/v1alpha1"
	Kind       = "Policy"
)

// Severity is how much a violation matters.
type Severity string

const (
	// Error: denied in enforce mode.
	Error Severity = "error"
	// Warning: returned as an admission warning, never denied.
	Warning Severity = "warning"
	// Off: the rule is not evaluated.
	Off Severity = "off"
)

// Policy is the whole configuration.
type Policy struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	// Rules overrides rule severities by rule ID ("error", "warning", "off").
	Rules map[string]Severity `json:"rules,omitempty"`
	// Defaults are the values that defaulting writes into Pods.
	Defaults Defaults `json:"defaults"`
	// AllowedRegistries, when not empty, are the only registries images may
	// come from (rule image-registry). An entry matches an image whose
	// reference starts with it followed by "/", e.g. "ghcr.io/acme" or
	// "registry.local:5000". Images without a registry are on "docker.io".
	AllowedRegistries []string `json:"allowedRegistries,omitempty"`
	// BlockedRegistries are registries (or paths under one) images may not
	// come from (rule image-registry), written as allowedRegistries; a
	// blocked entry wins over an allowed one that contains it, e.g.
	// allowedRegistries: [docker.io] with blockedRegistries:
	// [docker.io/someorg].
	BlockedRegistries []string `json:"blockedRegistries,omitempty"`
	// RequiredLabels, when not empty, are labels every Pod template must
	// carry (rule required-labels), e.g. app.kubernetes.io/name.
	RequiredLabels []string `json:"requiredLabels,omitempty"`
	// Exemptions lift rules from the objects they select; see Exemption.
	Exemptions []Exemption `json:"exemptions,omitempty"`
	// AllowAnnotationExemptions honours the annotation plimsoll.dev/exempt
	// on Pod templates. Off by default: anyone who may create a Pod may
	// write that annotation, so turning it on hands every rule's waiver to
	// every Pod author.
	AllowAnnotationExemptions bool `json:"allowAnnotationExemptions,omitempty"`
	// TrustedControllers are controllers, besides kube-controller-manager's,
	// whose objects' ownerReferences are believed (for exemptions by kind
	// and name, and for every decision that reads an owner); see
	// TrustsController.
	TrustedControllers []TrustedController `json:"trustedControllers,omitempty"`
	// ContextRules, when false, turns off every rule that reads objects
	// around the one it judges (pod-disruption-budget, hpa-target,
	// replicas-with-hpa, namespace-quota): `plimsoll serve` then starts no
	// informer and needs no RBAC to read them. Unset: on.
	ContextRules *bool `json:"contextRules,omitempty"`
	// NetworkPolicy holds the settings of rule network-policy.
	NetworkPolicy NetworkPolicySettings `json:"networkPolicy,omitempty"`
	// ImageVulnerabilities holds the settings of rule
	// image-vulnerabilities.
	ImageVulnerabilities VulnerabilitySettings `json:"imageVulnerabilities,omitempty"`

	hash string
}

// NetworkPolicySettings are rule network-policy's.
type NetworkPolicySettings struct {
	// RequireEgress, when true, also requires every Pod to be isolated
	// for egress (a NetworkPolicy selecting it with policyType Egress).
	RequireEgress bool `json:"requireEgress,omitempty"`
}

// VulnerabilitySeverities are a scanner's severities, worst first, as
// trivy writes them.
var VulnerabilitySeverities = []string{"CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN"}

// VulnerabilitySettings are rule image-vulnerabilities': a container's
// image is reported when a scanner found at least Count vulnerabilities
// of Severity or worse in it.
type VulnerabilitySettings struct {
	// Severity is CRITICAL (unset), HIGH, MEDIUM, LOW or UNKNOWN.
	Severity string `json:"severity,omitempty"`
	// Count is 1 when unset.
	Count int `json:"count,omitempty"`
}

// Threshold returns the severity and count that make an image reported,
// with their defaults filled in.
func (v VulnerabilitySettings) Threshold() (severity string, count int) {
	severity, count = strings.ToUpper(v.Severity), v.Count
	if severity == "" {
		severity = "CRITICAL"
	}
	if count < 1 {
		count = 1
	}
	return severity, count
}

// ContextRulesOn reports whether the rules that read other objects run.
func (p *Policy) ContextRulesOn() bool { return p.ContextRules == nil || *p.ContextRules }

// Defaults are the values mutation writes where a Pod leaves them unset.
type Defaults struct {
	Resources       ResourceDefaults `json:"resources"`
	Probes          ProbeDefaults    `json:"probes"`
	SecurityContext SecurityDefaults `json:"securityContext"`
	// ServiceAccountToken, when set to false, writes
	// automountServiceAccountToken: false into Pods that leave it unset
	// and whose ServiceAccount leaves it unset too (opt-in: a Pod that
	// calls the API server then needs it set to true). Never written
	// where the Pod or its ServiceAccount set it, nor where the
	// ServiceAccount is not known (the webhook's cache has not synced).
	// true is refused: a token is what Kubernetes mounts anyway.
	ServiceAccountToken *bool `json:"serviceAccountToken,omitempty"`
}

// ResourceDefaults are the requests and limits given to every container and
// init container that does not set them.
type ResourceDefaults struct {
	Enabled  bool                `json:"enabled"`
	Requests corev1.ResourceList `json:"requests,omitempty"`
	Limits   corev1.ResourceList `json:"limits,omitempty"`
}

// ProbeType is how a defaulted probe checks the container.
type ProbeType string

const (
	// ProbeTCP opens a connection to the container's first TCP port.
	ProbeTCP ProbeType = "tcp"
	// ProbeHTTP sends GET Path to the container's first TCP port.
	ProbeHTTP ProbeType = "http"
)

// ProbeDefaults are the probes given to containers with a TCP port.
type ProbeDefaults struct {
	Enabled bool `json:"enabled"`
	// Type is tcp (default) or http.
	Type ProbeType `json:"type,omitempty"`
	// Path is the HTTP path probed when Type is http (default /healthz).
	Path      string      `json:"path"`
	Readiness ProbeTiming `json:"readiness"`
	Liveness  ProbeTiming `json:"liveness"`
	// Startup is the startupProbe written beside a defaulted livenessProbe,
	// so a slow starter is not killed before it is up: liveness checks
	// begin only once it succeeds. Its failureThreshold × periodSeconds is
	// the time a container has to start.
	Startup StartupTiming `json:"startup"`
}

// ProbeTiming is a probe's schedule.
type ProbeTiming struct {
	InitialDelaySeconds int32 `json:"initialDelaySeconds"`
	PeriodSeconds       int32 `json:"periodSeconds"`
}

// StartupTiming is the startupProbe's schedule.
type StartupTiming struct {
	PeriodSeconds    int32 `json:"periodSeconds"`
	FailureThreshold int32 `json:"failureThreshold"`
}

// Profile names a set of securityContext defaults.
type Profile string

const (
	// Restricted writes allowPrivilegeEscalation: false, capabilities drop
	// ALL, runAsNonRoot: true and seccompProfile RuntimeDefault: what Pod
	// Security "restricted" requires.
	Restricted Profile = "restricted"
	// Baseline writes only allowPrivilegeEscalation: false and
	// seccompProfile RuntimeDefault, which almost every image tolerates;
	// runAsNonRoot and drop ALL are left to the rules.
	Baseline Profile = "baseline"
)

// SecurityDefaults switches the hardened securityContext defaults.
type SecurityDefaults struct {
	Enabled bool `json:"enabled"`
	// Profile is restricted (default) or baseline.
	Profile Profile `json:"profile,omitempty"`
	// ReadOnlyRootFilesystem, when true, also defaults
	// securityContext.readOnlyRootFilesystem: true (opt-in: many images
	// write to their root filesystem).
	ReadOnlyRootFilesystem bool `json:"readOnlyRootFilesystem,omitempty"`
}

// Default returns the built-in policy: every rule at its own severity and
// the defaults documented in README.md.
func Default() *Policy {
	p := &Policy{
		APIVersion: APIVersion,
		Kind:       Kind,
		Defaults: Defaults{
			Resources: ResourceDefaults{
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
			Probes: ProbeDefaults{
				Enabled:   true,
				Type:      ProbeTCP,
				Path:      "/healthz",
				Readiness: ProbeTiming{InitialDelaySeconds: 5, PeriodSeconds: 5},
				Liveness:  ProbeTiming{InitialDelaySeconds: 30, PeriodSeconds: 10},
				Startup:   StartupTiming{PeriodSeconds: 5, FailureThreshold: 60},
			},
			SecurityContext: SecurityDefaults{Enabled: true, Profile: Restricted},
		},
	}
	p.hash = hashOf([]byte("built-in"))
	return p
}

// Hash identifies the policy's source text (for logs and metrics).
func (p *Policy) Hash() string { return p.hash }

// Severity returns the configured severity of a rule, or def if the policy
// does not override it.
func (p *Policy) Severity(ruleID string, def Severity) Severity {
	if s, ok := p.Rules[ruleID]; ok {
		return s
	}
	return def
}

// Load reads a policy file. Fields it leaves out keep their built-in
// values. Unknown fields, wrong types and bad values are errors naming the
// field. knownRules, when not nil, is the set of valid rule IDs.
func Load(data []byte, knownRules []string) (*Policy, error) {
	p := Default()
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("policy file is empty: it needs at least apiVersion: %s and kind: %s", APIVersion, Kind)
	}
	// The file must say what it is: apiVersion and kind are not defaulted.
	p.APIVersion, p.Kind = "", ""
	if err := checkFields(data, p); err != nil {
		return nil, err
	}
	if err := yaml.UnmarshalStrict(data, p); err != nil {
		return nil, fmt.Errorf("policy file: %w", err)
	}
	if err := p.validate(knownRules); err != nil {
		return nil, err
	}
	p.hash = hashOf(data)
	return p, nil
}

func (p *Policy) validate(knownRules []string) error {
	var errs []string
	if p.APIVersion != APIVersion {
		errs = append(errs, fmt.Sprintf("apiVersion: must be %q, not %q", APIVersion, p.APIVersion))
	}
	if p.Kind != Kind {
		errs = append(errs, fmt.Sprintf("kind: must be %q, not %q", Kind, p.Kind))
	}
	ids := make([]string, 0, len(p.Rules))
	for id := range p.Rules {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		if knownRules != nil && !slices.Contains(knownRules, id) {
			errs = append(errs, fmt.Sprintf("rules.%s: no such rule (known rules: %s)", id, strings.Join(knownRules, ", ")))
		}
		switch p.Rules[id] {
		case Error, Warning, Off:
		default:
			errs = append(errs, fmt.Sprintf("rules.%s: severity must be error, warning or off, not %q", id, p.Rules[id]))
		}
	}
	r := p.Defaults.Resources
	for name := range r.Requests {
		if name != corev1.ResourceCPU && name != corev1.ResourceMemory {
			errs = append(errs, fmt.Sprintf("defaults.resources.requests.%s: only cpu and memory can be defaulted", name))
		}
	}
	for name, limit := range r.Limits {
		if name != corev1.ResourceCPU && name != corev1.ResourceMemory {
			errs = append(errs, fmt.Sprintf("defaults.resources.limits.%s: only cpu and memory can be defaulted", name))
			continue
		}
		if req, ok := r.Requests[name]; ok && limit.Cmp(req) < 0 {
			errs = append(errs, fmt.Sprintf("defaults.resources.limits.%s: %s is below the default request %s", name, limit.String(), req.String()))
		}
	}
	switch p.Defaults.Probes.Type {
	case ProbeTCP, ProbeHTTP:
	default:
		errs = append(errs, fmt.Sprintf("defaults.probes.type: must be tcp or http, not %q", p.Defaults.Probes.Type))
	}
	if p.Defaults.Probes.Type == ProbeHTTP && !strings.HasPrefix(p.Defaults.Probes.Path, "/") {
		errs = append(errs, fmt.Sprintf("defaults.probes.path: must start with /, not %q", p.Defaults.Probes.Path))
	}
	if st := p.Defaults.Probes.Startup; st.PeriodSeconds < 1 || st.FailureThreshold < 1 {
		errs = append(errs, "defaults.probes.startup: periodSeconds and failureThreshold must be 1 or more")
	}
	switch p.Defaults.SecurityContext.Profile {
	case Restricted, Baseline:
	default:
		errs = append(errs, fmt.Sprintf("defaults.securityContext.profile: must be restricted or baseline, not %q", p.Defaults.SecurityContext.Profile))
	}
	for name, q := range r.Requests {
		if q.Sign() <= 0 {
			errs = append(errs, fmt.Sprintf("defaults.resources.requests.%s: must be above zero, not %s", name, q.String()))
		}
	}
	for name, q := range r.Limits {
		if q.Sign() <= 0 {
			errs = append(errs, fmt.Sprintf("defaults.resources.limits.%s: must be above zero, not %s", name, q.String()))
		}
	}
	for field, regs := range map[string][]string{"allowedRegistries": p.AllowedRegistries, "blockedRegistries": p.BlockedRegistries} {
		for i, reg := range regs {
			if reg == "" || strings.HasSuffix(reg, "/") || strings.Contains(reg, "://") {
				errs = append(errs, fmt.Sprintf("%s[%d]: %q must be a registry host or prefix such as ghcr.io/acme, without scheme or trailing /", field, i, reg))
			}
		}
	}
	if t := p.Defaults.ServiceAccountToken; t != nil && *t {
		errs = append(errs, "defaults.serviceAccountToken: only false can be defaulted (Kubernetes mounts the token when nothing says otherwise); remove the field to leave tokens alone")
	}
	if v := p.ImageVulnerabilities; v.Severity != "" && !slices.Contains(VulnerabilitySeverities, strings.ToUpper(v.Severity)) {
		errs = append(errs, fmt.Sprintf("imageVulnerabilities.severity: must be CRITICAL, HIGH, MEDIUM, LOW or UNKNOWN, not %q", v.Severity))
	}
	if p.ImageVulnerabilities.Count < 0 {
		errs = append(errs, fmt.Sprintf("imageVulnerabilities.count: must be 1 or more, not %d", p.ImageVulnerabilities.Count))
	}
	for i, l := range p.RequiredLabels {
		if msgs := validation.IsQualifiedName(l); len(msgs) > 0 {
			errs = append(errs, fmt.Sprintf("requiredLabels[%d]: %q is not a valid label key: %s", i, l, strings.Join(msgs, "; ")))
		}
	}
	for i, e := range p.Exemptions {
		for _, msg := range e.validate(knownRules) {
			errs = append(errs, fmt.Sprintf("exemptions[%d]%s", i, msg))
		}
	}
	for i, c := range p.TrustedControllers {
		for _, msg := range c.validate() {
			errs = append(errs, fmt.Sprintf("trustedControllers[%d]%s", i, msg))
		}
	}
	for _, pt := range []struct {
		name string
		t    ProbeTiming
	}{{"readiness", p.Defaults.Probes.Readiness}, {"liveness", p.Defaults.Probes.Liveness}} {
		if pt.t.InitialDelaySeconds < 0 {
			errs = append(errs, fmt.Sprintf("defaults.probes.%s.initialDelaySeconds: must be 0 or more", pt.name))
		}
		if pt.t.PeriodSeconds < 1 {
			errs = append(errs, fmt.Sprintf("defaults.probes.%s.periodSeconds: must be 1 or more", pt.name))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("policy file is invalid:\n  %s", strings.Join(errs, "\n  "))
	}
	return nil
}

func hashOf(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// UnmarshalJSON accepts YAML's unquoted off, which YAML 1.1 reads as the
// boolean false, as the severity off: `liveness-probe: off` means what it
// says.
func (s *Severity) UnmarshalJSON(b []byte) error {
	if string(b) == "false" {
		*s = Off
		return nil
	}
	var str string
	if err := json.Unmarshal(b, &str); err != nil {
		return fmt.Errorf("a severity is error, warning or off, not %s", b)
	}
	switch str {
	case "false": // sigs.k8s.io/yaml hands a string field YAML's off as "false"
		*s = Off
	case "true":
		return fmt.Errorf("a severity is error, warning or off, not on")
	default:
		*s = Severity(str)
	}
	return nil
}
