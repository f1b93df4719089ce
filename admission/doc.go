// Package admission is what a mode means, apart from any transport: the
// modes a namespace can be in and how they are named, the scope of the
// namespaces plimsoll guards, and the decision — from the violations the
// pipeline found and a mode, to admitted or denied, the warnings a client
// is shown, the audit annotations the API server records, and the wording
// of each. It is pure: no HTTP, no client, no logging.
//
// The webhook answers AdmissionReviews with Decide's Answer; `plimsoll
// check` and `plimsoll audit` report what the same decision in enforce (or
// warn) would be for manifests and for what is running.
//
// Every message written for a client names plimsoll once, at its start:
// "plimsoll denied <object>: …" for a denial, "plimsoll: …" for anything
// else (a refusal, a failure, a warning of plimsoll's own).
package admission
