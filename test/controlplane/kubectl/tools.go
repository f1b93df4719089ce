//go:build tools

// Package tools pins the kubectl that the kubectl-plugin test runs (never
// a kubectl found on the machine): test/controlplane/build.sh builds it
// from the Go module proxy into bin/kubectl, from the same Kubernetes
// release as the kube-apiserver the tests run.
//
//	go build -o ../../../bin/kubectl k8s.io/kubernetes/cmd/kubectl
package tools

import _ "k8s.io/kubernetes/cmd/kubectl"
