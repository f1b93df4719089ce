package validate

import (
	"testing"

	"github.com/plimsoll/plimsoll/policy"
)

// priority-class is off by default: its fixtures are judged with it on,
// as a policy for critical workloads turns it on.
var _ = fixtureSetting("priority-class", func(p *policy.Policy) {
	if p.Rules == nil {
		p.Rules = map[string]policy.Severity{}
	}
	p.Rules["priority-class"] = policy.Warning
})

// TestPriorityClassIsOffByDefault: the built-in policy never reports it.
func TestPriorityClassIsOffByDefault(t *testing.T) {
	run := loadRun(t, "testdata/priority-class/fail/pod.yaml")
	vs := evaluate(t, Registry(), policy.Default(), Input{Template: run.templates[0]})
	for _, v := range vs {
		if v.Rule.ID == "priority-class" {
			t.Errorf("the built-in policy reports %s", v.Message())
		}
	}
}

func TestPriorityClassMessages(t *testing.T) {
	expectMessages(t, "priority-class", []messageCase{
		{name: "deployment.yaml", file: "fail/deployment.yaml", want: []string{
			`[priority-class] Deployment "web": pod spec names no priorityClassName, so it is preempted and evicted like the least important Pod (spec.template.spec.priorityClassName): set priorityClassName to one of the cluster's PriorityClasses (kubectl get priorityclasses)`,
		}},
		{name: "pod.yaml", file: "fail/pod.yaml", want: []string{
			`[priority-class] Pod "web": pod spec names no priorityClassName, so it is preempted and evicted like the least important Pod (spec.priorityClassName): set priorityClassName to one of the cluster's PriorityClasses (kubectl get priorityclasses)`,
		}},
	})
}
