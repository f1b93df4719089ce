// Package chart renders charts/plimsoll with the real helm CLI (bin/helm,
// built from the Go module proxy by test/controlplane/build.sh) and builds
// the kustomize overlays of config/, and decodes what they produce
// strictly into Kubernetes' and cert-manager's Go types. The chart is the
// one source of plimsoll's webhook configurations: config/ is rendered
// from it (GenerateConfig, `make generate`), and the test harness installs
// the configurations it renders (Webhooks), pointed at a local plimsoll.
// Its tests check the chart and that config/ is current; test/e2e installs
// the chart into a real API server with the same helpers.
package chart

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	cmv1 "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// rootModule is the module line of the repository root's go.mod; test/ is
// a module of its own (github.com/plimsoll/plimsoll/test) below it.
const rootModule = "module github.com/plimsoll/plimsoll\n"

// RepoRoot finds the repository root: the directory above this file whose
// go.mod is plimsoll's own (not test/go.mod).
func RepoRoot() (string, error) {
	// This file's directory, then (in a binary built with -trimpath, as
	// `make demo` builds the demo, where the file's path is the package's)
	// the working directory's.
	_, file, _, _ := runtime.Caller(0)
	starts := []string{filepath.Dir(file)}
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	for _, start := range starts {
		if !filepath.IsAbs(start) {
			continue
		}
		for dir := start; ; dir = filepath.Dir(dir) {
			if gomod, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && bytes.HasPrefix(gomod, []byte(rootModule)) {
				return dir, nil
			}
			if filepath.Dir(dir) == dir {
				break
			}
		}
	}
	return "", errors.New("cannot find the repository root (the go.mod of module github.com/plimsoll/plimsoll)")
}

// Dir is charts/plimsoll.
func Dir() (string, error) {
	root, err := RepoRoot()
	return filepath.Join(root, "charts", "plimsoll"), err
}

// HelmMajors are the Helm major versions the chart supports and the tests
// run: bin/helm is Helm 3, bin/helm4 Helm 4.
var HelmMajors = []int{3, 4}

// HelmBinOf is the helm CLI of a major version, bin/helm (3) or
// bin/helm4; it fails with what to run when the binary is missing.
func HelmBinOf(major int) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	name := "helm"
	if major != 3 {
		name = fmt.Sprintf("helm%d", major)
	}
	bin := filepath.Join(root, "bin", name)
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("%s is missing: run `make %s` (test/controlplane/build.sh %s) first", bin, name, name)
	}
	return bin, nil
}

// Helm runs Helm 3 (bin/helm); see HelmOf.
func Helm(env []string, args ...string) ([]byte, error) { return HelmOf(3, env, args...) }

// HelmOf runs the helm CLI of a major version with args and an isolated
// configuration (no repositories, no cache in $HOME) and returns its
// standard output; the error carries standard error.
func HelmOf(major int, env []string, args ...string) ([]byte, error) {
	bin, err := HelmBinOf(major)
	if err != nil {
		return nil, err
	}
	home, err := os.MkdirTemp("", "plimsoll-helm-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(home)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"),
	)
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("helm%d %s: %w\n%s%s", major, strings.Join(args, " "), err, stderr.Bytes(), stdout.Bytes())
	}
	return stdout.Bytes(), nil
}

// Template renders the chart with Helm 3; see TemplateOf.
func Template(release, namespace string, flags ...string) ([]byte, error) {
	return TemplateOf(3, release, namespace, flags...)
}

// TemplateOf renders the chart as `helm template release charts/plimsoll
// -n namespace`, hooks included, with extra flags (--set, -f ...), with
// the helm CLI of a major version.
func TemplateOf(major int, release, namespace string, flags ...string) ([]byte, error) {
	dir, err := Dir()
	if err != nil {
		return nil, err
	}
	return HelmOf(major, nil, append([]string{"template", release, dir, "--namespace", namespace}, flags...)...)
}

// Object is one rendered document, decoded.
type Object struct {
	GVK  schema.GroupVersionKind
	Name string
	// Namespace is as rendered ("" for cluster-scoped objects).
	Namespace string
	// Typed is a pointer to the Go type of GVK (e.g. *appsv1.Deployment).
	Typed any
	// Raw is the document as JSON.
	Raw []byte
}

// Key names the object for messages: Kind/namespace/name.
func (o Object) Key() string {
	if o.Namespace == "" {
		return o.GVK.Kind + "/" + o.Name
	}
	return o.GVK.Kind + "/" + o.Namespace + "/" + o.Name
}

