package webhook

import (
	"fmt"
	"slices"

	"github.com/plimsoll/plimsoll/admission"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Registration describes the webhook configurations to install. The Helm
// chart renders the same objects; e2e tests and `make demo` build them
// from here.
type Registration struct {
	// Name prefixes the configurations' names ("plimsoll").
	Name string
	// Namespace is plimsoll's own namespace, always excluded.
	Namespace string
	Scope     admission.Scope
	// DefaultMode is the mode of unlabelled namespaces when Scope is cluster.
	DefaultMode admission.Mode
	// DryRun registers the audit entry only, for every selected namespace.
	DryRun bool
	// ExcludedNamespaces are excluded in addition to admission.AlwaysExcluded.
	ExcludedNamespaces []string
	// ClientConfig returns how the API server reaches path, e.g.
	// "/validate/enforce".
	ClientConfig func(path string) admissionregistrationv1.WebhookClientConfig
	// TimeoutSeconds bounds each call (5).
	TimeoutSeconds int32
	// FailurePolicy per mode; by default Fail for enforce, Ignore for
	// warn and audit.
	FailurePolicy map[admission.Mode]admissionregistrationv1.FailurePolicyType
}

// ValidatedResources are the resources the validating webhook judges.
var ValidatedResources = []admissionregistrationv1.RuleWithOperations{
	{
		Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
		Rule: admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"},
			Resources: []string{"pods", "pods/ephemeralcontainers", "replicationcontrollers"}, Scope: ptrTo(admissionregistrationv1.NamespacedScope)},
	},
	{
		Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
		Rule: admissionregistrationv1.Rule{APIGroups: []string{"apps"}, APIVersions: []string{"v1"},
			Resources: []string{"deployments", "statefulsets", "daemonsets", "replicasets"}, Scope: ptrTo(admissionregistrationv1.NamespacedScope)},
	},
	{
		Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
		Rule: admissionregistrationv1.Rule{APIGroups: []string{"batch"}, APIVersions: []string{"v1"},
			Resources: []string{"jobs", "cronjobs"}, Scope: ptrTo(admissionregistrationv1.NamespacedScope)},
	},
}

// MutatedResources are the resources the mutating webhook defaults.
var MutatedResources = []admissionregistrationv1.RuleWithOperations{{
	Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
	Rule: admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"},
		Resources: []string{"pods"}, Scope: ptrTo(admissionregistrationv1.NamespacedScope)},
}}

// modes returns the modes that get an entry.
func (r Registration) modes() []admission.Mode {
	if r.DryRun {
		return []admission.Mode{admission.Audit}
	}
	return admission.ServedModes
}

// NamespaceSelector selects the namespaces of mode m.
func (r Registration) NamespaceSelector(m admission.Mode) *metav1.LabelSelector {
	excluded := append(slices.Clone(admission.AlwaysExcluded), r.ExcludedNamespaces...)
	if r.Namespace != "" {
		excluded = append(excluded, r.Namespace)
	}
	slices.Sort(excluded)
	excluded = slices.Compact(excluded)
	exprs := []metav1.LabelSelectorRequirement{{
		Key: "kubernetes.io/metadata.name", Operator: metav1.LabelSelectorOpNotIn, Values: excluded,
	}}
	switch {
	case r.DryRun && r.Scope == admission.ScopeCluster:
		// every namespace but those turned off
		exprs = append(exprs, metav1.LabelSelectorRequirement{Key: admission.ModeLabel, Operator: metav1.LabelSelectorOpNotIn, Values: []string{string(admission.Off)}})
	case r.DryRun:
		exprs = append(exprs, metav1.LabelSelectorRequirement{Key: admission.ModeLabel, Operator: metav1.LabelSelectorOpIn, Values: []string{string(admission.Enforce), string(admission.Warn), string(admission.Audit)}})
	case r.Scope == admission.ScopeCluster && m == r.DefaultMode:
		// labelled m, or not labelled at all: NotIn matches a missing label
		var others []string
		for _, o := range []admission.Mode{admission.Enforce, admission.Warn, admission.Audit, admission.Off} {
			if o != m {
				others = append(others, string(o))
			}
		}
		exprs = append(exprs, metav1.LabelSelectorRequirement{Key: admission.ModeLabel, Operator: metav1.LabelSelectorOpNotIn, Values: others})
	default:
		exprs = append(exprs, metav1.LabelSelectorRequirement{Key: admission.ModeLabel, Operator: metav1.LabelSelectorOpIn, Values: []string{string(m)}})
	}
	return &metav1.LabelSelector{MatchExpressions: exprs}
}

func (r Registration) failurePolicy(m admission.Mode) *admissionregistrationv1.FailurePolicyType {
	if fp, ok := r.FailurePolicy[m]; ok {
		return &fp
	}
	if m == admission.Enforce {
		return ptrTo(admissionregistrationv1.Fail)
	}
	return ptrTo(admissionregistrationv1.Ignore)
}

func (r Registration) timeout() *int32 {
	if r.TimeoutSeconds > 0 {
		return ptrTo(r.TimeoutSeconds)
	}
	return ptrTo(int32(5))
}

// Configurations returns the mutating and validating webhook
// configurations, one entry per mode.
func (r Registration) Configurations() (*admissionregistrationv1.MutatingWebhookConfiguration, *admissionregistrationv1.ValidatingWebhookConfiguration) {
	name := r.Name
	if name == "" {
		name = "plimsoll"
	}
	mwc := &admissionregistrationv1.MutatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: name}}
	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: name}}
	for _, m := range r.modes() {
		mwc.Webhooks = append(mwc.Webhooks, admissionregistrationv1.MutatingWebhook{
			Name:                    fmt.Sprintf("%s.mutate.plimsoll.dev", m),
			ClientConfig:            r.ClientConfig("/mutate/" + string(m)),
			Rules:                   MutatedResources,
			FailurePolicy:           r.failurePolicy(m),
			MatchPolicy:             ptrTo(admissionregistrationv1.Equivalent),
			NamespaceSelector:       r.NamespaceSelector(m),
			SideEffects:             ptrTo(admissionregistrationv1.SideEffectClassNone),
			TimeoutSeconds:          r.timeout(),
			AdmissionReviewVersions: []string{"v1"},
			ReinvocationPolicy:      ptrTo(admissionregistrationv1.IfNeededReinvocationPolicy),
		})
		vwc.Webhooks = append(vwc.Webhooks, admissionregistrationv1.ValidatingWebhook{
			Name:                    fmt.Sprintf("%s.validate.plimsoll.dev", m),
			ClientConfig:            r.ClientConfig("/validate/" + string(m)),
			Rules:                   ValidatedResources,
			FailurePolicy:           r.failurePolicy(m),
			MatchPolicy:             ptrTo(admissionregistrationv1.Equivalent),
			NamespaceSelector:       r.NamespaceSelector(m),
			SideEffects:             ptrTo(admissionregistrationv1.SideEffectClassNone),
			TimeoutSeconds:          r.timeout(),
			AdmissionReviewVersions: []string{"v1"},
		})
	}
	return mwc, vwc
}

func ptrTo[T any](v T) *T { return &v }
