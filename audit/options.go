package audit

// What configures an audit: Options for the one-shot audit (Run), and
// BackgroundOptions, which add what `plimsoll audit --watch` needs
// (listeners, reports, resync, workers). Each has its defaults and a
// Validate that names the flags.

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/plimsoll/plimsoll/admission"

	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/plimsoll/plimsoll/internal/kube"
	"github.com/plimsoll/plimsoll/internal/serving"
	"github.com/plimsoll/plimsoll/policy"
)

// Options configure an audit. DefaultOptions gives every field its
// default; Validate says what is wrong with a combination.
type Options struct {
	// Config reaches the API server. Run copies it and sets QPS, Burst and
	// the protobuf content type on the copy.
	Config *rest.Config
	// Client, when set, is used instead of a client built from Config
	// (tests hand in client-go's fake clientset, through internal/kube/kubetest).
	Client kube.Interface
	// QPS and Burst bound the request rate (client-go's token bucket):
	// 20 requests a second, bursts of 40. An audit of ten thousand objects
	// needs about 20 list requests, so the bound costs nothing there and
	// protects the API server of a cluster with far more.
	QPS   float32
	Burst int
	// PageSize is the Limit of each List (500, as kubectl): client-go's
	// pager (k8s.io/client-go/tools/pager) fetches the next page with the
	// continue token of the last.
	PageSize int64

	// Policy is the policy to judge by (default: the built-in policy).
	Policy *policy.Policy
	// Mode is enforce (default: error-severity findings are what enforce
	// would deny) or warn (every finding is a warning).
	Mode admission.Mode
	// Namespace, when set, audits that namespace only, whatever its label
	// and the scope: the "what if" of one namespace. It may not be one
	// plimsoll never touches.
	Namespace string
	// Scope is opt-in (default: only namespaces whose plimsoll.dev/mode
	// label is enforce, warn or audit) or cluster (every namespace not
	// labelled off), as the webhook's scope.
	Scope admission.Scope
	// ExcludeNamespaces are never audited, in addition to kube-system,
	// kube-public and kube-node-lease (add plimsoll's own namespace here).
	ExcludeNamespaces []string

	// File is what the "file" field of each result says ("cluster").
	File string
	// Progress, when not nil, receives a one-line progress indicator
	// (carriage returns, no newlines until the end): give it a terminal.
	Progress io.Writer
	// Now decides whether exemptions have expired (zero: time.Now()).
	Now time.Time
}

// DefaultOptions returns the defaults of `plimsoll audit`.
func DefaultOptions() Options {
	return Options{
		QPS:      20,
		Burst:    40,
		PageSize: 500,
		Mode:     admission.Enforce,
		Scope:    admission.ScopeOptIn,
		File:     "cluster",
	}
}

// Validate reports what is wrong with the options, all at once.
func (o *Options) Validate() error {
	var errs []error
	if o.Config == nil && o.Client == nil {
		errs = append(errs, errors.New("no API server to talk to (no kubeconfig, no in-cluster configuration)"))
	}
	if _, err := admission.ParseJudgingMode(string(o.Mode)); err != nil {
		errs = append(errs, fmt.Errorf("--mode %w", err))
	}
	if o.Scope != admission.ScopeOptIn && o.Scope != admission.ScopeCluster {
		errs = append(errs, fmt.Errorf("--scope %q: use opt-in or cluster", o.Scope))
	}
	if o.QPS <= 0 || o.Burst < 1 {
		errs = append(errs, fmt.Errorf("--qps %v and --burst %d must be above zero", o.QPS, o.Burst))
	}
	if o.PageSize < 1 {
		errs = append(errs, fmt.Errorf("--page-size %d must be above zero", o.PageSize))
	}
	for _, ns := range append([]string{o.Namespace}, o.ExcludeNamespaces...) {
		if ns == "" {
			continue
		}
		if msgs := validation.IsDNS1123Label(ns); len(msgs) > 0 {
			errs = append(errs, fmt.Errorf("namespace %q is not a valid namespace name: %s", ns, msgs[0]))
		}
	}
	if o.Namespace != "" {
		if slices.Contains(admission.AlwaysExcluded, o.Namespace) {
			errs = append(errs, fmt.Errorf("--namespace %s: plimsoll never touches %s, so a switch to enforce would refuse nothing there", o.Namespace, strings.Join(admission.AlwaysExcluded, ", ")))
		} else if slices.Contains(o.ExcludeNamespaces, o.Namespace) {
			errs = append(errs, fmt.Errorf("--namespace %s is also given to --exclude-namespace", o.Namespace))
		}
	}
	return errors.Join(errs...)
}