// ServiceMonitor mirrors the fields of the Prometheus Operator's
// monitoring.coreos.com/v1 ServiceMonitor that the chart renders. Its Go
// module is not a dependency of plimsoll, so these strict structs stand in
// for it: a field the chart renders that is not here fails decoding.
type ServiceMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              ServiceMonitorSpec `json:"spec"`
}

// ServiceMonitorSpec is the part of the ServiceMonitor spec the chart uses.
type ServiceMonitorSpec struct {
	Selector          metav1.LabelSelector `json:"selector"`
	NamespaceSelector struct {
		MatchNames []string `json:"matchNames"`
	} `json:"namespaceSelector"`
	Endpoints []struct {
		Port     string `json:"port"`
		Path     string `json:"path"`
		Scheme   string `json:"scheme"`
		Interval string `json:"interval"`
	} `json:"endpoints"`
}

// types maps every kind the chart and the overlays may produce to its Go
// type. A kind not listed here is a decoding error: add it deliberately.
var types = map[schema.GroupVersionKind]func() any{
	corev1.SchemeGroupVersion.WithKind("Namespace"):             func() any { return &corev1.Namespace{} },
	corev1.SchemeGroupVersion.WithKind("ServiceAccount"):        func() any { return &corev1.ServiceAccount{} },
	corev1.SchemeGroupVersion.WithKind("ConfigMap"):             func() any { return &corev1.ConfigMap{} },
	corev1.SchemeGroupVersion.WithKind("Secret"):                func() any { return &corev1.Secret{} },
	corev1.SchemeGroupVersion.WithKind("Service"):               func() any { return &corev1.Service{} },
	appsv1.SchemeGroupVersion.WithKind("Deployment"):            func() any { return &appsv1.Deployment{} },
	batchv1.SchemeGroupVersion.WithKind("Job"):                  func() any { return &batchv1.Job{} },
	policyv1.SchemeGroupVersion.WithKind("PodDisruptionBudget"): func() any { return &policyv1.PodDisruptionBudget{} },
	rbacv1.SchemeGroupVersion.WithKind("Role"):                  func() any { return &rbacv1.Role{} },
	rbacv1.SchemeGroupVersion.WithKind("RoleBinding"):           func() any { return &rbacv1.RoleBinding{} },
	rbacv1.SchemeGroupVersion.WithKind("ClusterRole"):           func() any { return &rbacv1.ClusterRole{} },
	rbacv1.SchemeGroupVersion.WithKind("ClusterRoleBinding"):    func() any { return &rbacv1.ClusterRoleBinding{} },
	networkingv1.SchemeGroupVersion.WithKind("NetworkPolicy"):   func() any { return &networkingv1.NetworkPolicy{} },
	admissionregistrationv1.SchemeGroupVersion.WithKind("MutatingWebhookConfiguration"): func() any {
		return &admissionregistrationv1.MutatingWebhookConfiguration{}
	},
	admissionregistrationv1.SchemeGroupVersion.WithKind("ValidatingWebhookConfiguration"): func() any {
		return &admissionregistrationv1.ValidatingWebhookConfiguration{}
	},
	admissionregistrationv1.SchemeGroupVersion.WithKind("ValidatingAdmissionPolicy"): func() any {
		return &admissionregistrationv1.ValidatingAdmissionPolicy{}
	},
	admissionregistrationv1.SchemeGroupVersion.WithKind("ValidatingAdmissionPolicyBinding"): func() any {
		return &admissionregistrationv1.ValidatingAdmissionPolicyBinding{}
	},
	admissionregistrationv1.SchemeGroupVersion.WithKind("MutatingAdmissionPolicy"): func() any {
		return &admissionregistrationv1.MutatingAdmissionPolicy{}
	},
	admissionregistrationv1.SchemeGroupVersion.WithKind("MutatingAdmissionPolicyBinding"): func() any {
		return &admissionregistrationv1.MutatingAdmissionPolicyBinding{}
	},
	cmv1.SchemeGroupVersion.WithKind("Certificate"):                         func() any { return &cmv1.Certificate{} },
	cmv1.SchemeGroupVersion.WithKind("Issuer"):                              func() any { return &cmv1.Issuer{} },
	{Group: "monitoring.coreos.com", Version: "v1", Kind: "ServiceMonitor"}: func() any { return &ServiceMonitor{} },
	{Group: "monitoring.coreos.com", Version: "v1", Kind: "PrometheusRule"}: func() any { return &PrometheusRule{} },
}

