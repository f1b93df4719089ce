package policy_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"sigs.k8s.io/yaml"

	"github.com/plimsoll/plimsoll/policy"
)

// FuzzLoad feeds any bytes to the policy loader: it must never panic, and a
// policy it accepts must be valid and survive a round trip: written out
// (sigs.k8s.io/yaml) and loaded again, it is the same policy.
func FuzzLoad(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yaml")
	files = append(files, "../docs/policy.yaml")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := policy.Load(data, nil)
		if err != nil {
			return
		}
		if p.APIVersion != policy.APIVersion || p.Kind != policy.Kind {
			t.Fatalf("accepted a policy of %s %s", p.APIVersion, p.Kind)
		}
		if p.Defaults.Probes.Readiness.PeriodSeconds < 1 || p.Defaults.Probes.Startup.FailureThreshold < 1 {
			t.Fatalf("accepted invalid probe timing: %+v", p.Defaults.Probes)
		}
		out, err := yaml.Marshal(p)
		if err != nil {
			t.Fatalf("cannot write out an accepted policy: %v", err)
		}
		again, err := policy.Load(out, nil)
		if err != nil {
			t.Fatalf("an accepted policy, written out, is refused: %v\n%s", err, out)
		}
		// The hash is of the source text, which differs; an empty list
		// means what an absent one does.
		if diff := cmp.Diff(p, again, cmpopts.IgnoreUnexported(policy.Policy{}), cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("an accepted policy, written out and loaded again, differs (-first +again):\n%s\nwritten out:\n%s", diff, out)
		}
	})
}
