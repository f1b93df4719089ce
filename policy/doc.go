// Package policy holds plimsoll's configuration: which rules apply and at
// what severity, and the values that defaulting writes. Default returns the
// built-in policy that `plimsoll serve` runs with when no --config is given;
// Load reads a policy file strictly (an unknown field or a bad value is an
// error that names it). The package is pure: Watcher, the only part that
// touches the file system, lives in watch.go.
package policy
