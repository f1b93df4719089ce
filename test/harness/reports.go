package harness

import (
	"context"
	_ "embed" // the CRD below
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"
)

//go:embed vulnerabilityreports-crd.yaml
var reportCRD []byte

// ReportResource is trivy-operator's VulnerabilityReport resource.
var ReportResource = schema.GroupVersionResource{Group: "aquasecurity.github.io", Version: "v1alpha1", Resource: "vulnerabilityreports"}

var crdResource = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// InstallReportCRD installs trivy-operator's VulnerabilityReport custom
// resource (vulnerabilityreports-crd.yaml, written from its documented
// schema) and waits, up to a minute, until the API server serves it.
func InstallReportCRD(ctx context.Context, dyn dynamic.Interface) error {
	crd := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(reportCRD, &crd.Object); err != nil {
		return err
	}
	if _, err := dyn.Resource(crdResource).Create(ctx, crd, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	deadline := time.Now().Add(time.Minute)
	for {
		_, err := dyn.Resource(ReportResource).Namespace("default").List(ctx, metav1.ListOptions{Limit: 1})
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the VulnerabilityReport custom resource is not served a minute after it was created: %w", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
