package check_test

import (
	"testing"

	"github.com/plimsoll/plimsoll/check"
)

func TestFailOnDecidesTheExitCode(t *testing.T) {
	tests := []struct {
		name   string
		mode   string
		path   string
		failOn check.FailOn
		want   int
	}{
		{"an error fails under --fail-on error", "enforce", "testdata/multi.yaml", check.FailOnError, 1},
		{"an error fails under --fail-on warning", "enforce", "testdata/multi.yaml", check.FailOnWarning, 1},
		{"an error does not fail under --fail-on never", "enforce", "testdata/multi.yaml", check.FailOnNever, 0},
		{"warnings alone pass under --fail-on error", "enforce", "testdata/failon/warnings.yaml", check.FailOnError, 0},
		{"warnings alone fail under --fail-on warning", "enforce", "testdata/failon/warnings.yaml", check.FailOnWarning, 1},
		{"warnings alone pass under --fail-on never", "enforce", "testdata/failon/warnings.yaml", check.FailOnNever, 0},
		{"what defaulting fixes never fails, even under --fail-on warning", "enforce", "testdata/dir", check.FailOnWarning, 0},
		{"warn mode turns errors into warnings, which --fail-on warning fails on", "warn", "testdata/multi.yaml", check.FailOnWarning, 1},
		{"warn mode passes under --fail-on error", "warn", "testdata/multi.yaml", check.FailOnError, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := run(t, tt.mode, "", tt.path)
			if err != nil {
				t.Fatal(err)
			}
			if got := r.ExitCodeFor(tt.failOn); got != tt.want {
				t.Errorf("exit code = %d, want %d (summary %+v)", got, tt.want, r.Summary)
			}
		})
	}
}

func TestParseFailOn(t *testing.T) {
	for _, s := range []string{"error", "warning", "never"} {
		if f, err := check.ParseFailOn(s); err != nil || string(f) != s {
			t.Errorf("ParseFailOn(%q) = %q, %v", s, f, err)
		}
	}
	if _, err := check.ParseFailOn("warnings"); err == nil || err.Error() != `"warnings": use error, warning or never` {
		t.Errorf("ParseFailOn(warnings) error = %v", err)
	}
}
