# plimsoll — see README.md. Everything builds from the Go module proxy; the
# control plane the tests run on (kube-apiserver, etcd) is built into bin/
# the first time (about 11 minutes on 2 cores with a cold Go build cache,
# longer on a busy machine).

GO      ?= go
# The Go release plimsoll is built and tested with (fetched once from the Go
# module proxy, about 10 seconds): go1.26.8, the machine's own, has standard
# library vulnerabilities that govulncheck reports (make vuln). A machine
# ignores go.mod's toolchain line (its go.env says GOTOOLCHAIN=local), so it
# is set here; test/controlplane builds its test-only binaries with the
# machine's Go.
export GOTOOLCHAIN := go1.27.3
BIN     := bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
# test/ is a Go module of its own (github.com/plimsoll/plimsoll/test): the
# chart and config/ tests, e2e, bench, soak, demo and their harness, which
# need Helm, kustomize or envtest. Its commands run from there.
TESTMOD := cd test &&

.PHONY: all build test unit e2e demo lint controlplane clean fuzz vuln generate

all: build

## build: the plimsoll binary, into bin/plimsoll
build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/plimsoll ./cmd/plimsoll

## controlplane: kube-apiserver and etcd for the e2e tests, built once into bin/
controlplane: $(BIN)/kube-apiserver $(BIN)/etcd

$(BIN)/kube-apiserver $(BIN)/etcd:
	./test/controlplane/build.sh etcd kube-apiserver

## test: unit tests, then end-to-end tests against a real kube-apiserver, then the pre-commit hook on a throwaway repository
test: unit e2e precommit

## precommit: the pre-commit hook (.pre-commit-hooks.yaml) run by Debian's pre-commit on a throwaway repository, from HEAD (skipped without pre-commit, failed under CI=true)
.PHONY: precommit
precommit:
	./test/precommit/run.sh

## unit: the tests beside the code (no control plane), with the race detector: plimsoll's module, then the test module's (test/chart and the rest but e2e), then each Go benchmark once (bench-smoke)
unit:
	$(GO) test -race ./...
	$(TESTMOD) $(GO) test -race $$($(GO) list ./... | grep -v /e2e)
	cd test/promrules && $(GO) test ./...
	$(GO) test $(BENCH_SMOKE)

## bench-smoke: each Go benchmark run once (-benchtime=1x), checking the verdict it measures, so none can rot (part of unit; about 15 s)
BENCH_SMOKE := -count=1 -run '^$$' -bench . -benchtime=1x ./webhook/ ./pipeline/
.PHONY: bench-smoke
bench-smoke:
	$(GO) test $(BENCH_SMOKE)

## e2e: end-to-end tests through a real kube-apiserver and etcd
e2e: controlplane
	$(TESTMOD) $(GO) test -count=1 ./e2e/...

## demo: start a local control plane and plimsoll, apply examples/, explain, stop
demo: controlplane
	$(TESTMOD) $(GO) run -trimpath ./demo

## lint: gofmt, go vet and golangci-lint (.golangci.yml; why each linter: CONTRIBUTING.md) in both modules, and nothing built among the tracked files (test/lint/tracked-files.sh)
lint: $(BIN)/golangci-lint
	./test/lint/tracked-files.sh
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(TESTMOD) $(GO) vet ./...
	$(BIN)/golangci-lint run ./...
	$(TESTMOD) ../$(BIN)/golangci-lint run --config ../.golangci.yml ./...

# golangci-lint, at the version pinned in test/tools/golangci-lint/go.mod,
# built once into bin/ (about 3 minutes cold) with the Go release above: it
# must be at least the one the code is written for.
$(BIN)/golangci-lint:
	@echo "building golangci-lint into $(BIN) (first time only, about 3 minutes)" >&2
	cd test/tools/golangci-lint && $(GO) build -trimpath -o ../../../$(BIN)/golangci-lint.tmp github.com/golangci/golangci-lint/v2/cmd/golangci-lint
	mv $(BIN)/golangci-lint.tmp $(BIN)/golangci-lint

## generate: render config/ (the kustomize install) from the chart with bin/helm; test/chart fails while config/ is stale
generate: $(BIN)/helm
	$(TESTMOD) $(GO) run ./chart/genconfig

