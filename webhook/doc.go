// Package webhook is plimsoll's HTTPS admission server. Every request takes
// one path, read top to bottom in handler.go:
//
//	decode → find the pod template → default → check rules → decide by mode → respond
//
// Endpoints: /mutate/{mode} and /validate/{mode} for mode enforce, warn and
// audit. The API server chooses the mode: the webhook configurations carry
// one entry per mode, each with a namespaceSelector on the label
// plimsoll.dev/mode, so the server needs no client and no RBAC to admit.
//
// # Failure semantics, per path
//
//   - Malformed input (bad JSON, empty body, request: null, object: null, a
//     body over the size limit, an object whose kind disagrees with
//     request.kind) is answered with a well-formed AdmissionReview that does
//     not admit (code 400 or 413), with the request's UID where it could be
//     read. The server keeps serving.
//   - DELETE and CONNECT are allowed: there is nothing to judge. Kinds and
//     subresources plimsoll does not judge are allowed with a message saying
//     so (the webhook configurations never send them; if a hand-written one
//     does, plimsoll must not become the reason a cluster stops working).
//   - An internal error while defaulting (a panic in a default family)
//     admits the Pod unchanged, with an admission warning, a log line and
//     the counter plimsoll_internal_errors_total{path="mutate"}: a broken
//     default must not stop deployments.
//   - An internal error while validating follows the failure policy of the
//     mode's webhook entry: in enforce (failurePolicy: Fail) the request is
//     denied with code 500; in warn and audit (failurePolicy: Ignore) it is
//     admitted with a warning. Both are logged and counted
//     (plimsoll_internal_errors_total{path="validate"}).
//   - If plimsoll does not answer at all, the API server applies the entry's
//     failurePolicy itself: enforce namespaces are refused, warn and audit
//     namespaces are admitted.
//
// On UPDATE, a violation the old object already had at the same place is
// reported (warning) but never denied: an unrelated change — a label, a new
// replica count — is never blocked by something that was admitted before.
package webhook
