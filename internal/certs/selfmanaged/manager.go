package selfmanaged

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/tools/cache"

	"github.com/plimsoll/plimsoll/internal/kube"
)

// Options configure self-managed TLS. Each field's default is the flag's.
type Options struct {
	// SecretName and SecretNamespace name the Secret that holds the
	// serving certificate and key, with the CA's certificate but not its
	// key ("plimsoll-tls" in env POD_NAMESPACE).
	SecretName      string
	SecretNamespace string
	// CASecretName names the Secret, in SecretNamespace, that holds the
	// CA's key ("" means SecretName + "-ca"). An install that creates both
	// Secrets empty (the chart, config/) spares plimsoll the right to
	// create Secrets; a Secret that is missing is created.
	CASecretName string
	// WebhookConfigName names both the MutatingWebhookConfiguration and
	// the ValidatingWebhookConfiguration whose caBundle is written
	// ("plimsoll").
	WebhookConfigName string
	// ServiceName is the Service in front of plimsoll ("plimsoll"): the
	// certificate is valid for <svc>.<ns>.svc and <svc>.<ns>.svc.cluster.local.
	ServiceName string
	// ExtraSANs are further DNS names or IP addresses for the certificate.
	ExtraSANs []string
	// CertFile and KeyFile are where the serving certificate and key are
	// written (those of --tls-cert-file and --tls-key-file).
	CertFile, KeyFile string
	// CALifetime is how long a CA is valid (10 years); it is replaced
	// after two thirds of it.
	CALifetime time.Duration
	// CertLifetime is how long a serving certificate is valid (1 year);
	// it is renewed after two thirds of it.
	CertLifetime time.Duration
	// ResyncInterval is the longest time between two checks when nothing
	// changes (10m); changes to the Secret or the webhook configurations
	// are seen at once.
	ResyncInterval time.Duration
}

// DefaultOptions returns the defaults of the --tls-* flags.
func DefaultOptions() Options {
	return Options{
		SecretName:        "plimsoll-tls",
		SecretNamespace:   os.Getenv("POD_NAMESPACE"),
		WebhookConfigName: "plimsoll",
		ServiceName:       "plimsoll",
		CALifetime:        10 * 365 * 24 * time.Hour,
		CertLifetime:      365 * 24 * time.Hour,
		ResyncInterval:    10 * time.Minute,
	}
}

// CASecret is the name of the Secret holding the CA's key.
func (o Options) CASecret() string {
	if o.CASecretName != "" {
		return o.CASecretName
	}
	return o.SecretName + "-ca"
}

// minLifetime keeps renewals at least seconds apart.
const minLifetime = 5 * time.Second

// Validate says what is wrong with o, in terms of flags.
func (o Options) Validate() error {
	var errs []error
	if o.SecretNamespace == "" {
		errs = append(errs, errors.New("--tls-secret-namespace is required with --tls-self-managed (or env POD_NAMESPACE, from the downward API)"))
	}
	for flag, v := range map[string]string{"--tls-secret-name": o.SecretName, "--webhook-config-name": o.WebhookConfigName, "--tls-service-name": o.ServiceName} {
		if v == "" {
			errs = append(errs, fmt.Errorf("%s must not be empty with --tls-self-managed", flag))
		}
	}
	if o.SecretName != "" && o.CASecret() == o.SecretName {
		errs = append(errs, fmt.Errorf("--tls-ca-secret-name must differ from --tls-secret-name (%q): the CA's key is kept apart from the serving certificate", o.SecretName))
	}
	if o.CertFile == "" || o.KeyFile == "" {
		errs = append(errs, errors.New("--tls-cert-file and --tls-key-file are required with --tls-self-managed: plimsoll writes the certificate there"))
	}
	for _, san := range o.ExtraSANs {
		if !isIP(san) && len(validation.IsDNS1123Subdomain(strings.TrimPrefix(san, "*."))) > 0 {
			errs = append(errs, fmt.Errorf("--tls-extra-san %q is neither a DNS name nor an IP address", san))
		}
	}
	if o.CALifetime < minLifetime || o.CertLifetime < minLifetime || o.CertLifetime > o.CALifetime {
		errs = append(errs, fmt.Errorf("certificate lifetimes must be at least %s, the serving certificate's no longer than the CA's", minLifetime))
	}
	if o.ResyncInterval <= 0 {
		errs = append(errs, errors.New("the resync interval must be positive"))
	}
	return errors.Join(errs...)
}

