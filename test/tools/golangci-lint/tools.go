//go:build tools

// Package tools pins the golangci-lint that `make lint` runs:
// test/controlplane/build.sh builds it from the Go module proxy into
// bin/golangci-lint (first time only, about 3 minutes on 2 cores).
package tools

import _ "github.com/golangci/golangci-lint/v2/cmd/golangci-lint"
