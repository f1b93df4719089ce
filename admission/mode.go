package admission

import "fmt"

// Mode is how a namespace is guarded; it is named by the label
// plimsoll.dev/mode and by the path the API server calls.
type Mode string

const (
	// Enforce applies defaults, denies error-severity violations and warns
	// about the rest.
	Enforce Mode = "enforce"
	// Warn applies defaults and returns every violation as a warning.
	Warn Mode = "warn"
	// Audit (dry run) computes defaults without applying them and records
	// violations without telling the client.
	Audit Mode = "audit"
	// Off is a namespace plimsoll does not touch; it has no endpoint.
	Off Mode = "off"
)

// ModeLabel is the namespace label that chooses the mode.
const ModeLabel = "plimsoll.dev/mode"

// ServedModes are the modes with endpoints.
var ServedModes = []Mode{Enforce, Warn, Audit}

// ParseMode parses a served mode.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case Enforce, Warn, Audit:
		return m, nil
	}
	return "", fmt.Errorf("unknown mode %q: plimsoll serves enforce, warn and audit", s)
}

// Known reports whether m is a value the label plimsoll.dev/mode may
// take: a served mode or off. A namespace labelled with anything else is
// touched by no webhook entry.
func (m Mode) Known() bool {
	switch m {
	case Enforce, Warn, Audit, Off:
		return true
	}
	return false
}

// ParseJudgingMode parses the mode a report judges by (`plimsoll check
// --mode`, `plimsoll audit --mode`): enforce, whose error-severity
// findings are what enforce would deny, or warn, where nothing denies.
func ParseJudgingMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case Enforce, Warn:
		return m, nil
	}
	return "", fmt.Errorf("%q: use enforce or warn", s)
}
