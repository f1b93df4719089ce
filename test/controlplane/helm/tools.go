//go:build tools

// Package tools pins the Helm CLI that the chart tests run (helm lint,
// helm template, helm install into the end-to-end API server). Helm's
// release binaries cannot be downloaded here, so test/controlplane/build.sh
// builds it from the Go module proxy:
//
//	go build -o ../../../bin/helm helm.sh/helm/v3/cmd/helm
package tools

import _ "helm.sh/helm/v3/cmd/helm"
