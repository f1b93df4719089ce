package admission

import (
	"fmt"
	"slices"
	"strings"

	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/validate"
)

// Decision is what was done with a request, as metrics and logs name it.
type Decision = string

// Decisions.
const (
	Allowed = "allowed"
	Denied  = "denied"
	Warned  = "warned"
	// Errored is a request plimsoll could not judge (bad input, an
	// internal error, a deadline passed).
	Errored = "error"
	// Overloaded is a request answered without being judged, because the
	// cap on requests in flight was reached.
	Overloaded = "overloaded"
)

// Status codes of an Answer that does not admit, as HTTP names them (the
// AdmissionResponse carries them in its status).
const (
	CodeForbidden       = 403
	CodeTooManyRequests = 429
	CodeInternalError   = 500
	CodeDeadline        = 504
)

// Answer is the decision on one request, before any transport writes it.
type Answer struct {
	Allowed bool
	// Code is the status of an answer that does not admit: 403 for a
	// denial, 429, 500 or 504 for a request plimsoll could not judge.
	Code int32
	// Message says why the request was not admitted; on a denial it lists
	// what must change. On an admitted request, an optional note (why
	// plimsoll had nothing to do).
	Message string
	// Causes are the fields a denial is about, at most maxCauses.
	Causes []Cause
	// Warnings are what the client is told without being refused.
	Warnings []string
	// AuditAnnotations are recorded in the API server's audit log (it
	// prefixes each key with the webhook's name).
	AuditAnnotations map[string]string
	// Patch is the JSON patch (RFC 6902) that writes plimsoll's defaults
	// into an admitted Pod, or nil.
	Patch []byte
}

// Cause is one field a denial is about.
type Cause struct {
	Field   string
	Message string
}

// Decision names what a was, for metrics and logs.
func (a Answer) Decision() Decision {
	switch {
	case !a.Allowed && a.Code == CodeTooManyRequests:
		return Overloaded
	case !a.Allowed && a.Code == CodeForbidden:
		return Denied
	case !a.Allowed:
		return Errored
	case len(a.Warnings) > 0:
		return Warned
	}
	return Allowed
}

// Subject is the object a decision is about, as a denial names it.
type Subject struct {
	// Description names the object, e.g. `Deployment "web"` (see
	// workload.Template.Describe).
	Description string
	Namespace   string
	// PodCreate says the object is a Pod being created and judged as it
	// arrived (not as defaulting would leave it): a denial for a rule
	// defaulting fixes then means defaulting did not run for it.
	PodCreate bool
}

// Limits that keep answers within what the API server passes on: it
// truncates admission warnings beyond 4 KiB in all, and a denial message is
// read by a person.
const (
	maxWarnings     = 12
	maxDenialLines  = 20
	maxCauses       = 100
	maxAuditEntries = 50
)

// Decide turns the violations found in s into an answer according to the
// mode: enforce denies what an error-severity violation that defaulting
// does not fix breaks and warns about the rest; warn admits and warns
// about everything; audit admits and records what enforce would have done
// in audit annotations.
func Decide(mode Mode, s Subject, vs []validate.Violation) Answer {
	a := Answer{Allowed: true}
	if len(vs) == 0 {
		return a
	}
	if mode == Audit {
		a.AuditAnnotations = auditAnnotations(vs)
		return a
	}
	if mode == Enforce && slices.ContainsFunc(vs, validate.Violation.Denies) {
		a.Allowed, a.Code = false, CodeForbidden
		a.Message, a.Causes = denial(s, vs)
	}
	a.Warnings = warnings(mode, vs)
	if ex := exempted(vs); ex != "" {
		a.AuditAnnotations = map[string]string{"exempted": ex}
	}
	return a
}

