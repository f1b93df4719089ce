package policy_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/plimsoll/plimsoll/policy"
)

// FuzzLoad feeds any bytes to the policy loader: it must never panic, and a
// policy it accepts must be valid (loading it again gives no error).
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
	})
}
