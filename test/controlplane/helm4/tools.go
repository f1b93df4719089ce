//go:build tools

// Package tools pins the Helm 4 CLI that the chart tests run beside Helm 3
// (the chart supports both): test/controlplane/build.sh builds it from the
// Go module proxy into bin/helm4.
//
//	go build -o ../../../bin/helm4 helm.sh/helm/v4/cmd/helm
package tools

import _ "helm.sh/helm/v4/cmd/helm"