// PrometheusRule mirrors the fields of the Prometheus Operator's
// monitoring.coreos.com/v1 PrometheusRule that the chart renders.
type PrometheusRule struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Groups []struct {
			Name  string `json:"name"`
			Rules []struct {
				Alert       string            `json:"alert"`
				Expr        string            `json:"expr"`
				For         string            `json:"for,omitempty"`
				Labels      map[string]string `json:"labels"`
				Annotations map[string]string `json:"annotations"`
			} `json:"rules"`
		} `json:"groups"`
	} `json:"spec"`
}

// Decode splits a multi-document YAML stream and decodes every document
// strictly into its Go type: an unknown field, a wrong type or an
// unknown kind is an error naming the document.
func Decode(stream []byte) ([]Object, error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(stream)))
	var out []Object
	for i := 1; ; i++ {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		raw, err := yaml.YAMLToJSON(doc)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
			continue // only comments
		}
		var meta struct {
			metav1.TypeMeta   `json:",inline"`
			metav1.ObjectMeta `json:"metadata"`
		}
		if err := yaml.Unmarshal(raw, &meta); err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		gvk := meta.GroupVersionKind()
		newType, ok := types[gvk]
		if !ok {
			return nil, fmt.Errorf("document %d (%s %s): a kind the chart is not expected to render", i, gvk, meta.Name)
		}
		typed := newType()
		if err := yaml.UnmarshalStrict(raw, typed); err != nil {
			return nil, fmt.Errorf("document %d (%s %s): %w", i, gvk.Kind, meta.Name, err)
		}
		out = append(out, Object{GVK: gvk, Name: meta.Name, Namespace: meta.Namespace, Typed: typed, Raw: raw})
	}
}

// Find returns the object of kind and name, or nil.
func Find(objs []Object, kind, name string) *Object {
	for i := range objs {
		if objs[i].GVK.Kind == kind && objs[i].Name == name {
			return &objs[i]
		}
	}
	return nil
}

// Kustomize builds a kustomization directory with kustomize's own library
// (what `kubectl apply -k` and `kustomize build` run) and returns the YAML.
func Kustomize(dir string) ([]byte, error) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	return m.AsYaml()
}

// PointWebhooksAt returns the webhook configurations among objs with every
// entry's clientConfig replaced by clientConfig(path), where path is the
// path of the Service the chart points the entry at: the chart's entries,
// selectors, rules and failure policies, calling a plimsoll that runs
// outside the cluster. It fails unless there is exactly one configuration
// of each kind and every entry calls a Service.
func PointWebhooksAt(objs []Object, clientConfig func(path string) admissionregistrationv1.WebhookClientConfig) (*admissionregistrationv1.MutatingWebhookConfiguration, *admissionregistrationv1.ValidatingWebhookConfiguration, error) {
	var mwcs []*admissionregistrationv1.MutatingWebhookConfiguration
	var vwcs []*admissionregistrationv1.ValidatingWebhookConfiguration
	for _, o := range objs {
		switch t := o.Typed.(type) {
		case *admissionregistrationv1.MutatingWebhookConfiguration:
			mwcs = append(mwcs, t.DeepCopy())
		case *admissionregistrationv1.ValidatingWebhookConfiguration:
			vwcs = append(vwcs, t.DeepCopy())
		}
	}
	if len(mwcs) != 1 || len(vwcs) != 1 {
		return nil, nil, fmt.Errorf("the chart rendered %d MutatingWebhookConfigurations and %d ValidatingWebhookConfigurations, want one of each", len(mwcs), len(vwcs))
	}
	point := func(name string, cc *admissionregistrationv1.WebhookClientConfig) error {
		if cc.Service == nil || cc.Service.Path == nil {
			return fmt.Errorf("webhook %s does not call a Service path", name)
		}
		*cc = clientConfig(*cc.Service.Path)
		return nil
	}
	mwc, vwc := mwcs[0], vwcs[0]
	for i := range mwc.Webhooks {
		if err := point(mwc.Webhooks[i].Name, &mwc.Webhooks[i].ClientConfig); err != nil {
			return nil, nil, err
		}
	}
	for i := range vwc.Webhooks {
		if err := point(vwc.Webhooks[i].Name, &vwc.Webhooks[i].ClientConfig); err != nil {
			return nil, nil, err
		}
	}
	return mwc, vwc, nil
}