// BackgroundOptions configure the in-cluster background audit.
type BackgroundOptions struct {
	// Options choose the namespaces, the mode and the API server, as for
	// Run; Policy is the policy when ConfigFile is empty.
	Options
	// ConfigFile is the policy file, re-read every ConfigPollInterval
	// (2s): a change re-evaluates every namespace; an invalid version
	// keeps the last good policy.
	ConfigFile         string
	ConfigPollInterval time.Duration
	// MetricsListen serves /metrics (":8080"; serving.Off, "0", turns it
	// off).
	MetricsListen string
	// HealthListen serves /healthz and /readyz (":8081"; serving.Off,
	// "0", turns it off). Ready once the informers have synced and every
	// namespace has been evaluated once.
	HealthListen string
	// Reports turns on PolicyReports (wgpolicyk8s.io/v1alpha2), one per
	// namespace, named "plimsoll".
	Reports bool
	// Resync re-evaluates every namespace this often (10m), so exemptions
	// that expire take effect without a change to any object.
	Resync time.Duration
	// Debounce is how long a namespace waits after a change before it is
	// re-evaluated (1s): a rollout's burst of events costs one pass.
	Debounce time.Duration
	// Workers re-evaluate namespaces in parallel (2).
	Workers int
	Log     *slog.Logger
	// Dynamic writes PolicyReports (default: built from Config).
	Dynamic dynamic.Interface
}

// DefaultBackgroundOptions returns the defaults of `plimsoll audit --watch`.
func DefaultBackgroundOptions() BackgroundOptions {
	return BackgroundOptions{
		Options:            DefaultOptions(),
		ConfigPollInterval: 2 * time.Second,
		MetricsListen:      ":8080",
		HealthListen:       ":8081",
		Reports:            true,
		Resync:             10 * time.Minute,
		Debounce:           time.Second,
		Workers:            2,
	}
}

// Validate reports what is wrong with the options, all at once.
func (o *BackgroundOptions) Validate() error {
	return errors.Join(o.Options.Validate(), o.serving().Validate())
}

// serving are the options of the health and metrics listeners.
func (o *BackgroundOptions) serving() serving.Options {
	return serving.Options{HealthListen: o.HealthListen, MetricsListen: o.MetricsListen}
}

// withDefaults fills what the caller left zero.
func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.QPS == 0 {
		o.QPS = d.QPS
	}
	if o.Burst == 0 {
		o.Burst = d.Burst
	}
	if o.PageSize == 0 {
		o.PageSize = d.PageSize
	}
	if o.Mode == "" {
		o.Mode = d.Mode
	}
	if o.Scope == "" {
		o.Scope = d.Scope
	}
	if o.File == "" {
		o.File = d.File
	}
	if o.Policy == nil {
		o.Policy = policy.Default()
	}
	return o
}

// client returns the client to list with: o.Client, or one built from
// o.Config with the rate bound and protobuf (the cheapest encoding to
// decode ten thousand objects).
func (o Options) client() (kube.Interface, error) {
	if o.Client != nil {
		return o.Client, nil
	}
	cfg := rest.CopyConfig(o.Config)
	cfg.QPS, cfg.Burst = o.QPS, o.Burst
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	if cfg.UserAgent == "" {
		cfg.UserAgent = "plimsoll-audit"
	}
	return kube.NewForConfig(cfg)
}
