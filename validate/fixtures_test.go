package validate

import (
	"path/filepath"
	"testing"
)

// TestRuleFixtures runs each rule over its own fixtures, with the policy
// that switches it on: nothing to find under pass/, at least one finding
// under fail/. Each finding names the field it is about under the
// template's spec path (or the Pods' metadata, or spec.replicas).
func TestRuleFixtures(t *testing.T) {
	for _, r := range Registry() {
		for _, file := range ruleFixtures(t, r.ID, "pass") {
			t.Run(r.ID+" passes "+filepath.Base(file), func(t *testing.T) {
				run := loadRun(t, file)
				if len(run.judged(r)) == 0 {
					t.Fatalf("no object %s judges", r.ID)
				}
				if got := run.all(r, fixturePolicy(r.ID)); len(got) != 0 {
					t.Errorf("findings on a passing fixture: %+v", got)
				}
			})
		}
		for _, file := range ruleFixtures(t, r.ID, "fail") {
			t.Run(r.ID+" fails "+filepath.Base(file), func(t *testing.T) {
				run := loadRun(t, file)
				var found bool
				for _, tpl := range run.judged(r) {
					got := run.findings(r, tpl, fixturePolicy(r.ID))
					found = found || len(got) > 0
					for _, f := range got {
						if !findingUnder(tpl, f.Path) {
							t.Errorf("finding path %q is not a field of %s that the rule judges", f.Path, tpl.Describe())
						}
						if f.Problem == "" || f.Fix == "" {
							t.Errorf("finding lacks a problem or a fix: %+v", f)
						}
					}
				}
				if !found {
					t.Fatalf("no finding on a failing fixture")
				}
			})
		}
	}
}
