package check_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plimsoll/plimsoll/admission"
	"github.com/plimsoll/plimsoll/check"
	"github.com/plimsoll/plimsoll/policy"
)

// contextRules are the rules judged with the documents around the object.
var contextRules = []string{
	"hpa-min-replicas", "hpa-range", "hpa-target", "namespace-quota", "pdb-allows-eviction",
	"pod-disruption-budget", "replicas-with-hpa", "rollout-strategy",
	"service-account-token", "network-policy", "image-vulnerabilities",
}

// TestContextRulesJudgeTheWholeRun runs plimsoll check over each context
// rule's own fixtures (multi-document: the budgets, autoscalers and
// quotas in the same run): nothing from the rule on a passing one, at
// least one finding with its line on a failing one.
func TestContextRulesJudgeTheWholeRun(t *testing.T) {
	for _, id := range contextRules {
		for _, outcome := range []string{"pass", "fail"} {
			files, err := filepath.Glob(filepath.Join("..", "validate", "testdata", id, outcome, "*.yaml"))
			if err != nil || len(files) == 0 {
				t.Fatalf("no fixtures for %s/%s: %v", id, outcome, err)
			}
			for _, file := range files {
				t.Run(id+"/"+outcome+"/"+filepath.Base(file), func(t *testing.T) {
					p := policy.Default()
					if id == "hpa-target" {
						// Its fixtures lack requests that defaulting would
						// write in (and that count).
						p.Defaults.Resources.Enabled = false
					}
					r, err := check.Run(check.Options{Paths: []string{file}, Policy: p, Mode: admission.Enforce, Namespace: "default"})
					if err != nil {
						t.Fatal(err)
					}
					var found []check.Result
					for _, res := range r.Results {
						if res.Rule == id {
							found = append(found, res)
						}
					}
					if outcome == "pass" && len(found) > 0 {
						t.Errorf("findings on a passing run: %+v", found)
					}
					if outcome == "fail" && len(found) == 0 {
						t.Errorf("no %s finding on a failing run, only %v", id, rulesOf(r))
					}
					for _, res := range found {
						if res.Line == 0 || res.Column == 0 {
							t.Errorf("finding without a position: %+v", res)
						}
					}
				})
			}
		}
	}
}

// TestTheContextSpansFilesAndStdin: a chart's Deployment and its budget
// may come in separate files, or one through stdin and one as a file.
func TestTheContextSpansFilesAndStdin(t *testing.T) {
	data, err := os.ReadFile("../validate/testdata/pod-disruption-budget/pass/deployment-with-budget.yaml")
	if err != nil {
		t.Fatal(err)
	}
	deployment, budget, ok := strings.Cut(string(data), "\n---\n")
	if !ok {
		t.Fatal("the fixture is not two documents")
	}
	dir := t.TempDir()
	for name, doc := range map[string]string{"deployment.yaml": deployment, "budget.yaml": budget} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	budgetFindings := func(r *check.Report) int {
		n := 0
		for _, res := range r.Results {
			if res.Rule == "pod-disruption-budget" {
				n++
			}
		}
		return n
	}
	for name, opts := range map[string]check.Options{
		"a directory":               {Paths: []string{dir}},
		"two files":                 {Paths: []string{filepath.Join(dir, "deployment.yaml"), filepath.Join(dir, "budget.yaml")}},
		"stdin and a file":          {Paths: []string{"-", filepath.Join(dir, "budget.yaml")}, Stdin: strings.NewReader(deployment)},
		"the Deployment on its own": {Paths: []string{filepath.Join(dir, "deployment.yaml")}},
	} {
		t.Run(name, func(t *testing.T) {
			opts.Policy, opts.Mode, opts.Namespace = policy.Default(), admission.Enforce, "default"
			r, err := check.Run(opts)
			if err != nil {
				t.Fatal(err)
			}
			want := 0
			if name == "the Deployment on its own" {
				want = 1
			}
			if got := budgetFindings(r); got != want {
				t.Errorf("%d pod-disruption-budget findings, want %d: %+v", got, want, r.Results)
			}
		})
	}
}

// TestNamespaceQuotaIsJudgedOnlyForNamespacesGiven: quotas are often
// another team's, so check says nothing of a namespace it was not given.
func TestNamespaceQuotaIsJudgedOnlyForNamespacesGiven(t *testing.T) {
	r, err := check.Run(check.Options{Paths: []string{"../validate/testdata/pod-disruption-budget/pass/deployment-with-budget.yaml"},
		Policy: policy.Default(), Mode: admission.Enforce, Namespace: "team"})
	if err != nil {
		t.Fatal(err)
	}
	for _, res := range r.Results {
		if res.Rule == "namespace-quota" {
			t.Errorf("a namespace that no document declares was judged: %+v", res)
		}
	}
}

// TestContextRuleErrorsFailCheck: a context rule at severity error fails
// check (exit 1), as it never denies at admission.
func TestContextRuleErrorsFailCheck(t *testing.T) {
	p := policy.Default()
	p.Rules = map[string]policy.Severity{"pod-disruption-budget": policy.Error}
	r, err := check.Run(check.Options{Paths: []string{"../validate/testdata/pod-disruption-budget/fail/deployment-no-budget.yaml"},
		Policy: p, Mode: admission.Enforce, Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Summary.Errors == 0 || r.ExitCodeFor(check.FailOnError) != check.ExitViolation {
		t.Errorf("summary %+v, exit %d: want the budget error to fail the run", r.Summary, r.ExitCodeFor(check.FailOnError))
	}
}

func rulesOf(r *check.Report) []string {
	var ids []string
	for _, res := range r.Results {
		ids = append(ids, res.Rule)
	}
	return ids
}
