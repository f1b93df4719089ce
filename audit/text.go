package audit

import (
	"fmt"
	"io"
	"strings"
	"time"
)

const (
	red    = "\x1b[31m"
	yellow = "\x1b[33m"
	green  = "\x1b[32m"
	cyan   = "\x1b[36m"
	bold   = "\x1b[1m"
	reset  = "\x1b[0m"
)

// maxDefaultedNames is how many objects a "would be defaulted" line names.
const maxDefaultedNames = 8

// WriteText prints the report for a terminal: per namespace, what would
// be denied (every finding, with its fix), what would only warn (the
// same), what defaulting will fix (the objects, briefly) and what is
// exempted; then one summary line.
func (r *Report) WriteText(w io.Writer, color bool) {
	paint := func(code, s string) string {
		if !color {
			return s
		}
		return code + s + reset
	}
	fmt.Fprintln(w, paint(bold, r.heading()))
	for _, ns := range r.Namespaces {
		fmt.Fprintln(w)
		head := fmt.Sprintf("namespace %s (mode: %s): %d %s", ns.Name, ns.Mode, ns.Objects, plural(ns.Objects, "object", "objects"))
		switch {
		case ns.Denied > 0:
			head += ", " + paint(red, fmt.Sprintf("%d would be denied", ns.Denied))
		case ns.Counts[Warned] > 0:
			head += ", " + paint(yellow, "none would be denied")
		default:
			head += ", " + paint(green, "none would be denied")
		}
		fmt.Fprintln(w, paint(bold, head))
		var last Verdict
		for _, g := range ns.Groups {
			if g.Verdict != last {
				last = g.Verdict
				switch g.Verdict {
				case Denied:
					fmt.Fprintln(w, "  "+paint(red, "✘ would be denied"))
				case Warned:
					fmt.Fprintln(w, "  "+paint(yellow, "! would only warn"))
				case Defaulted:
					fmt.Fprintln(w, "  "+paint(green, "✔ would be defaulted"))
				case Exempted:
					fmt.Fprintln(w, "  "+paint(cyan, "- exempted"))
				}
			}
			n := g.Objects()
			switch g.Verdict {
			case Defaulted:
				var names []string
				for i, it := range g.Items {
					if i > 0 && g.Items[i-1].Object == it.Object {
						continue
					}
					if len(names) == maxDefaultedNames {
						names = append(names, fmt.Sprintf("and %d more", n-maxDefaultedNames))
						break
					}
					names = append(names, it.Object.Ref())
				}
				fmt.Fprintf(w, "    [%s] %d %s: %s\n", g.Rule.ID, n, plural(n, "object", "objects"), strings.Join(names, ", "))
			case Exempted:
				fmt.Fprintf(w, "    [%s] %d %s\n", g.Rule.ID, n, plural(n, "object", "objects"))
				for _, it := range g.Items {
					fmt.Fprintf(w, "      %s: %s\n        %s\n", it.Object.Ref(), it.Detail, paint(cyan, it.Exemption))
				}
			default:
				fmt.Fprintf(w, "    [%s] %d %s in %d %s\n", g.Rule.ID, len(g.Items), plural(len(g.Items), "finding", "findings"), n, plural(n, "object", "objects"))
				fix := g.Fix()
				if fix != "" {
					fmt.Fprintf(w, "      fix: %s\n", fix)
				}
				for _, it := range g.Items {
					fmt.Fprintf(w, "      %s: %s\n", it.Object.Ref(), it.Detail)
					if fix == "" {
						fmt.Fprintf(w, "        fix: %s\n", it.Remediation)
					}
				}
			}
		}
		if ns.Objects > 0 && len(ns.Groups) == 0 {
			fmt.Fprintln(w, "  "+paint(green, "✔ every object passes every rule"))
		}
	}
	if len(r.UnknownModes) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, paint(red, fmt.Sprintf("%d %s a %s label plimsoll does not know: such a namespace gets no guard in opt-in scope and the default mode in cluster scope, whatever its owner meant (write enforce, warn, audit or off):",
			len(r.UnknownModes), plural(len(r.UnknownModes), "namespace has", "namespaces have"), modeLabel)))
		for _, u := range r.UnknownModes {
			fmt.Fprintf(w, "  namespace %s: %s=%q\n", u.Namespace, modeLabel, u.Value)
		}
	}
	fmt.Fprintln(w)
	line := fmt.Sprintf("%d %s audited in %s: %d %s that %s mode would deny (%d %s refused), %d %s",
		r.Summary.Objects, plural(r.Summary.Objects, "object", "objects"), roundDuration(r.Took),
		r.Summary.Errors, plural(r.Summary.Errors, "error", "errors"), r.Mode,
		r.DeniedObjects(), plural(r.DeniedObjects(), "object", "objects"),
		r.Summary.Warnings, plural(r.Summary.Warnings, "warning", "warnings"))
	if r.Summary.Errors > 0 {
		fmt.Fprintln(w, paint(red, line))
	} else {
		fmt.Fprintln(w, paint(green, line))
	}
}

// heading says what was audited.
func (r *Report) heading() string {
	where := "the cluster"
	if r.Context != "" {
		where = r.Context
	}
	s := fmt.Sprintf("plimsoll audit of %s in %s mode (scope %s): %d %s", where, r.Mode, r.Scope, len(r.Namespaces), plural(len(r.Namespaces), "namespace", "namespaces"))
	if r.ThroughOwner > 0 {
		s += fmt.Sprintf(", %d %s reported through %s", r.ThroughOwner, plural(r.ThroughOwner, "object", "objects"), plural(r.ThroughOwner, "its owner", "their owners"))
	}
	return s
}

// roundDuration keeps a duration readable: milliseconds, or microseconds
// below one.
func roundDuration(d time.Duration) time.Duration {
	if d < time.Millisecond {
		return d.Round(time.Microsecond)
	}
	return d.Round(time.Millisecond)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
