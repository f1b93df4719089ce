package chart

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/plimsoll/plimsoll/admission"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
)

// WebhookValues are the chart values that shape the webhook
// configurations. The zero value is the chart's defaults, installed as
// `helm install plimsoll charts/plimsoll -n plimsoll-system`.
type WebhookValues struct {
	// FromConfig, with the chart's defaults otherwise, reads what the
	// chart renders from config/overlays/default instead of running helm
	// (`make demo`, which has no Helm). The configurations are the same
	// but for Helm's own labels, which `make generate` drops.
	FromConfig bool
	// Name overrides the configurations' name (fullnameOverride; default
	// "plimsoll", the release's).
	Name string
	// Namespace is the release namespace, which the entries always
	// exclude (default plimsoll-system).
	Namespace string
	// Scope is the value scope (default opt-in).
	Scope admission.Scope
	// DefaultMode is the mode of unlabelled namespaces with scope cluster
	// (default warn).
	DefaultMode admission.Mode
	// DryRun renders the audit entries only.
	DryRun bool
	// ExcludedNamespaces are excluded besides kube-system, kube-public,
	// kube-node-lease and Namespace.
	ExcludedNamespaces []string
	// FailurePolicy overrides webhook.failurePolicy of some modes (default
	// Fail for enforce, Ignore for warn and audit).
	FailurePolicy map[admission.Mode]admissionregistrationv1.FailurePolicyType
	// TimeoutSeconds is webhook.timeoutSeconds (0: the chart's, 5).
	TimeoutSeconds int32
	// ConfigMapValidation is configMapValidation.enabled: the validating
	// entries also send ConfigMaps.
	ConfigMapValidation bool
}

// Release is the release name the tests install and render the chart as.
const Release = "plimsoll"

// DefaultNamespace is the release namespace of the tests and of config/.
const DefaultNamespace = "plimsoll-system"

// ReleaseNamespace is v.Namespace or DefaultNamespace.
func (v WebhookValues) ReleaseNamespace() string {
	if v.Namespace == "" {
		return DefaultNamespace
	}
	return v.Namespace
}

// Flags are the helm flags (--set ...) that set v, in a stable order.
func (v WebhookValues) Flags() []string {
	var f []string
	if v.Name != "" {
		f = append(f, "--set", "fullnameOverride="+v.Name)
	}
	if v.Scope != "" {
		f = append(f, "--set", "scope="+string(v.Scope))
	}
	if v.DefaultMode != "" {
		f = append(f, "--set", "defaultMode="+string(v.DefaultMode))
	}
	if v.DryRun {
		f = append(f, "--set", "dryRun=true")
	}
	if len(v.ExcludedNamespaces) > 0 {
		j, _ := json.Marshal(v.ExcludedNamespaces)
		f = append(f, "--set-json", "excludedNamespaces="+string(j))
	}
	modes := make([]string, 0, len(v.FailurePolicy))
	for m := range v.FailurePolicy {
		modes = append(modes, string(m))
	}
	slices.Sort(modes)
	for _, m := range modes {
		f = append(f, "--set", fmt.Sprintf("webhook.failurePolicy.%s=%s", m, v.FailurePolicy[admission.Mode(m)]))
	}
	if v.TimeoutSeconds > 0 {
		f = append(f, "--set", fmt.Sprintf("webhook.timeoutSeconds=%d", v.TimeoutSeconds))
	}
	if v.ConfigMapValidation {
		f = append(f, "--set", "configMapValidation.enabled=true")
	}
	return f
}

// Webhooks renders the chart (Helm 3) with v and returns its two webhook
// configurations, each entry's clientConfig replaced by clientConfig(path)
// (see PointWebhooksAt): the chart's own entries, rules, selectors and
// failure policies, calling a plimsoll that runs outside a cluster.
func Webhooks(v WebhookValues, clientConfig func(path string) admissionregistrationv1.WebhookClientConfig) (*admissionregistrationv1.MutatingWebhookConfiguration, *admissionregistrationv1.ValidatingWebhookConfiguration, error) {
	out, err := renderValues(v)
	if err != nil {
		return nil, nil, err
	}
	objs, err := Decode(out)
	if err != nil {
		return nil, nil, err
	}
	return PointWebhooksAt(objs, clientConfig)
}

// renderValues is what the chart renders with the values v. With
// FromConfig and the chart's defaults it is read from
// config/overlays/default, which `make generate`
// renders from the chart with exactly those values (and test/chart fails
// while it is stale): so `make demo`, which installs the defaults, needs
// no Helm.
func renderValues(v WebhookValues) ([]byte, error) {
	if !v.FromConfig || len(v.Flags()) > 0 || v.ReleaseNamespace() != DefaultNamespace {
		return Template(Release, v.ReleaseNamespace(), v.Flags()...)
	}
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	var out []byte
	for _, f := range []string{"webhook-mutating.yaml", "webhook-validating.yaml"} {
		b, err := os.ReadFile(filepath.Join(root, "config", "overlays", "default", f))
		if err != nil {
			return nil, err
		}
		out = append(append(out, b...), "\n---\n"...)
	}
	return out, nil
}

// URLClientConfig is a clientConfig that calls path on a plimsoll serving
// at https://host:port, trusting caPEM (nil: the API server's roots).
func URLClientConfig(hostPort string, caPEM []byte) func(path string) admissionregistrationv1.WebhookClientConfig {
	return func(path string) admissionregistrationv1.WebhookClientConfig {
		url := "https://" + hostPort + path
		return admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: caPEM}
	}
}
