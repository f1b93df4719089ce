package check

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// WriteJSON prints the report in the schema README.md documents under "Checking manifests in CI" (`plimsoll check -o json`).
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

const (
	red    = "\x1b[31m"
	yellow = "\x1b[33m"
	green  = "\x1b[32m"
	cyan   = "\x1b[36m"
	bold   = "\x1b[1m"
	reset  = "\x1b[0m"
)

// WriteText prints the report for a terminal: grouped by object, the
// denials first, then warnings, then what defaulting will fix, and a
// summary line. The object and each denial, warning and exemption carry
// their file:line:col, which editors and terminals open.
func (r *Report) WriteText(w io.Writer, color bool) {
	paint := func(code, s string) string {
		if !color {
			return s
		}
		return code + s + reset
	}
	for _, ob := range r.objects {
		where := ob.name
		if ob.namespace != "" {
			where = ob.namespace + "/" + ob.name
		}
		var errs, warns, fixed, exempt []Result
		for _, res := range ob.results {
			switch {
			case res.Exemption != "":
				exempt = append(exempt, res)
			case res.Fixable:
				fixed = append(fixed, res)
			case res.Severity == "error":
				errs = append(errs, res)
			default:
				warns = append(warns, res)
			}
		}
		verdict := paint(green, "passes")
		switch {
		case len(errs) > 0:
			verdict = paint(red, "would be denied")
		case len(warns) > 0:
			verdict = paint(yellow, "passes with warnings")
		}
		fmt.Fprintf(w, "%s %s %s: %s\n", paint(bold, ob.kind), paint(bold, where), paint(cyan, "("+position(ob.file, ob.line, ob.column)+")"), verdict)
		for _, res := range errs {
			fmt.Fprintf(w, "  %s %s: %s\n", paint(red, "✘ error  "), position(res.File, res.Line, res.Column), short(res))
		}
		for _, res := range warns {
			fmt.Fprintf(w, "  %s %s: %s\n", paint(yellow, "! warning"), position(res.File, res.Line, res.Column), short(res))
		}
		if len(fixed) > 0 {
			var ids []string
			for _, res := range fixed {
				if !contains(ids, res.Rule) {
					ids = append(ids, res.Rule)
				}
			}
			fmt.Fprintf(w, "  %s %s\n", paint(green, "✔ default"), "defaulting on its Pods will fix: "+strings.Join(ids, ", "))
		}
		for _, res := range exempt {
			fmt.Fprintf(w, "  %s %s: [%s] %s: %s\n", paint(cyan, "- exempt "), position(res.File, res.Line, res.Column), res.Rule, res.Path, res.Exemption)
		}
	}
	if len(r.objects) > 0 {
		fmt.Fprintln(w)
	}
	line := fmt.Sprintf("%d %s checked: %d %s that enforce mode would deny, %d %s",
		r.Summary.Objects, plural(r.Summary.Objects, "object", "objects"),
		r.Summary.Errors, plural(r.Summary.Errors, "error", "errors"),
		r.Summary.Warnings, plural(r.Summary.Warnings, "warning", "warnings"))
	if r.Summary.Errors > 0 {
		fmt.Fprintln(w, paint(red, line))
	} else {
		fmt.Fprintln(w, paint(green, line))
	}
}

// position is file:line:col, the way compilers and linters say where.
func position(file string, line, col int) string {
	return file + ":" + strconv.Itoa(line) + ":" + strconv.Itoa(col)
}

// short is the message without the object, which the heading names.
func short(res Result) string { return res.short }

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
