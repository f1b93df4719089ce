// Package webhook is plimsoll's HTTPS admission server: transport only.
// Every request takes one path, read top to bottom in handler.go (serve):
//
//	read the AdmissionReview → the pipeline (package pipeline: find the pod
//	template, default, check rules) → decide by mode (package admission) →
//	write the answer
//
// The rest of the package is what a transport needs around that path:
// review.go reads and writes AdmissionReviews; observe.go records each
// answer in the metrics (metrics.go) and the decision log line, and
// tracing.go in a span, once, when it is answered; server.go and
// listener.go serve it over TLS. What a mode means, the decision and its
// wording are package admission's, shared with `plimsoll check` and
// `plimsoll audit`.
//
// Endpoints: /mutate/{mode} and /validate/{mode} for mode enforce, warn and
// audit. The API server chooses the mode: the webhook configurations carry
// one entry per mode, each with a namespaceSelector on the label
// plimsoll.dev/mode, so the server needs no client and no RBAC to admit.
// /validate judges Pods, every workload kind, PodDisruptionBudgets,
// HorizontalPodAutoscalers and ConfigMaps (configmap-secrets; the chart
// sends them only with configMapValidation.enabled); /mutate defaults
// Pods only.
//
// The context rules read the objects around the one judged from caches of
// the cluster (context.go, Handler.Cluster): at admission they only warn,
// and they never wait — a request that comes before the caches have synced
// is judged without them, and that is logged and counted.
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
//   - An internal error, on either path, follows the failure policy of the
//     mode's webhook entry: in enforce (failurePolicy: Fail) the request is
//     denied with code 500 — a Pod plimsoll failed to default is refused,
//     never admitted unchanged; in warn and audit (failurePolicy: Ignore) it
//     is admitted (unchanged, on /mutate) with a warning. Both are logged
//     and counted (plimsoll_internal_errors_total{path}).
//   - The API server's deadline (the ?timeout= of its call): work stops
//     between rules once it passes, answered as an internal error (504).
//   - More than MaxInFlight requests at once: the excess is answered at
//     once, unjudged, as the mode's failure policy would (429 in enforce);
//     the decision is counted as "overloaded".
//   - The caches of the cluster not synced, not allowed to list, or no API
//     server at all: the context rules are skipped, every other rule judges
//     as ever (plimsoll_context_rules_skipped_total{reason}).
//   - If plimsoll does not answer at all, the API server applies the entry's
//     failurePolicy itself: enforce namespaces are refused, warn and audit
//     namespaces are admitted.
//
// In enforce and warn, /validate judges a Pod CREATE as it arrives: the
// mutating webhook ran before it, or did not run at all. In audit it judges
// as defaulting will leave the Pod, since audit's mutation is not applied.
//
// On UPDATE, a violation the old object already had — same rule, same
// field, same value — is reported (warning) but never denied: an unrelated
// change — a label, a new replica count — is never blocked by something
// that was admitted before; a changed value is judged as new.
//
// Owner references count only when the request's user is the controller
// that makes such objects (policy.Policy.TrustsController).
package webhook