// SANs are the names and addresses the serving certificate is valid for.
func (o Options) SANs() []string {
	svc := o.ServiceName + "." + o.SecretNamespace + ".svc"
	sans := append([]string{svc, svc + ".cluster.local"}, o.ExtraSANs...)
	slices.Sort(sans)
	return slices.Compact(sans)
}

// Manager keeps the CA, the serving certificate, their files and the
// webhook configurations' caBundle in step. It is safe to run in several
// replicas at once.
type Manager struct {
	opts    Options
	client  kube.Interface
	log     *slog.Logger
	now     func() time.Time
	trigger chan struct{}

	ready    atomic.Bool
	waiting  atomic.Pointer[string] // why not ready yet
	notAfter atomic.Pointer[time.Time]
}

// New returns a Manager; nothing happens until Run.
func New(o Options, client kube.Interface, log *slog.Logger) (*Manager, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	m := &Manager{opts: o, client: client, log: log.With("component", "self-managed-tls"), now: time.Now, trigger: make(chan struct{}, 1)}
	m.setWaiting("the certificate has not been set up yet")
	return m, nil
}

// Ready returns nil once a serving certificate has been written and both
// webhook configurations trust its CA; until then it says what is missing.
// It stays nil afterwards: the certificate in place stays valid while a
// later check fails, and that failure is logged.
func (m *Manager) Ready() error {
	if m.ready.Load() {
		return nil
	}
	return errors.New(*m.waiting.Load())
}

// NotAfter is when the serving certificate last written expires (zero
// before the first).
func (m *Manager) NotAfter() time.Time {
	if t := m.notAfter.Load(); t != nil {
		return *t
	}
	return time.Time{}
}

func (m *Manager) setWaiting(why string) { m.waiting.Store(&why) }

const (
	minRetry = 500 * time.Millisecond
	maxRetry = 30 * time.Second
	// notReadyRecheck bounds the wait while a webhook configuration is
	// missing, in case its watch is not allowed.
	notReadyRecheck = 5 * time.Second
	callTimeout     = 15 * time.Second
)

// Run checks at once, then whenever the Secret or a webhook configuration
// changes, when the next renewal is due, and at least every
// ResyncInterval, until ctx ends. Failures are logged and retried with
// backoff; Run returns nil when ctx ends.
func (m *Manager) Run(ctx context.Context) error {
	m.watch(ctx)
	m.log.Info("managing the webhook's TLS certificate", "secret", m.opts.SecretNamespace+"/"+m.opts.SecretName,
		"ca_secret", m.opts.SecretNamespace+"/"+m.opts.CASecret(),
		"webhook_configurations", m.opts.WebhookConfigName, "sans", m.opts.SANs(),
		"ca_lifetime", m.opts.CALifetime.String(), "cert_lifetime", m.opts.CertLifetime.String())
	retry := minRetry
	for {
		next, err := m.reconcile(ctx)
		var wait time.Duration
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			if !m.ready.Load() {
				m.setWaiting("setting up the certificate failed: " + err.Error())
			}
			m.log.Error("self-managed TLS check failed; retrying", "error", err.Error(), "retry_in", retry.String())
			wait, retry = retry, min(2*retry, maxRetry)
		default:
			retry = minRetry
			wait = min(max(next.Sub(m.now()), minRetry), m.opts.ResyncInterval)
			if !m.ready.Load() {
				wait = min(wait, notReadyRecheck)
			}
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-m.trigger:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// watch starts informers on the Secrets and the webhook configurations,
// selected by name so RBAC can restrict them with resourceNames; any
// change triggers a check.
func (m *Manager) watch(ctx context.Context) {
	kick := func() {
		select {
		case m.trigger <- struct{}{}:
		default:
		}
	}
	handler := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { kick() },
		UpdateFunc: func(any, any) { kick() },
		DeleteFunc: func(any) { kick() },
	}
	byName := func(name string) kube.InformerOptions {
		return kube.InformerOptions{Resync: m.opts.ResyncInterval, Tweak: func(lo *metav1.ListOptions) {
			lo.FieldSelector = fields.OneTermEqualSelector("metadata.name", name).String()
		}}
	}
	c := m.client
	for _, inf := range []cache.SharedIndexInformer{
		kube.NewInformer(c, c.Secrets(m.opts.SecretNamespace), byName(m.opts.SecretName)),
		kube.NewInformer(c, c.Secrets(m.opts.SecretNamespace), byName(m.opts.CASecret())),
		kube.NewInformer(c, c.MutatingWebhookConfigurations(), byName(m.opts.WebhookConfigName)),
		kube.NewInformer(c, c.ValidatingWebhookConfigurations(), byName(m.opts.WebhookConfigName)),
	} {
		_, _ = inf.AddEventHandler(handler)
		go inf.RunWithContext(ctx)
	}
}

// reconcile runs one check; whoever loses a race for the Secret or a
// webhook configuration reads again and decides again.
func (m *Manager) reconcile(ctx context.Context) (time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	for attempt := 1; ; attempt++ {
		next, err := m.reconcileOnce(ctx)
		if attempt < 8 && (apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err)) {
			m.log.Debug("lost a race with another replica; reading again", "error", err.Error())
			continue
		}
		return next, err
	}
}

