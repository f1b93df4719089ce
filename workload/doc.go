// Package workload finds the pod template inside every kind of object that
// plimsoll judges — Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet,
// ReplicationController, Job, CronJob — together with the field path at which
// it lives, and walks the containers of a PodSpec (regular, init, restartable
// sidecar and ephemeral) with each one's field path. It also names the
// objects judged beside workloads without a pod template (Companions:
// PodDisruptionBudget, HorizontalPodAutoscaler, Namespace, ConfigMap).
//
// It is pure: no I/O, no client. The webhook and `plimsoll check` both use it,
// so an object gets the same paths and the same verdict offline and online.
package workload
