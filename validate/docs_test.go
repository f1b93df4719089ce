package validate

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// rulesDoc is docs/rules.md, generated from the registry.
var rulesDoc = filepath.Join("..", "docs", "rules.md")

// TestRulesDoc keeps docs/rules.md in step with the registry. Run with
// UPDATE_GOLDEN=1 to rewrite it.
func TestRulesDoc(t *testing.T) {
	got := markdownCatalogue(Registry())
	if os.Getenv("UPDATE_GOLDEN") == "1" {
		if err := os.MkdirAll(filepath.Dir(rulesDoc), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(rulesDoc, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("rewrote %s", rulesDoc)
	}
	want, err := os.ReadFile(rulesDoc)
	if err != nil {
		t.Fatalf("%v (run UPDATE_GOLDEN=1 go test ./validate/ -run TestRulesDoc)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s is out of date; run UPDATE_GOLDEN=1 go test ./validate/ -run TestRulesDoc (-file +generated):\n%s", rulesDoc, diff)
	}
}

func TestMarkdownCatalogueDocumentsEveryRule(t *testing.T) {
	doc := markdownCatalogue(Registry())
	for _, r := range Registry() {
		t.Run(r.ID, func(t *testing.T) {
			row := "| [`" + r.ID + "`](#" + r.ID + ") | " + r.Category + " | " + string(r.Severity) + " | "
			if !strings.Contains(doc, row) {
				t.Errorf("no table row starting %q", row)
			}
			_, section, ok := strings.Cut(doc, "\n## "+r.ID+"\n")
			if !ok {
				t.Fatalf("no section for %s", r.ID)
			}
			section, _, _ = strings.Cut(section, "\n## ")
			for _, want := range []string{
				"**Category:** " + r.Category,
				"**Default severity:** " + string(r.Severity),
				"**Defaulted:** " + r.Defaulted,
				r.Description,
				"**Remediation:** " + r.Remediation,
			} {
				if !strings.Contains(section, want) {
					t.Errorf("section lacks %q", want)
				}
			}
		})
	}
}

func TestMarkdownCatalogueEscapesTableCells(t *testing.T) {
	doc := markdownCatalogue([]*Rule{{ID: "x", Category: "security", Severity: "error", Defaulted: "no", Description: "a | b\nc", Remediation: "r"}})
	if !strings.Contains(doc, `| a \| b c |`) {
		t.Errorf("pipe and newline not escaped in the table:\n%s", doc)
	}
}

// markdownCatalogue renders the rule catalogue, docs/rules.md: a table of
// every rule, then one section per rule with its ID, category, default
// severity, whether defaulting fixes it, description and remediation.
// TestRulesDoc keeps docs/rules.md equal to it.
func markdownCatalogue(rules []*Rule) string {
	var b strings.Builder
	b.WriteString("# Rules\n\n")
	b.WriteString("<!-- Generated from validate.Registry() by `UPDATE_GOLDEN=1 go test ./validate/ -run TestRulesDoc`. Do not edit. -->\n\n")
	b.WriteString("plimsoll holds every workload to these rules. Each rule has a stable ID: use it in the\n")
	b.WriteString("policy file to change the rule's severity or turn it off\n")
	b.WriteString("(`rules: {<id>: error|warning|off}`), and to find a rule from a message, which\n")
	b.WriteString("always starts with `[<id>]`.\n\n")
	b.WriteString("A violation that defaulting fixes is reported as fixable (\"will be defaulted\") and never\n")
	b.WriteString("denied: the Pods will be admitted with the default written in.\n\n")
	b.WriteString("**Context rules** (marked *context* below) read objects around the one they judge: the\n")
	b.WriteString("PodDisruptionBudgets that select a workload's Pods, the HorizontalPodAutoscaler that scales\n")
	b.WriteString("it, the namespace's ResourceQuotas and LimitRanges. `plimsoll check` reads them from the\n")
	b.WriteString("documents of the run (give a whole chart: `helm template … | plimsoll check -f -`),\n")
	b.WriteString("`plimsoll audit` from the cluster, and `plimsoll serve` from caches it keeps. At admission a\n")
	b.WriteString("context rule only warns, whatever its severity, and is skipped while the caches have not\n")
	b.WriteString("synced (apply order varies: Helm creates a PodDisruptionBudget before its Deployment and an\n")
	b.WriteString("HPA after it); its `error` severity takes effect in `check` and `audit`. `contextRules: false`\n")
	b.WriteString("in the policy turns them all off.\n\n")
	b.WriteString("**In-process** says whether `plimsoll export` carries the rule into the ValidatingAdmissionPolicies\n")
	b.WriteString("that the API server runs itself, so that it holds while the webhook is down\n")
	b.WriteString("([admission-policies.md](admission-policies.md), which says why for each rule it does not).\n\n")
	inProcess := exported()
	var defaults []string
	for _, f := range []string{"resources", "probes", "securityContext", "serviceAccountToken"} {
		defaults = append(defaults, fmt.Sprintf("`%s` %s", f, yesNo(inProcess[f])))
	}
	b.WriteString("The defaults that the **Defaulted** column names are written in-process too, by the\n")
	b.WriteString("MutatingAdmissionPolicy that `plimsoll export` prints, family by family: " + strings.Join(defaults, ", ") + ".\n\n")
	b.WriteString("| ID | Category | Default severity | Defaulted | In-process | Description |\n")
	b.WriteString("|---|---|---|---|---|---|\n")
	for _, r := range rules {
		fmt.Fprintf(&b, "| [`%s`](#%s) | %s | %s | %s | %s | %s |\n",
			r.ID, r.ID, cell(r.Category), r.Severity, cell(r.Defaulted), yesNo(inProcess[r.ID]), cell(contextMark(r)+r.Description))
	}
	for _, r := range rules {
		fmt.Fprintf(&b, "\n## %s\n\n", r.ID)
		fmt.Fprintf(&b, "- **Category:** %s\n", r.Category)
		fmt.Fprintf(&b, "- **Default severity:** %s\n", r.Severity)
		fmt.Fprintf(&b, "- **Defaulted:** %s\n", r.Defaulted)
		fmt.Fprintf(&b, "- **Judges:** %s\n", judges(r))
		fmt.Fprintf(&b, "- **In-process (`plimsoll export`):** %s\n", yesNo(inProcess[r.ID]))
		if r.Context() {
			b.WriteString("- **Context rule:** only warns at admission; skipped until the webhook's caches have synced\n")
		} else if r.InContext != nil {
			b.WriteString("- **Reads context** where it is known (check, audit, and the webhook once its caches have synced)\n")
		}
		b.WriteString("\n")
		fmt.Fprintf(&b, "%s\n\n", r.Description)
		fmt.Fprintf(&b, "**Remediation:** %s\n", r.Remediation)
	}
	return b.String()
}

// exported are the rules docs/admission-policies.md lists as carried by
// `plimsoll export`. Package export writes that file (it imports this
// package, so this one cannot ask it): regenerate it first, then this one.
func exported() map[string]bool {
	data, err := os.ReadFile(filepath.Join("..", "docs", "admission-policies.md"))
	if err != nil {
		return nil
	}
	out := map[string]bool{}
	for _, line := range strings.Split(string(data), "\n") {
		if id, ok := strings.CutPrefix(line, "| `"); ok {
			id, rest, _ := strings.Cut(id, "`")
			out[id] = strings.Contains(rest, " | yes | ")
		}
	}
	return out
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// contextMark marks a context rule in the table.
func contextMark(r *Rule) string {
	if r.Context() {
		return "*context* "
	}
	return ""
}

// judges says which objects a rule is about.
func judges(r *Rule) string {
	if len(r.Kinds) > 0 {
		s := strings.Join(r.Kinds, ", ")
		if slices.Contains(r.Kinds, "ConfigMap") {
			// ConfigMaps are frequent traffic: the chart sends them to
			// the webhook only when asked.
			s += " (always in `plimsoll check` and `plimsoll audit`; by the webhook only where the chart sets `configMapValidation.enabled: true`)"
		}
		return s
	}
	return "Pods and every workload that carries a pod template"
}

// cell makes text safe inside a markdown table cell.
func cell(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "|", `\|`), "\n", " ")
}