func (m *Manager) reconcileOnce(ctx context.Context) (time.Time, error) {
	o := m.opts
	// The webhook configurations are read before the Secret: a replica
	// that read an older Secret then fails to write its older bundle (a
	// conflict) instead of undoing a newer one.
	mwc, err := m.client.MutatingWebhookConfigurations().Get(ctx, o.WebhookConfigName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		mwc, err = nil, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("reading MutatingWebhookConfiguration %s: %w", o.WebhookConfigName, err)
	}
	vwc, err := m.client.ValidatingWebhookConfigurations().Get(ctx, o.WebhookConfigName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		vwc, err = nil, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("reading ValidatingWebhookConfiguration %s: %w", o.WebhookConfigName, err)
	}

	// Both Secrets are read after the configurations, for the same reason.
	caSecret, err := m.getSecret(ctx, o.CASecret())
	if err != nil {
		return time.Time{}, err
	}
	servingSecret, err := m.getSecret(ctx, o.SecretName)
	if err != nil {
		return time.Time{}, err
	}
	st := readState(dataOf(caSecret), dataOf(servingSecret))
	now := m.now()
	st, did, err := plan(st, planInput{
		now: now, caLifetime: o.CALifetime, certLifetime: o.CertLifetime,
		caName: "plimsoll " + o.SecretNamespace, sans: o.SANs(),
		nextTrusted: st.next == nil || trusts(mwc, vwc, st.next.cert.Raw),
	})
	if err != nil {
		return time.Time{}, err
	}
	if st.caFromServing {
		did = append(did, "moved the CA's key out of the serving Secret into the CA Secret")
	}
	// The CA Secret first: when the serving Secret still holds the CA's
	// key, it is dropped from there only once the CA Secret holds it.
	if err := m.store(ctx, caSecret, o.CASecret(), corev1.SecretTypeOpaque, "webhook-ca", st.caData(), caKeys, did); err != nil {
		return time.Time{}, err
	}
	if err := m.store(ctx, servingSecret, o.SecretName, corev1.SecretTypeTLS, "webhook-tls", st.servingData(), servingKeys, did); err != nil {
		return time.Time{}, err
	}

	if err := m.writeFiles(st.serving); err != nil {
		return time.Time{}, err
	}
	bundle := encodeCerts(st.bundle)
	if err := m.inject(ctx, mwc, vwc, bundle); err != nil {
		return time.Time{}, err
	}
	switch {
	case mwc == nil:
		m.setWaiting(fmt.Sprintf("waiting for MutatingWebhookConfiguration %s to exist, to write its caBundle", o.WebhookConfigName))
	case vwc == nil:
		m.setWaiting(fmt.Sprintf("waiting for ValidatingWebhookConfiguration %s to exist, to write its caBundle", o.WebhookConfigName))
	default:
		if !m.ready.Swap(true) {
			m.log.Info("the serving certificate is in place and the webhook configurations trust it", "not_after", st.serving.cert.NotAfter)
		}
	}
	return st.nextCheck(), nil
}

// getSecret reads the Secret name of the namespace; nil if there is none.
func (m *Manager) getSecret(ctx context.Context, name string) (*corev1.Secret, error) {
	s, err := m.client.Secrets(m.opts.SecretNamespace).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("reading Secret %s/%s: %w", m.opts.SecretNamespace, name, err)
	}
	return s, nil
}

func dataOf(s *corev1.Secret) map[string][]byte {
	if s == nil {
		return nil
	}
	return s.Data
}

