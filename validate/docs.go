package validate

import (
	"fmt"
	"strings"
)

// MarkdownCatalogue renders the rule catalogue, docs/rules.md: a table of
// every rule, then one section per rule with its ID, category, default
// severity, whether defaulting fixes it, description and remediation.
// docs_test.go keeps docs/rules.md equal to it.
func MarkdownCatalogue(rules []*Rule) string {
	var b strings.Builder
	b.WriteString("# Rules\n\n")
	b.WriteString("<!-- Generated from validate.Registry() by `UPDATE_GOLDEN=1 go test ./validate/ -run TestRulesDoc`. Do not edit. -->\n\n")
	b.WriteString("plimsoll holds every workload to these rules. Each rule has a stable ID: use it in the\n")
	b.WriteString("policy file to change the rule's severity or turn it off\n")
	b.WriteString("(`rules: {<id>: error|warning|off}`), and to find a rule from a message, which\n")
	b.WriteString("always starts with `[<id>]`.\n\n")
	b.WriteString("A violation that defaulting fixes is reported as fixable (\"will be defaulted\") and never\n")
	b.WriteString("denied: the Pods will be admitted with the default written in.\n\n")
	b.WriteString("| ID | Category | Default severity | Defaulted | Description |\n")
	b.WriteString("|---|---|---|---|---|\n")
	for _, r := range rules {
		fmt.Fprintf(&b, "| [`%s`](#%s) | %s | %s | %s | %s |\n",
			r.ID, r.ID, cell(r.Category), r.Severity, cell(r.Defaulted), cell(r.Description))
	}
	for _, r := range rules {
		fmt.Fprintf(&b, "\n## %s\n\n", r.ID)
		fmt.Fprintf(&b, "- **Category:** %s\n", r.Category)
		fmt.Fprintf(&b, "- **Default severity:** %s\n", r.Severity)
		fmt.Fprintf(&b, "- **Defaulted:** %s\n\n", r.Defaulted)
		fmt.Fprintf(&b, "%s\n\n", r.Description)
		fmt.Fprintf(&b, "**Remediation:** %s\n", r.Remediation)
	}
	return b.String()
}

// cell makes text safe inside a markdown table cell.
func cell(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "|", `\|`), "\n", " ")
}
