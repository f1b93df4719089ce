package export

import (
	"fmt"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
)

// specOf is CEL: the pod spec of obj (object or oldObject), wherever its
// kind keeps it — as workload.Find does.
func specOf(obj string) string {
	return fmt.Sprintf("%[1]s.kind == 'Pod' ? %[1]s.spec : (%[1]s.kind == 'CronJob' ? %[1]s.spec.jobTemplate.spec.template.spec : %[1]s.spec.template.spec)", obj)
}

// listOf is CEL: spec's list field, or [] where it has none.
func listOf(spec, field string) string {
	return fmt.Sprintf("has(%[1]s.%[2]s) ? %[1]s.%[2]s : []", spec, field)
}

// oldListOf is listOf for the old object's spec, which is null but on
// UPDATE.
func oldListOf(field string) string {
	return fmt.Sprintf("variables.oldSpec == null ? [] : (%s)", listOf("variables.oldSpec", field))
}

// annotationsOf is CEL: the annotations of obj's Pod, or of its pod
// template, {} when there are none.
func annotationsOf(obj string) string { return podMetaOf(obj, "annotations") }

// podMetaOf is CEL: the map field (labels, annotations) of the metadata
// of obj's Pod, or of its pod template, {} when there is none.
func podMetaOf(obj, field string) string {
	return fmt.Sprintf("%[1]s.kind == 'Pod' ? %[1]s.metadata.?%[2]s.orValue({}) : "+
		"(%[1]s.kind == 'CronJob' ? %[1]s.spec.jobTemplate.spec.template.?metadata.?%[2]s.orValue({}) : %[1]s.spec.template.?metadata.?%[2]s.orValue({}))", obj, field)
}

// variables are those of every exported policy, in the order they may
// refer to each other. The API server computes each at most once per
// request, on first use.
func variables() []admissionregistrationv1.Variable {
	return []admissionregistrationv1.Variable{
		{Name: "spec", Expression: specOf("object")},
		{Name: "prefix", Expression: "object.kind == 'Pod' ? 'spec' : (object.kind == 'CronJob' ? 'spec.jobTemplate.spec.template.spec' : 'spec.template.spec')"},
		{Name: "containers", Expression: listOf("variables.spec", "containers")},
		{Name: "initContainers", Expression: listOf("variables.spec", "initContainers")},
		{Name: "ephemeralContainers", Expression: listOf("variables.spec", "ephemeralContainers")},
		{Name: "volumes", Expression: listOf("variables.spec", "volumes")},
		{Name: "oldSpec", Expression: "request.operation == 'UPDATE' && oldObject != null ? (" + specOf("oldObject") + ") : null"},
		{Name: "oldContainers", Expression: oldListOf("containers")},
		{Name: "oldInitContainers", Expression: oldListOf("initContainers")},
		{Name: "oldEphemeralContainers", Expression: oldListOf("ephemeralContainers")},
		{Name: "oldVolumes", Expression: oldListOf("volumes")},
		// The annotations of the Pod, or of the workload's pod template:
		// where plimsoll.dev/exempt is read.
		{Name: "podAnnotations", Expression: annotationsOf("object")},
		{Name: "oldPodAnnotations", Expression: "request.operation == 'UPDATE' && oldObject != null ? (" + annotationsOf("oldObject") + ") : {}"},
		// The labels of the Pod, or of the workload's pod template.
		{Name: "podLabels", Expression: podMetaOf("object", "labels")},
		{Name: "oldPodLabels", Expression: "request.operation == 'UPDATE' && oldObject != null ? (" + podMetaOf("oldObject", "labels") + ") : {}"},
		// Where the Pod's metadata is: metadata, or the pod template's.
		{Name: "podMetaPrefix", Expression: "object.kind == 'Pod' ? 'metadata' : (object.kind == 'CronJob' ? 'spec.jobTemplate.spec.template.metadata' : 'spec.template.metadata')"},
	}
}