// store makes keys of the Secret name hold data: it updates secret (read
// before, nil if there is none) when one of keys differs, keeping keys
// plimsoll does not own, or creates it with type typ. An install that
// creates the Secret empty (the chart, config/) spares plimsoll the right
// to create Secrets.
func (m *Manager) store(ctx context.Context, secret *corev1.Secret, name string, typ corev1.SecretType, component string, data map[string][]byte, keys []string, did []string) error {
	ns := m.opts.SecretNamespace
	secrets := m.client.Secrets(ns)
	if secret == nil {
		secret = &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns,
				Labels: map[string]string{"app.kubernetes.io/managed-by": "plimsoll", "app.kubernetes.io/component": component}},
			Type: typ,
			Data: data,
		}
		if _, err := secrets.Create(ctx, secret, metav1.CreateOptions{}); err != nil {
			if apierrors.IsForbidden(err) {
				return fmt.Errorf("creating Secret %s/%s: %w (create the Secret empty with the install, as the chart does, or allow plimsoll to create Secrets)", ns, name, err)
			}
			return fmt.Errorf("creating Secret %s/%s: %w", ns, name, err)
		}
		m.log.Info("created a TLS Secret", "secret", name, "did", did)
		return nil
	}
	if !differs(secret.Data, data, keys) {
		return nil
	}
	if secret.Data == nil {
		secret.Data = map[string][]byte{}
	}
	for _, k := range keys {
		if v, ok := data[k]; ok {
			secret.Data[k] = v
		} else {
			delete(secret.Data, k)
		}
	}
	// The update carries the resourceVersion read above: if another
	// replica wrote in between, it fails and reconcile reads again.
	if _, err := secrets.Update(ctx, secret, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("updating Secret %s/%s: %w", ns, name, err)
	}
	m.log.Info("updated a TLS Secret", "secret", name, "did", did)
	return nil
}

// trusts says whether every webhook of the configurations that exist has
// the certificate der in its caBundle.
func trusts(mwc *admissionregistrationv1.MutatingWebhookConfiguration, vwc *admissionregistrationv1.ValidatingWebhookConfiguration, der []byte) bool {
	var bundles [][]byte
	if mwc != nil {
		for _, w := range mwc.Webhooks {
			bundles = append(bundles, w.ClientConfig.CABundle)
		}
	}
	if vwc != nil {
		for _, w := range vwc.Webhooks {
			bundles = append(bundles, w.ClientConfig.CABundle)
		}
	}
	for _, b := range bundles {
		if !slices.ContainsFunc(parseCerts(b), func(c *x509.Certificate) bool { return bytes.Equal(c.Raw, der) }) {
			return false
		}
	}
	return true
}

// inject writes bundle into every webhook of the configurations that
// exist, with the resourceVersion they were read at.
func (m *Manager) inject(ctx context.Context, mwc *admissionregistrationv1.MutatingWebhookConfiguration, vwc *admissionregistrationv1.ValidatingWebhookConfiguration, bundle []byte) error {
	if mwc != nil {
		changed := false
		for i := range mwc.Webhooks {
			if !bytes.Equal(mwc.Webhooks[i].ClientConfig.CABundle, bundle) {
				mwc.Webhooks[i].ClientConfig.CABundle = bundle
				changed = true
			}
		}
		if changed {
			if _, err := m.client.MutatingWebhookConfigurations().Update(ctx, mwc, metav1.UpdateOptions{}); err != nil {
				return fmt.Errorf("writing the caBundle of MutatingWebhookConfiguration %s: %w", mwc.Name, err)
			}
			m.log.Info("wrote the caBundle", "mutating_webhook_configuration", mwc.Name, "cas", len(parseCerts(bundle)))
		}
	}
	if vwc != nil {
		changed := false
		for i := range vwc.Webhooks {
			if !bytes.Equal(vwc.Webhooks[i].ClientConfig.CABundle, bundle) {
				vwc.Webhooks[i].ClientConfig.CABundle = bundle
				changed = true
			}
		}
		if changed {
			if _, err := m.client.ValidatingWebhookConfigurations().Update(ctx, vwc, metav1.UpdateOptions{}); err != nil {
				return fmt.Errorf("writing the caBundle of ValidatingWebhookConfiguration %s: %w", vwc.Name, err)
			}
			m.log.Info("wrote the caBundle", "validating_webhook_configuration", vwc.Name, "cas", len(parseCerts(bundle)))
		}
	}
	return nil
}

func isIP(s string) bool { return net.ParseIP(s) != nil }
