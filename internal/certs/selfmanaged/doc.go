// Package selfmanaged is plimsoll's self-managed TLS (`plimsoll serve
// --tls-self-managed`, the chart's `tls.mode: selfManaged`): plimsoll
// creates its own CA and serving certificate, keeps them in two Secrets,
// writes the serving certificate into the files of --tls-cert-file and
// --tls-key-file (which the server's certificate watcher reloads), writes
// the CA bundle into the caBundle of every webhook of its own
// MutatingWebhookConfiguration and ValidatingWebhookConfiguration, and
// rotates before anything expires. A Helm install needs nothing else.
//
// # Two Secrets
//
// The CA and its key live in a Secret of their own (--tls-ca-secret-name);
// the serving Secret (--tls-secret-name) holds the serving certificate and
// key, the CA's certificate and the bundle, never a CA's key, so whatever
// may read the serving Secret cannot mint a certificate the API server
// trusts. The CA Secret is written first; a serving Secret of the earlier
// layout (one Secret holding everything) gives up its CA keys only once
// the CA Secret holds them, and an upgrade changes neither the CA, the
// serving certificate nor the caBundle. An install that creates both
// Secrets empty (the chart, config/) spares plimsoll the right to create
// Secrets; a Secret that is missing is created.
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
// The CA Secret is the single source of truth for the CAs (the serving
// Secret's bundle only adds to it, while a CA it names is valid). Every
// write carries the resourceVersion it was read at; the replica that loses a race gets a
// conflict (or AlreadyExists when creating), reads again and decides
// again, usually finding the work done. The webhook configurations are
// read before the Secrets, so a replica holding an older Secret cannot
// overwrite a newer bundle. Each replica watches the two Secrets and the
// two configurations by name (so RBAC can restrict every verb to
// resourceNames) and reacts to a change at once — a rotation by another
// replica, or a `helm upgrade` that reset the caBundle.
//
// # Why not open-policy-agent/cert-controller
//
// It is the usual library for this, and its v0.16.0 builds with our
// controller-runtime and k8s.io versions (it pulls kube-aggregator
// v0.35.2 along). Its behaviour does not fit this contract, though: it
// does not create the Secret (it fails when the Secret is missing; the
// chart now ships its Secrets empty anyway, but a plain `plimsoll serve`
// should not need that); it writes no files and expects
// the Secret mounted as a volume, which the kubelet refreshes only every
// minute or so; a CA rotation replaces the CA in the caBundle at once
// instead of trusting old and new side by side, so replicas still serving
// the old certificate fail calls until their volume catches up; and it
// needs a controller-runtime manager with a cache that lists and watches
// every webhook configuration of the cluster. This package is the small
// part of it we need (crypto/x509 and package kube), with those four points
// done the other way.
//
// # What it does not hold
//
// It writes the files and never reads them for serving: the server's
// watcher of those files is package certs (internal/certs), and the
// admission listener is package webhook, of which this package imports
// nothing (the server sees it as a webhook.TLSProvider). It is internal:
// no library API.
package selfmanaged
