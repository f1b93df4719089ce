package audit

import (
	"embed"
	"html/template"
	"io"
)

//go:embed templates/report.html
var templates embed.FS

// htmlReport is the HTML report: one self-contained file (inline CSS, no
// scripts, no external assets), escaped by html/template.
var htmlReport = template.Must(template.New("report.html").Funcs(template.FuncMap{
	"plural":   plural,
	"duration": roundDuration,
	// class is the CSS class of a verdict.
	"class": func(v Verdict) string {
		switch v {
		case Denied:
			return "denied"
		case Warned:
			return "warned"
		case Defaulted:
			return "defaulted"
		}
		return "exempted"
	},
	// open: what would be denied or warned is shown unfolded.
	"open": func(v Verdict) bool { return v == Denied || v == Warned },
}).ParseFS(templates, "templates/report.html"))

// WriteHTML prints the report as one self-contained HTML page: the
// summary first, then per namespace and rule every finding with its fix.
func (r *Report) WriteHTML(w io.Writer) error {
	return htmlReport.Execute(w, r)
}

// Where names what was audited, for headings.
func (r *Report) Where() string {
	if r.Context != "" {
		return r.Context
	}
	return "the cluster"
}

// Total counts the findings with verdict v in every namespace.
func (r *Report) Total(v string) int {
	n := 0
	for _, ns := range r.Namespaces {
		n += ns.Count(v)
	}
	return n
}

// Count is the number of the namespace's findings with verdict v.
func (ns *Namespace) Count(v string) int { return ns.Counts[Verdict(v)] }
