// Package selfmanaged is plimsoll's self-managed TLS (`plimsoll serve
// --tls-self-managed`, the chart's `tls.mode: selfManaged`): plimsoll
// creates its own CA and serving certificate, keeps them in a Secret,
// writes the serving certificate into the files of --tls-cert-file and
// --tls-key-file (which the server's certificate watcher reloads), writes
// the CA bundle into the caBundle of every webhook of its own
// MutatingWebhookConfiguration and ValidatingWebhookConfiguration, and
// rotates before anything expires. A Helm install needs nothing else.
//
// # Rotation
//
// The rotation policy is one pure function, plan (plan.go): the serving
// certificate is renewed after two thirds of its life; a CA rotation
// takes two steps — at two thirds of the CA's life a next CA joins the
// bundle, at five sixths (and only once every webhook configuration
// trusts it) it starts signing — and an old CA stays in the bundle until
// it expires. So the API server trusts every certificate any replica may
// still be serving, and no call fails across a rotation.
//
// # Several replicas
//
// The Secret is the single source of truth. Every write carries the
// resourceVersion it was read at; the replica that loses a race gets a
// conflict (or AlreadyExists when creating), reads again and decides
// again, usually finding the work done. The webhook configurations are
// read before the Secret, so a replica holding an older Secret cannot
// overwrite a newer bundle. Each replica watches the Secret and the two
// configurations by name (so RBAC can restrict every verb but create to
// resourceNames) and reacts to a change at once — a rotation by another
// replica, or a `helm upgrade` that reset the caBundle.
//
// # Why not open-policy-agent/cert-controller
//
// It is the usual library for this, and its v0.16.0 builds with our
// controller-runtime and k8s.io versions (it pulls kube-aggregator
// v0.35.2 along). Its behaviour does not fit this contract, though: it
// does not create the Secret (it fails when the Secret is missing, so the
// chart would have to ship an empty one); it writes no files and expects
// the Secret mounted as a volume, which the kubelet refreshes only every
// minute or so; a CA rotation replaces the CA in the caBundle at once
// instead of trusting old and new side by side, so replicas still serving
// the old certificate fail calls until their volume catches up; and it
// needs a controller-runtime manager with a cache that lists and watches
// every webhook configuration of the cluster. This package is the small
// part of it we need (crypto/x509 and package kube), with those four points
// done the other way.
package selfmanaged
