package harness

import (
	"strings"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// WriteKubeconfig writes a kubeconfig for the control plane to path, for
// a plimsoll serve that reads the API server (--kubeconfig: the caches of
// the context rules, self-managed TLS). Its user is the control plane's
// admin, or, with impersonate set, the admin impersonating that user
// (who has only what RBAC grants it: nothing, unless a test binds a
// role to it).
func (e *Env) WriteKubeconfig(path, impersonate string) error {
	c := e.Config
	server := c.Host
	if !strings.Contains(server, "://") {
		server = "https://" + server
	}
	kc := clientcmdapi.NewConfig()
	kc.Clusters["envtest"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: c.CAData}
	kc.AuthInfos["envtest"] = &clientcmdapi.AuthInfo{ClientCertificateData: c.CertData, ClientKeyData: c.KeyData, Token: c.BearerToken, Impersonate: impersonate}
	kc.Contexts["envtest"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: "envtest"}
	kc.CurrentContext = "envtest"
	return clientcmd.WriteToFile(*kc, path)
}
