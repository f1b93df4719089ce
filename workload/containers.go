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
//
// Every rule and default family walks the containers, so this is on the
// admission hot path: the paths under the spec paths Find uses are built
// once (field.Path is immutable, so they are shared), and a call allocates
// only the slice it returns.
func Containers(spec *corev1.PodSpec, specPath *field.Path) []Container {
	out := make([]Container, 0, len(spec.InitContainers)+len(spec.Containers)+len(spec.EphemeralContainers))
	paths := pathsUnder(specPath)
	for i := range spec.InitContainers {
		c := &spec.InitContainers[i]
		typ := Init
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			typ = Sidecar
		}
		out = append(out, Container{Type: typ, Container: c, Path: paths.init.at(i)})
	}
	for i := range spec.Containers {
		out = append(out, Container{Type: Regular, Container: &spec.Containers[i], Path: paths.regular.at(i)})
	}
	for i := range spec.EphemeralContainers {
		c := (*corev1.Container)(&spec.EphemeralContainers[i].EphemeralContainerCommon)
		out = append(out, Container{Type: Ephemeral, Container: c, Path: paths.ephemeral.at(i)})
	}
	return out
}

// listPath is the path of a list of containers with the paths of its first
// entries built in advance.
type listPath struct {
	list    *field.Path
	entries []*field.Path
}

func (l listPath) at(i int) *field.Path {
	if i < len(l.entries) {
		return l.entries[i]
	}
	return l.list.Index(i)
}

type containerPaths struct{ init, regular, ephemeral listPath }

// prebuiltEntries is how many entries of each list have a prebuilt path:
// more than real Pods have.
const prebuiltEntries = 64

func newContainerPaths(specPath *field.Path, prebuilt int) *containerPaths {
	list := func(name string) listPath {
		l := listPath{list: specPath.Child(name)}
		for i := range prebuilt {
			l.entries = append(l.entries, l.list.Index(i))
		}
		return l
	}
	return &containerPaths{init: list("initContainers"), regular: list("containers"), ephemeral: list("ephemeralContainers")}
}

var (
	podContainerPaths      = newContainerPaths(podSpecPath, prebuiltEntries)
	templateContainerPaths = newContainerPaths(templateSpecPath, prebuiltEntries)
	cronJobContainerPaths  = newContainerPaths(cronJobSpecPath, prebuiltEntries)
)

// pathsUnder returns the container paths under specPath: prebuilt for the
// spec paths Find returns, built for this call for any other.
func pathsUnder(specPath *field.Path) *containerPaths {
	switch specPath {
	case podSpecPath:
		return podContainerPaths
	case templateSpecPath:
		return templateContainerPaths
	case cronJobSpecPath:
		return cronJobContainerPaths
	}
	return newContainerPaths(specPath, 0)
}
