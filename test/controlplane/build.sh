#!/usr/bin/env bash
# Builds the control plane the end-to-end tests and the demo run on:
# kube-apiserver and etcd, and the helm CLIs (3 and 4) the chart tests run, from the Go
# module proxy at the versions pinned in the go.mod files beside this script,
# into bin/ at the repository root.
# A binary already in bin/ is kept: a cold build of etcd and kube-apiserver
# takes about 11 minutes on 2 cores (kube-apiserver's 2,000 packages nearly
# all of it), a warm one nothing. `make clean` removes them.
# With arguments (etcd, kube-apiserver, kubectl, helm, helm4) only those are built.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# Test tools, never shipped, listening on loopback only, built with the Go
# release the Makefile pins for plimsoll (make exports it), with -trimpath
# as plimsoll is, and (in go.mod) at the versions plimsoll's modules use of
# what they share: so the packages both need (the standard library,
# k8s.io/api, apimachinery, client-go, protobuf, gRPC...) are compiled once
# and the build cache serves the other build. On a fresh machine that is
# minutes of `make demo`.
export GOTOOLCHAIN="${GOTOOLCHAIN:-$(sed -n 's/^export GOTOOLCHAIN := //p' "$here/../../Makefile")}"
bin="${PLIMSOLL_BIN:-$here/../../bin}"
mkdir -p "$bin"
bin="$(cd "$bin" && pwd)"
want() {
	if [[ ${#only[@]} -eq 0 ]]; then return 0; fi
	local w
	for w in "${only[@]}"; do [[ "$w" == "$1" ]] && return 0; done
	return 1
}
only=("$@")

if want etcd && [[ ! -x "$bin/etcd" ]]; then
	echo "building etcd into $bin (first time only, about 2 minutes on 2 cores)" >&2
	(cd "$here/etcd" && go build -trimpath -o "$bin/etcd.tmp" . && mv "$bin/etcd.tmp" "$bin/etcd")
fi
# A kube-apiserver built before its version was stamped reports
# v0.0.0-master, which `helm install` refuses (kubeVersion): rebuild it (a
# relink when the build cache is warm).
if want kube-apiserver && [[ -x "$bin/kube-apiserver" ]]; then
	want_version="$(cd "$here/kube-apiserver" && go list -m -f '{{.Version}}' k8s.io/kubernetes)"
	if ! "$bin/kube-apiserver" --version 2>/dev/null | grep -qx "Kubernetes $want_version"; then
		echo "bin/kube-apiserver is not $want_version: rebuilding it" >&2
		rm -f "$bin/kube-apiserver"
	fi
fi
if want kube-apiserver && [[ ! -x "$bin/kube-apiserver" ]]; then
	echo "building kube-apiserver into $bin (first time only, about 9 minutes on 2 cores)" >&2
	(
		cd "$here/kube-apiserver"
		# The version flags of Kubernetes' own build: without them the server
		# reports v0.0.0-master, which Helm's kubeVersion check refuses.
		v="$(go list -m -f '{{.Version}}' k8s.io/kubernetes)"
		minor="$(echo "$v" | cut -d. -f2)"
		pkg=k8s.io/component-base/version
		ldflags="-X $pkg.gitVersion=$v -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
		go build -trimpath -ldflags "$ldflags" -o "$bin/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver
		mv "$bin/kube-apiserver.tmp" "$bin/kube-apiserver"
	)
fi
# kubectl, for the test of plimsoll as a kubectl plugin (never a kubectl
# found on the machine): the same Kubernetes release as kube-apiserver,
# sharing its build cache.
if want kubectl && [[ ! -x "$bin/kubectl" ]]; then
	echo "building kubectl into $bin (first time only, about 2 minutes after kube-apiserver)" >&2
	(
		cd "$here/kubectl"
		v="$(go list -m -f '{{.Version}}' k8s.io/kubernetes)"
		minor="$(echo "$v" | cut -d. -f2)"
		pkg=k8s.io/component-base/version
		go build -trimpath -ldflags "-s -w -X $pkg.gitVersion=$v -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor" -o "$bin/kubectl.tmp" k8s.io/kubernetes/cmd/kubectl
		mv "$bin/kubectl.tmp" "$bin/kubectl"
	)
fi
if want helm && [[ ! -x "$bin/helm" ]]; then
	echo "building helm into $bin (first time only, about 3 minutes)" >&2
	(
		cd "$here/helm"
		# The flags of Helm's own Makefile: its version, and the Kubernetes
		# version that `helm template` and `helm lint` assume (that of the
		# k8s.io modules it is built with; 1.20 otherwise).
		helm_version="$(go list -m -f '{{.Version}}' helm.sh/helm/v3)"
		k8s_minor="$(go list -m -f '{{.Version}}' k8s.io/client-go | cut -d. -f2)"
		ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$helm_version"
		for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
			ldflags="$ldflags -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$k8s_minor"
		done
		go build -trimpath -ldflags "$ldflags" -o "$bin/helm.tmp" helm.sh/helm/v3/cmd/helm
		mv "$bin/helm.tmp" "$bin/helm"
	)
fi
if want helm4 && [[ ! -x "$bin/helm4" ]]; then
	echo "building helm 4 into $bin (first time only, about 3 minutes)" >&2
	(
		cd "$here/helm4"
		# Helm 4 reads the Kubernetes version it assumes from the build's
		# module information (client-go's); only its own version is stamped.
		helm_version="$(go list -m -f '{{.Version}}' helm.sh/helm/v4)"
		go build -trimpath -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$helm_version -X helm.sh/helm/v4/internal/version.metadata=" -o "$bin/helm4.tmp" helm.sh/helm/v4/cmd/helm
		mv "$bin/helm4.tmp" "$bin/helm4"
	)
fi
