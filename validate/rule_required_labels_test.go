package validate

import (
	"testing"

	"github.com/plimsoll/plimsoll/policy"
)

// The fixtures of required-labels are judged with two required labels:
// without any, the rule is off.
var _ = fixtureSetting("required-labels", func(p *policy.Policy) {
	p.RequiredLabels = []string{"app.kubernetes.io/name", "team"}
})

// TestRequiredLabelsMessages pins what the person at kubectl apply reads for
// failing fixtures: the object, the container, the field at fault and the
// fix.
func TestRequiredLabelsMessages(t *testing.T) {
	expectMessages(t, "required-labels", []messageCase{
		{
			name: "a missing label is reported on the pod template of a CronJob",
			file: "fail/cronjob-labels-on-the-cronjob-only.yaml",
			want: []string{
				`[required-labels] CronJob "nightly": pod template lacks the required label app.kubernetes.io/name (spec.jobTemplate.spec.template.metadata.labels[app.kubernetes.io/name]): add app.kubernetes.io/name: <value> under spec.jobTemplate.spec.template.metadata.labels`,
				`[required-labels] CronJob "nightly": pod template lacks the required label team (spec.jobTemplate.spec.template.metadata.labels[team]): add team: <value> under spec.jobTemplate.spec.template.metadata.labels`,
			},
		},
	})
}
