package harness

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ClientCA is a CA for webhook callers, written as PEM files: CAFile is
// what `plimsoll serve --client-ca-file` gets; CertFile and KeyFile are a
// client certificate it signed for the API server.
type ClientCA struct {
	CAFile   string
	CertFile string
	KeyFile  string

	ca  *x509.Certificate
	key *ecdsa.PrivateKey
}

// WriteClientCA creates a CA named name and a client certificate for the
// API server signed by it, and writes them into dir as <base>-ca.crt,
// <base>-client.crt and <base>-client.key.
func WriteClientCA(dir, base, name string) (*ClientCA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(now.UnixNano()),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	c := &ClientCA{
		CAFile:   filepath.Join(dir, base+"-ca.crt"),
		CertFile: filepath.Join(dir, base+"-client.crt"),
		KeyFile:  filepath.Join(dir, base+"-client.key"),
		ca:       ca,
		key:      key,
	}
	if err := os.WriteFile(c.CAFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return nil, err
	}
	cert, err := c.Issue("kube-apiserver")
	if err != nil {
		return nil, err
	}
	key, ok := cert.PrivateKey.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("the client certificate's key is a %T, not ECDSA", cert.PrivateKey)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(c.CertFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o600); err != nil {
		return nil, err
	}
	return c, os.WriteFile(c.KeyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)
}

// Issue returns a client certificate for cn signed by the CA.
func (c *ClientCA) Issue(cn string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.ca, &key.PublicKey, c.key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// WriteAdmissionConfiguration writes into dir a kube-apiserver
// AdmissionConfiguration whose ValidatingAdmissionWebhook and
// MutatingAdmissionWebhook plugins read a kubeconfig with one user per
// host of hosts, each presenting c's client certificate, and returns the
// flags that load it, for Options.APIServerArgs. The API server picks the
// user by the host:port it calls (docs/security.md says how it matches);
// the kubeconfig has no current-context, so webhooks at other hosts get no
// certificate.
func (c *ClientCA) WriteAdmissionConfiguration(dir string, hosts ...string) (map[string]string, error) {
	var users strings.Builder
	for _, h := range hosts {
		fmt.Fprintf(&users, "  - name: %q\n    user:\n      client-certificate: %q\n      client-key: %q\n", h, c.CertFile, c.KeyFile)
	}
	kubeconfig := filepath.Join(dir, "webhook-kubeconfig.yaml")
	if err := os.WriteFile(kubeconfig, []byte("apiVersion: v1\nkind: Config\nusers:\n"+users.String()), 0o600); err != nil {
		return nil, err
	}
	config := filepath.Join(dir, "admission-config.yaml")
	plugin := func(name string) string {
		return fmt.Sprintf(`  - name: %s
    configuration:
      apiVersion: apiserver.config.k8s.io/v1
      kind: WebhookAdmissionConfiguration
      kubeConfigFile: %q
`, name, kubeconfig)
	}
	content := "apiVersion: apiserver.config.k8s.io/v1\nkind: AdmissionConfiguration\nplugins:\n" +
		plugin("ValidatingAdmissionWebhook") + plugin("MutatingAdmissionWebhook")
	if err := os.WriteFile(config, []byte(content), 0o600); err != nil {
		return nil, err
	}
	return map[string]string{"admission-control-config-file": config}, nil
}
