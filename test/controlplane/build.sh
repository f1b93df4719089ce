#!/usr/bin/env bash
# Builds the control plane the end-to-end tests and the demo run on:
# kube-apiserver and etcd, from the Go module proxy at the versions pinned in
# the go.mod files beside this script, into bin/ at the repository root.
# A binary already in bin/ is kept: a cold build takes about 4 minutes on
# 2 cores, a warm one nothing. `make clean` removes them.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="${PLIMSOLL_BIN:-$here/../../bin}"
mkdir -p "$bin"
bin="$(cd "$bin" && pwd)"

if [[ ! -x "$bin/etcd" ]]; then
	echo "building etcd into $bin (first time only)" >&2
	(cd "$here/etcd" && go build -trimpath -o "$bin/etcd.tmp" . && mv "$bin/etcd.tmp" "$bin/etcd")
fi
if [[ ! -x "$bin/kube-apiserver" ]]; then
	echo "building kube-apiserver into $bin (first time only, about 4 minutes)" >&2
	(cd "$here/kube-apiserver" && go build -trimpath -o "$bin/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver && mv "$bin/kube-apiserver.tmp" "$bin/kube-apiserver")
fi