// denial writes the message of a denial and its causes. Only the lines
// and causes shown are written; the rest are counted (a Pod of 30,000
// containers may break 400,000 rules).
func denial(s Subject, vs []validate.Violation) (string, []Cause) {
	var lines []string
	var causes []Cause
	denied := 0
	undefaulted := false
	for i := range vs {
		v := &vs[i]
		if !v.Denies() {
			continue
		}
		if denied < maxDenialLines {
			lines = append(lines, v.ShortMessage())
		}
		if denied < maxCauses {
			causes = append(causes, Cause{Field: v.Path, Message: v.ShortMessage()})
		}
		undefaulted = undefaulted || defaultingFixes(v)
		denied++
	}
	if extra := denied - maxDenialLines; extra > 0 {
		lines = append(lines, fmt.Sprintf("… and %d more; run `plimsoll check -f <manifest>` to see them all", extra))
	}
	where := s.Description
	if s.Namespace != "" {
		where += fmt.Sprintf(" in namespace %q", s.Namespace)
	}
	noun := "violation"
	if denied > 1 {
		noun = "violations"
	}
	msg := fmt.Sprintf("plimsoll denied %s: %d %s of enforced rules:\n%s", where, denied, noun, strings.Join(lines, "\n"))
	if undefaulted && s.PodCreate {
		msg += "\n" + notDefaulted
	}
	return msg, causes
}

// notDefaulted ends the denial of a Pod that arrived without what
// plimsoll's defaulting writes.
const notDefaulted = "Some of these are fields plimsoll's defaulting writes, but it did not run for this Pod " +
	"(its mutating webhook is not registered for this namespace, or timed out): set them in the Pod, " +
	"or ask your cluster operator to check plimsoll's MutatingWebhookConfiguration."

// defaultingFixes reports whether plimsoll's defaulting can write what v's
// rule asks for (in some cases at least).
func defaultingFixes(v *validate.Violation) bool {
	return v.Rule.Defaulted != "" && v.Rule.Defaulted != "no"
}

// Failure answers a request plimsoll could not judge (an internal error, a
// deadline, the cap on requests in flight) as its mode asks: enforce
// refuses what it cannot judge, so it denies with code; warn admits with a
// warning; audit admits and records. what says what went wrong, without
// the "plimsoll: " every message starts with.
func Failure(mode Mode, code int32, what string) Answer {
	switch mode {
	case Warn:
		return Answer{Allowed: true, Warnings: []string{"plimsoll: " + what + "; admitted because this namespace is in warn mode"}}
	case Audit:
		return Answer{Allowed: true, AuditAnnotations: map[string]string{"error": what}}
	}
	// Enforce, or a mode not yet known when plimsoll failed: refused.
	return Answer{Code: code, Message: "plimsoll: " + what + "; enforce mode refuses what it cannot judge: try again, and if it persists ask your cluster operator"}
}

// Refusal answers a request plimsoll will not judge as sent (malformed,
// oversized, of an unknown operation): not admitted, with code and what is
// wrong, without the "plimsoll: " every message starts with.
func Refusal(code int32, what string) Answer {
	return Answer{Code: code, Message: "plimsoll: " + what}
}

// Admit admits, with an optional note saying why nothing was done.
func Admit(note string) Answer {
	return Answer{Allowed: true, Message: note}
}

// What a failure says went wrong.
const (
	CouldNotJudge   = "could not judge this object (internal error)"
	CouldNotDefault = "could not apply its defaults to this Pod (internal error)"
	OutOfTime       = "could not judge this object before the API server's deadline"
)

// AtCapacity says what a request answered beyond the cap on requests in
// flight was told.
func AtCapacity(maxInFlight int) string {
	return fmt.Sprintf("at its limit of %d requests in flight (--max-in-flight), did not judge this request", maxInFlight)
}

