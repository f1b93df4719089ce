package policy_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/plimsoll/plimsoll/policy"
)

func TestExemptions(t *testing.T) {
	p, err := policy.Load(readFile(t, "exemptions.yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name        string
		subject     policy.Subject
		annotations bool
		wantReason  string // "" for no waiver
		wantExpired []int
	}{
		{"a namespace glob lifts the listed rule", policy.Subject{Namespace: "legacy-billing", Identities: []policy.Identity{{Kind: "Deployment", Name: "api"}}, Rule: "run-as-non-root"}, false, "legacy images run as root", nil},
		{"a namespace glob does not lift other rules", policy.Subject{Namespace: "legacy-billing", Identities: []policy.Identity{{Kind: "Deployment", Name: "api"}}, Rule: "privileged"}, false, "", nil},
		{"a name glob with a kind lifts every rule for that workload", policy.Subject{Namespace: "ops", Identities: []policy.Identity{{Kind: "DaemonSet", Name: "node-exporter"}}, Rule: "host-namespaces"}, false, "node metrics need the host network", nil},
		{"the same name of another kind is not exempt", policy.Subject{Namespace: "ops", Identities: []policy.Identity{{Kind: "Deployment", Name: "node-exporter"}}, Rule: "host-namespaces"}, false, "", nil},
		{"a Pod made by the workload matches through its owner", policy.Subject{Namespace: "ops", Identities: []policy.Identity{{Kind: "Pod", Name: "node-exporter-x7k2p"}, {Kind: "DaemonSet", Name: "node-exporter"}}, Rule: "host-path"}, false, "node metrics need the host network", nil},
		{"an image glob lifts findings on containers running that image", policy.Subject{Namespace: "web", Identities: []policy.Identity{{Kind: "Pod", Name: "x"}}, Image: "ghcr.io/acme/vendor/agent:2.1", Rule: "image-tag"}, false, "vendor agent is pinned upstream", nil},
		{"an image glob never lifts pod-level findings", policy.Subject{Namespace: "web", Identities: []policy.Identity{{Kind: "Pod", Name: "x"}}, Rule: "image-tag"}, false, "", nil},
		{"an expired exemption no longer applies and is reported", policy.Subject{Namespace: "migration", Identities: []policy.Identity{{Kind: "Job", Name: "m"}}, Rule: "cpu-limits"}, false, "", []int{3}},
		{"the annotation is ignored unless the policy allows it", policy.Subject{Namespace: "web", Identities: []policy.Identity{{Kind: "Pod", Name: "y"}}, Rule: "replicas", PodAnnotations: map[string]string{policy.ExemptAnnotation: "replicas"}}, false, "", nil},
		{"the annotation lifts the rules it lists when allowed", policy.Subject{Namespace: "web", Identities: []policy.Identity{{Kind: "Pod", Name: "y"}}, Rule: "replicas", PodAnnotations: map[string]string{policy.ExemptAnnotation: "host-port, replicas"}}, true, "annotation plimsoll.dev/exempt: host-port, replicas", nil},
		{"the annotation does not lift rules it does not list", policy.Subject{Namespace: "web", Identities: []policy.Identity{{Kind: "Pod", Name: "y"}}, Rule: "privileged", PodAnnotations: map[string]string{policy.ExemptAnnotation: "replicas"}}, true, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p.AllowAnnotationExemptions = tt.annotations
			w, expired := p.Exempt(tt.subject, now)
			got := ""
			if w != nil {
				got = w.Reason
			}
			if got != tt.wantReason {
				t.Errorf("waiver reason = %q, want %q", got, tt.wantReason)
			}
			if len(expired) != len(tt.wantExpired) || (len(expired) > 0 && expired[0] != tt.wantExpired[0]) {
				t.Errorf("expired = %v, want %v", expired, tt.wantExpired)
			}
		})
	}
}

func TestExemptionsAreChecked(t *testing.T) {
	for _, tt := range []struct {
		name, doc, want string
	}{
		{"an exemption without a reason is refused", "exemptions:\n- rules: [image-tag]\n", "exemptions[0].reason: every exemption needs a reason"},
		{"an unknown rule in an exemption is refused", "exemptions:\n- reason: x\n  rules: [no-such-rule]\n", `exemptions[0].rules: no such rule "no-such-rule"`},
		{"a bad glob is refused", "exemptions:\n- reason: x\n  names: [\"[\"]\n", `exemptions[0].names: "[" is not a valid glob`},
		{"a typo inside an exemption names its path and line", "exemptions:\n- reason: x\n  namespace: [a]\n", "line 5: exemptions[0].namespace: unknown field (did you mean \"namespaces\"?)"},
		{"a wrong type names its path and line", "defaults:\n  probes:\n    enabled: maybe\n", "line 5: defaults.probes.enabled: must be true or false"},
		{"an unknown probe type is refused", "defaults:\n  probes:\n    type: exec\n", `defaults.probes.type: must be tcp or http, not "exec"`},
		{"an unknown profile is refused", "defaults:\n  securityContext:\n    profile: privileged\n", `defaults.securityContext.profile: must be restricted or baseline`},
		{"a zero default is refused", "defaults:\n  resources:\n    requests: {cpu: \"0\"}\n", "defaults.resources.requests.cpu: must be above zero"},
		{"a registry with a scheme is refused", "allowedRegistries: [\"https://ghcr.io\"]\n", "allowedRegistries[0]"},
		{"a blocked registry with a trailing slash is refused", "blockedRegistries: [quay.io, \"docker.io/evil/\"]\n", "blockedRegistries[1]"},
		{"an invalid label key is refused", "requiredLabels: [\"not a label\"]\n", "requiredLabels[0]"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := policy.Load([]byte("apiVersion: plimsoll.dev/v1alpha1\nkind: Policy\n"+tt.doc), []string{"image-tag"})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestTheSamplePolicyFileLoads(t *testing.T) {
	data, err := os.ReadFile("../docs/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, err := policy.Load(data, nil)
	if err != nil {
		t.Fatalf("docs/policy.yaml: %v", err)
	}
	if p.Defaults.SecurityContext.Profile != policy.Restricted || p.Defaults.Probes.Startup.FailureThreshold != 60 {
		t.Errorf("docs/policy.yaml does not state the built-in defaults: %+v", p.Defaults)
	}
}

func TestAnUnquotedOffTurnsARuleOff(t *testing.T) {
	p, err := policy.Load([]byte("apiVersion: plimsoll.dev/v1alpha1\nkind: Policy\nrules:\n  liveness-probe: off\n  image-tag: \"off\"\n"), []string{"liveness-probe", "image-tag"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Severity("liveness-probe", policy.Warning) != policy.Off || p.Severity("image-tag", policy.Error) != policy.Off {
		t.Errorf("rules = %v, want both off", p.Rules)
	}
	if _, err := policy.Load([]byte("apiVersion: plimsoll.dev/v1alpha1\nkind: Policy\nrules:\n  image-tag: on\n"), nil); err == nil {
		t.Error("on (true) was accepted as a severity")
	}
}
