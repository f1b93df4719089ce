#!/usr/bin/env bash
# govulncheck without vuln.go.dev: only the Go module proxy is reachable
# here, and it serves golang.org/x/vulndb, the repository vuln.go.dev is
# generated from (its data/osv holds every Go vulnerability report in OSV
# form). This script builds the database from it with the vulndb module's
# own indexdb command, caches it in bin/vulndb (rebuilt when a newer vulndb
# is published), and runs govulncheck against it.
#
#   VULNDB_VERSION  golang.org/x/vulndb version (default: latest)
#   GOVULNCHECK     golang.org/x/vuln version (default: the pinned one below)
#
# Exit status: govulncheck's (0 clean, 3 vulnerable code is called), the
# last failing module's.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
db="$root/bin/vulndb"
vulndb_version="${VULNDB_VERSION:-latest}"
govulncheck="${GOVULNCHECK:-v1.9.0}"

if [[ "$vulndb_version" == latest ]]; then
	vulndb_version="$(go list -m -f '{{.Version}}' golang.org/x/vulndb@latest)"
fi
if [[ "$(cat "$db/.version" 2>/dev/null)" != "$vulndb_version" ]]; then
	echo "building the vulnerability database from golang.org/x/vulndb@$vulndb_version (first time: about 2 minutes)" >&2
	src="$(go mod download -json "golang.org/x/vulndb@$vulndb_version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
	[[ -d "$src/data/osv" ]] || { echo "golang.org/x/vulndb@$vulndb_version has no data/osv" >&2; exit 2; }
	rm -rf "$db.tmp"
	(cd "$root" && go run "golang.org/x/vulndb/cmd/indexdb@$vulndb_version" -vulns "$src/data/osv" -out "$db.tmp")
	echo "$vulndb_version" >"$db.tmp/.version"
	rm -rf "$db" && mv "$db.tmp" "$db"
fi
echo "govulncheck $govulncheck, database golang.org/x/vulndb@$vulndb_version ($(ls "$db/ID" | grep -c "\.json$") reports), $(go version)" >&2
# Both Go modules: plimsoll's (what ships) and the test module's (test/:
# the harness, e2e, bench and chart tooling, which run on developers' and
# CI's machines).
status=0
for module in . test; do
	echo "govulncheck: the module in $module/" >&2
	(cd "$root/$module" && go run "golang.org/x/vuln/cmd/govulncheck@$govulncheck" -db "file://$db" "$@" ./...) || status=$?
done
exit "$status"
