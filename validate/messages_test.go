package validate

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/workload"
)

// violations runs one rule over a fixture at its default severity, with
// the policy its fixtures are judged with, and the fixture's documents as
// what the context rules see.
func violations(t *testing.T, ruleID, file string) []Violation {
	t.Helper()
	return runViolations(t, ruleByID(t, ruleID), loadRun(t, filepath.Join("testdata", ruleID, file)))
}

// runViolations evaluates r on every object of run it judges.
func runViolations(t *testing.T, r *Rule, run run) []Violation {
	t.Helper()
	var out []Violation
	for _, tpl := range run.judged(r) {
		out = append(out, evaluate(t, []*Rule{r}, fixturePolicy(r.ID), Input{Template: tpl, Cluster: run.view})...)
	}
	return out
}

// messageCase is a failing fixture of a rule and the messages, in order,
// that the person at kubectl apply reads for it.
type messageCase struct {
	name string
	file string // under testdata/<rule-id>/
	want []string
}

// expectMessages pins, for each case, the full messages of rule id on a
// failing fixture: the object, the container, the field at fault and the
// fix. Each rule states its own cases in rule_<id>_test.go.
func expectMessages(t *testing.T, id string, cases []messageCase) {
	t.Helper()
	if len(cases) == 0 {
		t.Errorf("no message expectations for %s", id)
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, v := range violations(t, id, tt.file) {
				got = append(got, v.Message())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("messages (-want +got):\n%s", diff)
			}
		})
	}
}

// TestEveryFailingFixtureGetsAWellFormedMessage holds every message of
// every failing fixture to the format: rule ID first, then the object,
// the container when there is one, the field path, the fix last; and the
// short form is the same sentence without the object.
func TestEveryFailingFixtureGetsAWellFormedMessage(t *testing.T) {
	for _, r := range Registry() {
		for _, file := range ruleFixtures(t, r.ID, "fail") {
			t.Run(r.ID+" on "+filepath.Base(file), func(t *testing.T) {
				vs := runViolations(t, r, loadRun(t, file))
				if len(vs) == 0 {
					t.Fatal("no violation")
				}
				for _, v := range vs {
					msg := v.Message()
					prefix := "[" + r.ID + "] " + v.Object + ": "
					if !strings.HasPrefix(msg, prefix) {
						t.Errorf("%q does not start with %q", msg, prefix)
					}
					if v.Container != "" && !strings.Contains(msg, `"`+v.Container+`"`) {
						t.Errorf("%q does not name container %q", msg, v.Container)
					}
					if !strings.Contains(msg, "("+v.Path+"): ") {
						t.Errorf("%q does not name the field %s", msg, v.Path)
					}
					if !strings.HasSuffix(msg, ": "+v.Fix) {
						t.Errorf("%q does not end with the fix %q", msg, v.Fix)
					}
					if want := strings.Replace(msg, v.Object+": ", "", 1); v.ShortMessage() != want {
						t.Errorf("ShortMessage() = %q, want %q", v.ShortMessage(), want)
					}
				}
			})
		}
	}
}

func TestMessageFormats(t *testing.T) {
	withFix := Violation{
		Rule:     imageTag,
		Severity: policy.Error,
		Object:   `Deployment "web"`,
		Finding: Finding{
			Container:     "web",
			ContainerType: workload.Regular,
			Path:          "spec.template.spec.containers[0].image",
			Problem:       `uses image "nginx", which has no tag`,
			Fix:           "pin a version",
		},
	}
	noFix := withFix
	noFix.Fix = ""
	podLevel := Violation{
		Rule:    hostPath,
		Object:  `Pod "x"`,
		Finding: Finding{Path: "spec.volumes[0].hostPath", Problem: "mounts a node path"},
	}
	tests := []struct {
		name      string
		v         Violation
		wantLong  string
		wantShort string
	}{
		{
			name:      "a violation with a fix ends with it",
			v:         withFix,
			wantLong:  `[image-tag] Deployment "web": container "web" uses image "nginx", which has no tag (spec.template.spec.containers[0].image): pin a version`,
			wantShort: `[image-tag] container "web" uses image "nginx", which has no tag (spec.template.spec.containers[0].image): pin a version`,
		},
		{
			name:      "a violation without a fix ends with the field",
			v:         noFix,
			wantLong:  `[image-tag] Deployment "web": container "web" uses image "nginx", which has no tag (spec.template.spec.containers[0].image)`,
			wantShort: `[image-tag] container "web" uses image "nginx", which has no tag (spec.template.spec.containers[0].image)`,
		},
		{
			name:      "a pod-level violation is about the pod spec",
			v:         podLevel,
			wantLong:  `[host-path] Pod "x": pod spec mounts a node path (spec.volumes[0].hostPath)`,
			wantShort: `[host-path] pod spec mounts a node path (spec.volumes[0].hostPath)`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.v.Message(); got != tt.wantLong {
				t.Errorf("Message() =\n  %q\nwant\n  %q", got, tt.wantLong)
			}
			if got := tt.v.ShortMessage(); got != tt.wantShort {
				t.Errorf("ShortMessage() =\n  %q\nwant\n  %q", got, tt.wantShort)
			}
		})
	}
}
