package main

import (
	"flag"
	"fmt"
	"log/slog"
	"strings"

	"github.com/plimsoll/plimsoll/internal/certs/selfmanaged"
	"github.com/plimsoll/plimsoll/internal/kube"
	"github.com/plimsoll/plimsoll/webhook"
)

// selfManagedFlags are the flags of `serve --tls-self-managed`.
type selfManagedFlags struct {
	enabled    bool
	kubeconfig string
	opts       selfmanaged.Options
}

// hiddenFlags are left out of -h: they exist so tests can force a
// rotation in seconds.
var hiddenFlags = map[string]bool{"tls-ca-lifetime": true, "tls-cert-lifetime": true}

func addSelfManagedFlags(fs *flag.FlagSet) *selfManagedFlags {
	f := &selfManagedFlags{opts: selfmanaged.DefaultOptions()}
	o := &f.opts
	fs.BoolVar(&f.enabled, "tls-self-managed", false, "create the CA and serving certificate, keep them in a Secret, write the certificate to --tls-cert-file and --tls-key-file and the caBundle into the webhook configurations, and rotate before expiry")
	fs.StringVar(&o.SecretName, "tls-secret-name", o.SecretName, "with --tls-self-managed: the Secret holding the serving certificate and key and the CA's certificate, never the CA's key (created if missing)")
	fs.StringVar(&o.CASecretName, "tls-ca-secret-name", o.CASecretName, "with --tls-self-managed: the Secret holding the CA and its key, apart from the serving certificate (default <tls-secret-name>-ca; created if missing)")
	fs.StringVar(&o.SecretNamespace, "tls-secret-namespace", o.SecretNamespace, "with --tls-self-managed: the Secret's namespace (default: env POD_NAMESPACE)")
	fs.StringVar(&o.WebhookConfigName, "webhook-config-name", o.WebhookConfigName, "with --tls-self-managed: the MutatingWebhookConfiguration and ValidatingWebhookConfiguration whose caBundle plimsoll writes")
	fs.StringVar(&o.ServiceName, "tls-service-name", o.ServiceName, "with --tls-self-managed: the Service in front of plimsoll; the certificate is valid for <svc>.<namespace>.svc and <svc>.<namespace>.svc.cluster.local")
	fs.Func("tls-extra-san", "with --tls-self-managed: a further `name` (DNS name or IP address) for the certificate; repeatable, or comma-separated", func(v string) error {
		for _, san := range strings.Split(v, ",") {
			if san = strings.TrimSpace(san); san != "" {
				o.ExtraSANs = append(o.ExtraSANs, san)
			}
		}
		return nil
	})
	fs.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig file to reach the API server, for --tls-self-managed and for the caches the context rules read (default, as kubectl: $KUBECONFIG, then ~/.kube/config, then the in-cluster service account; none: the context rules are skipped)")
	fs.DurationVar(&o.CALifetime, "tls-ca-lifetime", o.CALifetime, "(testing) how long a CA is valid")
	fs.DurationVar(&o.CertLifetime, "tls-cert-lifetime", o.CertLifetime, "(testing) how long a serving certificate is valid")
	return f
}

// validate checks the self-managed flags, taking the file names from o.
func (f *selfManagedFlags) validate(o webhook.Options) error {
	if !f.enabled {
		return nil
	}
	f.opts.CertFile, f.opts.KeyFile = o.TLSCertFile, o.TLSKeyFile
	return f.opts.Validate()
}

// provider returns the TLSProvider of --tls-self-managed, or nil without it.
func (f *selfManagedFlags) provider(log *slog.Logger) (webhook.TLSProvider, error) {
	if !f.enabled {
		return nil, nil
	}
	cfg, _, err := kubeClientConfig(f.kubeconfig, "")
	if err != nil {
		return nil, fmt.Errorf("--tls-self-managed needs the API server: %w", err)
	}
	cfg.UserAgent = "plimsoll/" + version
	client, err := kube.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return selfmanaged.New(f.opts, client, log)
}

// usageWithoutHidden prints fs's flags except hiddenFlags.
func usageWithoutHidden(fs *flag.FlagSet) func() {
	return func() {
		shown := flag.NewFlagSet(fs.Name(), flag.ContinueOnError)
		fs.VisitAll(func(f *flag.Flag) {
			if !hiddenFlags[f.Name] {
				shown.Var(f.Value, f.Name, f.Usage)
				shown.Lookup(f.Name).DefValue = f.DefValue
			}
		})
		shown.SetOutput(fs.Output())
		fmt.Fprintf(fs.Output(), "Usage of %s:\n", fs.Name())
		shown.PrintDefaults()
	}
}
