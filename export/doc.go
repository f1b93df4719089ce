// Package export compiles a plimsoll policy into admission policies that
// the API server runs itself — ValidatingAdmissionPolicies and their
// bindings, in CEL — so that the rules they carry hold while the webhook is
// down, and cost a fraction of a webhook call while it is up.
//
// Only a rule whose verdict CEL gives exactly as the webhook does is
// exported: its form (form.go, one file per rule) says when an object
// breaks it, which container and field, and, on UPDATE, when the old
// object broke it the same way (the webhook's ratchet). Every other rule
// stays with the webhook, and Result.WebhookOnly says why: it reads other
// objects (the context rules), it is judged as defaulting will leave the
// Pod (which needs the defaulting in-process too), or an exemption of the
// policy selects what CEL cannot see as the webhook does (a Pod's owning
// workload, an expiry).
//
// The verdicts map onto validationActions per mode, one binding per
// policy and mode, selecting namespaces by the plimsoll.dev/mode label as
// the chart's webhook entries do:
//
//	severity          enforce   warn   audit
//	error             Deny      Warn   Audit
//	error, ratcheted  Warn      Warn   Audit
//	warning           Warn      Warn   Audit
//
// Export is pure: cmd/plimsoll prints it (`plimsoll export`), the chart
// and the kustomize install ship what it renders, and test/e2e compares
// its verdicts with the webhook's on the real API server.
package export
