package check

import (
	"github.com/plimsoll/plimsoll/admission"
	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/validate"
	"github.com/plimsoll/plimsoll/workload"
)

// NewResult is the finding `plimsoll check` reports for violation v of the
// object t, read from file, judged in mode (enforce or warn). Other
// reports in check's schema (`plimsoll audit -o json`) build their results
// with it, so the two never disagree on a field.
func NewResult(file string, t *workload.Template, v validate.Violation, mode admission.Mode) Result {
	sev := string(v.Severity)
	if mode == admission.Warn && v.Severity == policy.Error {
		sev = string(policy.Warning)
	}
	res := Result{
		File: file, Kind: t.Kind, Namespace: t.Meta.Namespace, Name: workload.Name(t.Meta),
		Container: v.Container, Rule: v.Rule.ID, Severity: sev, Path: v.Path,
		Message: v.Message(), Remediation: v.Fix, Fixable: v.Fixable,
		short: v.ShortMessage(),
	}
	if res.Remediation == "" {
		res.Remediation = v.Rule.Remediation
	}
	if v.Waiver != nil {
		res.Exemption = v.Waiver.String()
	}
	return res
}

// Count adds res to the summary's totals as check counts it: an error
// that enforce would deny, a warning, or neither (fixable or exempted).
// It does not count objects.
func (s *Summary) Count(res Result) {
	switch {
	case res.Fixable || res.Exemption != "":
	case res.Severity == string(policy.Error):
		s.Errors++
	default:
		s.Warnings++
	}
}
