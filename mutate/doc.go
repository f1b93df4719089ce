// Package mutate defaults a Pod's spec: resource requests and limits
// (resources.go), TCP health probes (probes.go) and a hardened
// securityContext (securitycontext.go). Each family fills only what is
// unset, never overwrites what the user wrote, writes fields disjoint from
// the other families', and is idempotent: defaulting twice equals
// defaulting once, which makes it safe under reinvocationPolicy: IfNeeded.
//
// The package is pure: no HTTP, no client. The webhook turns its result
// into a JSON patch; the validating path and `plimsoll check` run it on a
// copy to judge a workload as its Pods will be once defaulted.
package mutate
