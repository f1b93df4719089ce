//go:build tools

// Package tools pins the kube-apiserver that the end-to-end tests run.
// Build it with: go build -o ../../../bin/kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver
package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
