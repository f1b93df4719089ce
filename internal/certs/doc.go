// Package certs keeps plimsoll's TLS material current from files: the
// serving certificate and key (CertWatcher, --tls-cert-file and
// --tls-key-file) and the client CAs the admission listener verifies
// callers against (ClientCAWatcher, --client-ca-file). Each reads its
// files again whenever they change (inotify events, which also follow a
// Secret or ConfigMap volume's symlink swap) and on a timer in case an
// event was missed, and always serves the last version that read whole: a
// file that no longer reads keeps the last good one in force.
//
// It does not serve anything: the admission listener, its TLS
// configuration, its handshake accounting and its readiness probe are the
// webhook's transport (package webhook). Nor does it write certificates:
// plimsoll's self-managed CA, which writes the files this package reads,
// is the subpackage selfmanaged. It is internal: no library API.
package certs
