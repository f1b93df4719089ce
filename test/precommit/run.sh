#!/usr/bin/env bash
# Tests the pre-commit hook (.pre-commit-hooks.yaml) with Debian's
# pre-commit on a throwaway repository: the hook, taken from this
# repository's HEAD commit, must refuse a staged manifest that enforce mode
# would deny, skip YAML that is no Kubernetes object, and pass once the
# manifest is fixed. Run by `make test`. Without pre-commit it says so and
# skips, except under CI=true (.ci/run installs it), where it fails.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"

if ! command -v pre-commit >/dev/null; then
	if [[ "${CI:-}" == "true" ]]; then
		echo "test/precommit: pre-commit is not installed (apt-get install pre-commit)" >&2
		exit 1
	fi
	echo "test/precommit: SKIP: pre-commit is not installed (apt-get install pre-commit)" >&2
	exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
rev="$(git -C "$root" rev-parse HEAD)"
# pre-commit builds the hook with `go install ./...` in its own GOPATH:
# share this machine's module cache, so nothing is fetched twice.
export GOMODCACHE="$(go env GOMODCACHE)"
export PRE_COMMIT_HOME="$work/cache"
export GOTOOLCHAIN="${GOTOOLCHAIN:-go1.27.3}"

repo="$work/repo"
mkdir -p "$repo/deploy" "$repo/.github/workflows"
cd "$repo"
git init -q
git config user.email test@example.com
git config user.name test
cat > .pre-commit-config.yaml <<YAML
repos:
- repo: $root
  rev: $rev
  hooks:
  - id: plimsoll-check
YAML
cat > .github/workflows/ci.yaml <<'YAML'
on: push
jobs: {build: {runs-on: ubuntu-latest, steps: [{run: make}]}}
YAML
cat > deploy/web.yaml <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:latest
YAML
git add -A

out="$work/out"
if pre-commit run --all-files >"$out" 2>&1; then
	cat "$out" >&2
	echo "test/precommit: FAIL: the hook passed a Deployment on nginx:latest" >&2
	exit 1
fi
if ! grep -q "deploy/web.yaml:[0-9]*:[0-9]*: \[image-tag\]" "$out"; then
	cat "$out" >&2
	echo "test/precommit: FAIL: the hook's output does not name deploy/web.yaml, its line and [image-tag]" >&2
	exit 1
fi
if grep -q "not a Kubernetes object" "$out"; then
	cat "$out" >&2
	echo "test/precommit: FAIL: the hook refused the workflow file instead of skipping it" >&2
	exit 1
fi

sed -i 's/nginx:latest/nginx:1.27.3/' deploy/web.yaml
git add -A
if ! pre-commit run --all-files >"$out" 2>&1; then
	cat "$out" >&2
	echo "test/precommit: FAIL: the hook refused the fixed manifest" >&2
	exit 1
fi
echo "test/precommit: ok (the hook refused nginx:latest with its line, skipped the workflow, passed the fix)"