## vuln: govulncheck over plimsoll's code, against a database built from golang.org/x/vulndb (the module proxy serves it; vuln.go.dev is not reachable here)
vuln:
	./test/vulncheck/run.sh

## clean: remove built binaries (including the control plane: the next e2e rebuilds it)
clean:
	rm -rf $(BIN) dist

## soak: drive plimsoll serve over loopback TLS at a steady rate (SOAK_DURATION, default 10m; SOAK_RATE, default 200/s)
.PHONY: soak
soak:
	$(TESTMOD) $(GO) run ./soak

## fuzz: run every fuzz target for FUZZTIME each (default 2m; CI runs 10s)
FUZZTIME ?= 2m
fuzz:
	$(GO) test ./webhook/ -run '^$$' -fuzz '^FuzzAdmissionReview$$' -fuzztime $(FUZZTIME)
	$(GO) test ./pipeline/ -run '^$$' -fuzz '^FuzzPipeline$$' -fuzztime $(FUZZTIME)
	$(GO) test ./policy/ -run '^$$' -fuzz '^FuzzLoad$$' -fuzztime $(FUZZTIME)
	$(GO) test ./internal/jsondiff/ -run '^$$' -fuzz '^FuzzPatchAgreesWithGomodulesJSONPatch$$' -fuzztime $(FUZZTIME)

## helm: the helm CLI the chart tests run (test/chart, test/e2e), built once into bin/
.PHONY: helm
helm: $(BIN)/helm

$(BIN)/helm:
	./test/controlplane/build.sh helm

## kubectl: the kubectl the plugin test runs (never one found on the machine), built once into bin/
.PHONY: kubectl
kubectl: $(BIN)/kubectl

$(BIN)/kubectl:
	./test/controlplane/build.sh kubectl

## install-plugin: link bin/plimsoll as kubectl-plimsoll into PLUGIN_DIR (a directory on your PATH), so `kubectl plimsoll check|audit ...` works
.PHONY: install-plugin
install-plugin: build
	@test -n "$(PLUGIN_DIR)" || { echo "make install-plugin PLUGIN_DIR=<a directory on your PATH>" >&2; exit 2; }
	ln -sf "$(abspath $(BIN)/plimsoll)" "$(PLUGIN_DIR)/kubectl-plimsoll"
	@echo "linked $(PLUGIN_DIR)/kubectl-plimsoll -> $(abspath $(BIN)/plimsoll): try kubectl plimsoll check -f <manifests>"

## helm4: the Helm 4 CLI the chart tests also run, built once into bin/helm4
.PHONY: helm4
helm4: $(BIN)/helm4

$(BIN)/helm4:
	./test/controlplane/build.sh helm4

# test/chart (part of unit) and test/e2e run bin/helm and bin/helm4; the
# bench renders the chart's webhooks with bin/helm (the demo reads config/, rendered from the chart with its defaults).
unit: $(BIN)/helm $(BIN)/helm4
e2e: $(BIN)/helm $(BIN)/helm4 $(BIN)/kubectl

## bench: Go benchmarks, loopback HTTPS load against a no-op webhook, dry-run creates through the API server; prints a table and writes docs/performance.md (BENCH_DURATION, BENCH_MEMORY=1, ...: see test/bench/main.go)
.PHONY: bench
bench: controlplane $(BIN)/helm
	$(TESTMOD) $(GO) run ./bench

# Rebuild a kube-apiserver that predates the version stamp (it reports
# v0.0.0-master, which helm install refuses); instant when it is current.
.PHONY: controlplane-version
controlplane-version: controlplane
	./test/controlplane/build.sh kube-apiserver
e2e: controlplane-version

## audit-scale: seed AUDIT_SCALE workloads (default 10000) into the test API server, time plimsoll audit and check its counts (the figures of docs/audit.md; make test runs the same test at 1,000)
AUDIT_SCALE ?= 10000
.PHONY: audit-scale
audit-scale: controlplane $(BIN)/helm
	$(TESTMOD) PLIMSOLL_AUDIT_SCALE=$(AUDIT_SCALE) $(GO) test -count=1 -timeout 60m -run '^TestAuditScale$$' -v ./e2e/
