// Command etcd is etcd's own server (go.etcd.io/etcd/server/v3/etcdmain) at
// the version pinned in go.mod, built from the Go module proxy for the
// end-to-end tests: the release binaries cannot be downloaded here.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
