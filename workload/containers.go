package workload

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ContainerType tells apart the kinds of containers a PodSpec holds.
type ContainerType int

const (
	// Regular is an entry of spec.containers.
	Regular ContainerType = iota
	// Init is an entry of spec.initContainers that runs to completion.
	Init
	// Sidecar is an entry of spec.initContainers with restartPolicy Always:
	// it keeps running beside the regular containers and may have probes.
	Sidecar
	// Ephemeral is an entry of spec.ephemeralContainers, added by
	// `kubectl debug`: no resources, no probes, no ports allowed.
	Ephemeral
)

func (t ContainerType) String() string {
	switch t {
	case Regular:
		return "container"
	case Init:
		return "init container"
	case Sidecar:
		return "sidecar container"
	case Ephemeral:
		return "ephemeral container"
	}
	return "container"
}

// Container is one container of a PodSpec with the field path it lives at.
type Container struct {
	Type ContainerType
	// Container points into the PodSpec. For ephemeral containers it is the
	// EphemeralContainerCommon viewed as a Container (the two structs share
	// every field, as in Kubernetes' own pod utilities).
	*corev1.Container
	// Path is e.g. spec.template.spec.containers[0].
	Path *field.Path
}

// LongRunning reports whether the container runs for the Pod's lifetime
// (regular or sidecar), the containers that probes apply to.
func (c Container) LongRunning() bool { return c.Type == Regular || c.Type == Sidecar }

// Containers returns every container of spec in a fixed order: init
// containers and sidecars, regular containers, then ephemeral containers.
func Containers(spec *corev1.PodSpec, specPath *field.Path) []Container {
	out := make([]Container, 0, len(spec.InitContainers)+len(spec.Containers)+len(spec.EphemeralContainers))
	initPath := specPath.Child("initContainers")
	for i := range spec.InitContainers {
		c := &spec.InitContainers[i]
		typ := Init
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			typ = Sidecar
		}
		out = append(out, Container{Type: typ, Container: c, Path: initPath.Index(i)})
	}
	regularPath := specPath.Child("containers")
	for i := range spec.Containers {
		out = append(out, Container{Type: Regular, Container: &spec.Containers[i], Path: regularPath.Index(i)})
	}
	ephemeralPath := specPath.Child("ephemeralContainers")
	for i := range spec.EphemeralContainers {
		c := (*corev1.Container)(&spec.EphemeralContainers[i].EphemeralContainerCommon)
		out = append(out, Container{Type: Ephemeral, Container: c, Path: ephemeralPath.Index(i)})
	}
	return out
}
