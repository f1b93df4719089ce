package validate

import (
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/plimsoll/plimsoll/policy"
)

var kebabCase = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// categories are the groups docs/rules.md and dashboards know.
var categories = []string{"efficiency", "images", "reliability", "security"}

func TestRegistry(t *testing.T) {
	rules := Registry()
	if len(rules) == 0 {
		t.Fatal("the registry is empty")
	}
	seen := map[string]bool{}
	for i, r := range rules {
		if seen[r.ID] {
			t.Errorf("rule ID %q is registered twice", r.ID)
		}
		seen[r.ID] = true
		if !kebabCase.MatchString(r.ID) {
			t.Errorf("rule ID %q is not kebab-case", r.ID)
		}
		if i > 0 && rules[i-1].ID >= r.ID {
			t.Errorf("rules are not sorted by ID: %q before %q", rules[i-1].ID, r.ID)
		}
	}

	for _, r := range rules {
		t.Run(r.ID, func(t *testing.T) {
			if !slices.Contains(categories, r.Category) {
				t.Errorf("Category = %q, want one of %v", r.Category, categories)
			}
			if r.Severity != policy.Error && r.Severity != policy.Warning && r.Severity != policy.Off {
				t.Errorf("Severity = %q, want error, warning or off", r.Severity)
			}
			for field, text := range map[string]string{
				"Description": r.Description,
				"Remediation": r.Remediation,
				"Defaulted":   r.Defaulted,
			} {
				if strings.TrimSpace(text) == "" {
					t.Errorf("%s is empty", field)
				}
			}
			if r.Check == nil && r.InContext == nil {
				t.Errorf("neither Check nor InContext is set")
			}
			if r.Check != nil && r.InContext != nil && len(r.Kinds) > 0 {
				t.Errorf("a rule about %v has both Check and InContext", r.Kinds)
			}
			file := "rule_" + strings.ReplaceAll(r.ID, "-", "_") + ".go"
			if _, err := os.Stat(file); err != nil {
				t.Errorf("the rule does not live in its own file %s: %v", file, err)
			}
			for _, outcome := range []string{"pass", "fail"} {
				if len(ruleFixtures(t, r.ID, outcome)) == 0 {
					t.Errorf("no fixture under testdata/%s/%s/", r.ID, outcome)
				}
			}
		})
	}
}

// TestEveryRuleHasFixturesForAPodAndAWorkload: the webhook judges Pods
// and workloads through the same rules, and a rule that only ever saw one
// of them is half tested. The one excuse for no failing Pod is a rule
// about a field a Pod does not have (its replica count): its fixtures show
// it, as the Pod each of its failing workloads would create passes it.
func TestEveryRuleHasFixturesForAPodAndAWorkload(t *testing.T) {
	for _, r := range Registry() {
		if len(r.Kinds) > 0 {
			continue // a rule about objects without Pods: see TestRuleFixtures
		}
		for _, outcome := range []string{"pass", "fail"} {
			t.Run(r.ID+"/"+outcome, func(t *testing.T) {
				var pod, workload bool
				for _, file := range ruleFixtures(t, r.ID, outcome) {
					for _, tpl := range loadRun(t, file).judged(r) {
						if tpl.Kind == "Pod" {
							pod = true
						} else {
							workload = true
						}
					}
				}
				if !pod && outcome == "pass" {
					t.Errorf("no Pod among testdata/%s/%s/", r.ID, outcome)
				}
				if !pod && outcome == "fail" {
					if failing := podsOfFailingWorkloads(t, r.ID); len(failing) > 0 {
						t.Errorf("no Pod among testdata/%s/%s/, yet a Pod can fail %s (the Pods of %q do)", r.ID, outcome, r.ID, failing)
					}
				}
				if !workload {
					t.Errorf("no workload kind among testdata/%s/%s/", r.ID, outcome)
				}
			})
		}
	}
}

// TestEveryRuleHasItsOwnTestFile: what a rule is held to (the containers
// it visits, its messages, the settings its fixtures need) lives in
// rule_<id>_test.go beside rule_<id>.go, never in a central table, so
// that adding a rule is its file, its registry line, its fixtures, its
// test file and the regenerated docs.
func TestEveryRuleHasItsOwnTestFile(t *testing.T) {
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	testFiles := map[string]bool{}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "rule_") && strings.HasSuffix(e.Name(), "_test.go") {
			testFiles[e.Name()] = true
		}
	}
	for _, r := range Registry() {
		file := "rule_" + strings.ReplaceAll(r.ID, "-", "_") + "_test.go"
		t.Run(r.ID, func(t *testing.T) {
			if !testFiles[file] {
				t.Fatalf("no %s", file)
			}
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(data), strconv.Quote(r.ID)) {
				t.Errorf("%s never mentions %q", file, r.ID)
			}
		})
		delete(testFiles, file)
	}
	for _, file := range slices.Sorted(maps.Keys(testFiles)) {
		t.Errorf("%s names no rule", file)
	}
	for _, id := range slices.Sorted(maps.Keys(fixtureSettings)) {
		if !slices.Contains(IDs(), id) {
			t.Errorf("fixture settings for %q, which is no rule", id)
		}
	}
}

func TestIDsListsTheRegistryInOrder(t *testing.T) {
	var want []string
	for _, r := range Registry() {
		want = append(want, r.ID)
	}
	if diff := cmp.Diff(want, IDs()); diff != "" {
		t.Errorf("IDs() (-want +got):\n%s", diff)
	}
}

// TestEveryFixtureDirectoryNamesARule catches fixtures left behind by a
// rule that no longer exists (or a misspelt folder, never run).
func TestEveryFixtureDirectoryNamesARule(t *testing.T) {
	notRules := map[string]bool{"evaluate": true}
	entries, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.IsDir() || notRules[e.Name()] {
			continue
		}
		if !slices.Contains(IDs(), e.Name()) {
			t.Errorf("testdata/%s names no rule", e.Name())
		}
		sub, err := os.ReadDir("testdata/" + e.Name())
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range sub {
			if s.Name() != "pass" && s.Name() != "fail" {
				t.Errorf("testdata/%s/%s is neither pass nor fail", e.Name(), s.Name())
			}
		}
	}
}