// warnings are what a client is told without being refused: every
// violation not denied, and one line for what defaulting will fix; at most
// maxWarnings lines. Only the lines kept are written: a Pod of 30,000
// containers may have 60,000 warnings to count, and a dozen to say.
func warnings(mode Mode, vs []validate.Violation) []string {
	type warning struct {
		v      *validate.Violation
		suffix string
	}
	var warned []warning
	var fixable []string
	var expired []int
	for i := range vs {
		v := &vs[i]
		for _, e := range v.ExpiredExemptions {
			if !slices.Contains(expired, e) {
				expired = append(expired, e)
			}
		}
		switch {
		case v.Waiver != nil:
			// exempted: recorded in the audit annotation and metrics only
		case v.Fixable:
			if !slices.Contains(fixable, v.Rule.ID) {
				fixable = append(fixable, v.Rule.ID)
			}
		case v.Denies() && mode == Enforce:
			// in the denial message
		case v.Preexisting && v.Severity == policy.Error:
			warned = append(warned, warning{v, " (already there before this update, so not denied; please fix)"})
		case v.Severity == policy.Error && mode == Warn:
			warned = append(warned, warning{v, " (enforce mode would deny this)"})
		default:
			warned = append(warned, warning{v, ""})
		}
	}
	keep := len(warned)
	if keep > maxWarnings {
		keep = maxWarnings - 1
	}
	out := make([]string, 0, keep+2+len(expired))
	for _, w := range warned[:keep] {
		out = append(out, w.v.ShortMessage()+w.suffix)
	}
	if extra := len(warned) - keep; extra > 0 {
		out = append(out, fmt.Sprintf("… and %d more warnings; run `plimsoll check -f <manifest>` to see them all", extra))
	}
	if len(fixable) > 0 {
		out = append(out, fmt.Sprintf("plimsoll will default what these rules ask for on the Pods: %s (see the plimsoll.dev/mutations annotation on each Pod)", strings.Join(fixable, ", ")))
	}
	for _, i := range expired {
		out = append(out, fmt.Sprintf("plimsoll: policy exemption %d has expired and no longer applies to this object; renew or remove it in the policy", i))
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// auditAnnotations record, for the API server's audit log, what enforce
// mode would have done.
func auditAnnotations(vs []validate.Violation) map[string]string {
	var deny, warn, fix, exempt entries
	for i := range vs {
		v := &vs[i]
		switch {
		case v.Waiver != nil:
			exempt.add(v, exemptionEntry)
		case v.Fixable:
			fix.add(v, shortMessage)
		case v.Denies():
			deny.add(v, shortMessage)
		default:
			warn.add(v, shortMessage)
		}
	}
	out := map[string]string{}
	decision := "would-allow"
	if deny.n > 0 {
		decision = "would-deny"
		out["would-deny"] = deny.String()
	}
	if warn.n > 0 {
		out["would-warn"] = warn.String()
	}
	if fix.n > 0 {
		out["would-default"] = fix.String()
	}
	if exempt.n > 0 {
		out["exempted"] = exempt.String()
	}
	out["decision"] = decision
	return out
}

// entries gathers the lines of an audit annotation: at most
// maxAuditEntries are written, the rest only counted.
type entries struct {
	lines []string
	n     int
}

func (e *entries) add(v *validate.Violation, line func(*validate.Violation) string) {
	if e.n < maxAuditEntries {
		e.lines = append(e.lines, line(v))
	}
	e.n++
}

func (e *entries) String() string {
	s := strings.Join(e.lines, "; ")
	if extra := e.n - len(e.lines); extra > 0 {
		s += fmt.Sprintf("; … and %d more", extra)
	}
	return s
}

func shortMessage(v *validate.Violation) string { return v.ShortMessage() }

// exempted lists the violations an exemption lifted, as the audit
// annotation "exempted" names them.
func exempted(vs []validate.Violation) string {
	var e entries
	for i := range vs {
		if vs[i].Waiver != nil {
			e.add(&vs[i], exemptionEntry)
		}
	}
	return e.String()
}

func exemptionEntry(v *validate.Violation) string {
	return fmt.Sprintf("[%s] %s: %s", v.Rule.ID, v.Path, v.Waiver)
}
