package mutate_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/plimsoll/plimsoll/mutate"
)

func TestAnnotate(t *testing.T) {
	tests := []struct {
		name        string
		annotations map[string]string
		changes     mutate.Changes
		want        map[string]string
	}{
		{
			name:    "no changes leave a Pod without annotations without annotations",
			changes: nil,
			want:    nil,
		},
		{
			name:        "no changes leave an earlier record as it was",
			annotations: map[string]string{mutate.AnnotationKey: "resources=web"},
			changes:     mutate.Changes{},
			want:        map[string]string{mutate.AnnotationKey: "resources=web"},
		},
		{
			name:    "families are sorted and each names its containers once",
			changes: join(seccomp, hardened("web"), probes("web"), resources("web"), resources("init-db")),
			want:    map[string]string{mutate.AnnotationKey: "probes=web; resources=web,init-db; securityContext=pod,web"},
		},
		{
			name:        "changes merge with what an earlier invocation recorded",
			annotations: map[string]string{mutate.AnnotationKey: "resources=web; securityContext=web,pod"},
			changes:     join(resources("logger"), probes("logger"), hardened("web")),
			want:        map[string]string{mutate.AnnotationKey: "probes=logger; resources=web,logger; securityContext=web,pod"},
		},
		{
			name:        "other annotations are kept",
			annotations: map[string]string{"team": "payments"},
			changes:     probes("web"),
			want:        map[string]string{"team": "payments", mutate.AnnotationKey: "probes=web"},
		},
		{
			name:        "a mangled earlier record is tidied, not copied",
			annotations: map[string]string{mutate.AnnotationKey: "garbage; probes= web,,web ;=x;"},
			changes:     resources("web"),
			want:        map[string]string{mutate.AnnotationKey: "probes=web; resources=web"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			meta := &metav1.ObjectMeta{Annotations: tt.annotations}
			mutate.Annotate(meta, tt.changes)
			if diff := cmp.Diff(tt.want, meta.Annotations); diff != "" {
				t.Errorf("annotations (-want +got):\n%s", diff)
			}
		})
	}
}
