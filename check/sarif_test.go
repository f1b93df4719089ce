package check_test

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/plimsoll/plimsoll/admission"
	"github.com/plimsoll/plimsoll/check"
	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/validate"
)

// sarifSchema compiles the OASIS SARIF 2.1.0 schema kept in testdata
// (testdata/schemas/README.md says where it comes from), with format
// assertions on (uri, uri-reference...).
func sarifSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open("testdata/schemas/sarif-schema-2.1.0.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	const url = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
	if err := c.AddResource(url, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(url)
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

// exemptDebug is a policy that exempts the privileged debug Pod of
// testdata/multi.yaml.
func exemptDebug(t *testing.T) *policy.Policy {
	t.Helper()
	p, err := policy.Load([]byte("apiVersion: plimsoll.dev/v1alpha1\nkind: Policy\nexemptions:\n- reason: debug pods are short-lived\n  kinds: [Pod]\n  names: [debug]\n  rules: [privileged]\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSARIFIsValidAgainstTheSchema(t *testing.T) {
	sch := sarifSchema(t)
	tests := []struct {
		name  string
		o     check.Options
		stdin string
	}{
		{"files with errors, warnings and fixable findings", check.Options{Paths: []string{"testdata/multi.yaml", "testdata/positions", "testdata/list.json"}}, ""},
		{"an exempted finding", check.Options{Paths: []string{"testdata/multi.yaml"}, Policy: exemptDebug(t)}, ""},
		{"warn mode", check.Options{Paths: []string{"testdata/multi.yaml"}, Mode: admission.Warn}, ""},
		{"stdin", check.Options{Paths: []string{"-"}}, "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: a, image: a}]\n"},
		{"nothing found", check.Options{Paths: []string{"testdata/dir/clean.yaml"}}, ""},
		{"no object plimsoll judges", check.Options{Paths: []string{"-"}}, "apiVersion: v1\nkind: Service\nmetadata: {name: c}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.o.Policy == nil {
				tt.o.Policy = policy.Default()
			}
			if tt.o.Mode == "" {
				tt.o.Mode = admission.Enforce
			}
			tt.o.Stdin = strings.NewReader(tt.stdin)
			r, err := check.Run(tt.o)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := r.WriteSARIF(&buf, "v1.2.3"); err != nil {
				t.Fatal(err)
			}
			inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(buf.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			if err := sch.Validate(inst); err != nil {
				t.Errorf("SARIF output is not valid SARIF 2.1.0: %v\n%s", err, buf.String())
			}
		})
	}
}

func TestTheSARIFSchemaRefusesWhatSARIFDoesNotAllow(t *testing.T) {
	sch := sarifSchema(t)
	r, err := run(t, "enforce", "", "testdata/multi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := r.WriteSARIF(&buf, "dev"); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, old, new string }{
		{"a level SARIF does not define", `"level": "error"`, `"level": "fatal"`},
		{"a line before the first", `"startLine": 24`, `"startLine": 0`},
		{"a property the schema does not know", `"version": "2.1.0"`, `"version": "2.1.0", "flavour": "x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			broken := strings.Replace(buf.String(), tt.old, tt.new, 1)
			if broken == buf.String() {
				t.Fatalf("%s is not in the output", tt.old)
			}
			inst, err := jsonschema.UnmarshalJSON(strings.NewReader(broken))
			if err != nil {
				t.Fatal(err)
			}
			if sch.Validate(inst) == nil {
				t.Error("the schema accepts it")
			}
		})
	}
}

// sarifLog is the part of a SARIF log the tests read.
type sarifLog struct {
	Version string `json:"version"`
	Runs    []struct {
		Tool struct {
			Driver struct {
				Name, Version string
				Rules         []struct {
					ID                   string `json:"id"`
					ShortDescription     struct{ Text string }
					FullDescription      struct{ Text string }
					Help                 struct{ Text, Markdown string }
					HelpURI              string `json:"helpUri"`
					DefaultConfiguration struct{ Level string }
				}
			}
		}
		Results []struct {
			RuleID    string `json:"ruleId"`
			RuleIndex int    `json:"ruleIndex"`
			Level     string
			Message   struct{ Text string }
			Locations []struct {
				PhysicalLocation struct {
					ArtifactLocation struct{ URI string }
					Region           struct{ StartLine, StartColumn int }
				}
			}
			Suppressions []struct{ Kind, Justification string }
		}
	}
}

func TestSARIFCarriesTheRuleCatalogueAndEachFinding(t *testing.T) {
	r, err := check.Run(check.Options{Paths: []string{"testdata/multi.yaml"}, Policy: exemptDebug(t), Mode: admission.Enforce})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := r.WriteSARIF(&buf, "v1.2.3"); err != nil {
		t.Fatal(err)
	}
	var log sarifLog
	if err := json.Unmarshal(buf.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	if log.Version != "2.1.0" || len(log.Runs) != 1 {
		t.Fatalf("version %q, %d runs; want 2.1.0 and one run", log.Version, len(log.Runs))
	}
	run := log.Runs[0]
	if d := run.Tool.Driver; d.Name != "plimsoll" || d.Version != "v1.2.3" {
		t.Errorf("driver %s %s, want plimsoll v1.2.3", d.Name, d.Version)
	}

	t.Run("every rule of the registry, with its documentation and default level", func(t *testing.T) {
		rules := validate.Registry()
		if len(run.Tool.Driver.Rules) != len(rules) {
			t.Fatalf("%d rules, want %d", len(run.Tool.Driver.Rules), len(rules))
		}
		for i, rule := range rules {
			got := run.Tool.Driver.Rules[i]
			if got.ID != rule.ID || got.ShortDescription.Text != rule.Description ||
				!strings.Contains(got.FullDescription.Text, rule.Remediation) || !strings.Contains(got.Help.Text, rule.Remediation) ||
				got.HelpURI != "https://github.com/plimsoll/plimsoll/blob/main/docs/rules.md#"+rule.ID ||
				got.DefaultConfiguration.Level != sarifDefaultLevel(rule.Severity) {
				t.Errorf("rule %d = %+v, want %s (%s) documented with its remediation", i, got, rule.ID, rule.Severity)
			}
		}
	})

	t.Run("each finding at its file, line and column, at its effective level", func(t *testing.T) {
		if len(run.Results) != len(r.Results) {
			t.Fatalf("%d results, want %d", len(run.Results), len(r.Results))
		}
		levels := map[string]int{}
		for i, res := range r.Results {
			got := run.Results[i]
			want := res.Severity
			if res.Fixable || res.Exemption != "" {
				want = "note"
			}
			levels[got.Level]++
			loc := got.Locations[0].PhysicalLocation
			if got.RuleID != res.Rule || run.Tool.Driver.Rules[got.RuleIndex].ID != res.Rule || got.Level != want || got.Message.Text != res.Message ||
				loc.ArtifactLocation.URI != "testdata/multi.yaml" || loc.Region.StartLine != res.Line || loc.Region.StartColumn != res.Column {
				t.Errorf("result %d = %+v, want %s at %d:%d level %s", i, got, res.Rule, res.Line, res.Column, want)
			}
			if (res.Exemption != "") != (len(got.Suppressions) == 1) {
				t.Errorf("result %d (%s): suppressions %+v, exemption %q", i, res.Rule, got.Suppressions, res.Exemption)
			}
		}
		if levels["error"] != 1 || levels["warning"] != 7 || levels["note"] == 0 {
			t.Errorf("levels %v: want the image-tag error, the two probe warnings, the missing disruption budget, the two service-account tokens and the two workloads no NetworkPolicy isolates, the rest notes (the exempted privileged one too)", levels)
		}
	})
}

// sarifDefaultLevel is SARIF's level for a rule's default severity: off is
// "none" (and the rule disabled).
func sarifDefaultLevel(s policy.Severity) string {
	if s == policy.Off {
		return "none"
	}
	return string(s)
}
