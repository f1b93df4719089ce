package validate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// rulesDoc is docs/rules.md, generated from the registry.
var rulesDoc = filepath.Join("..", "docs", "rules.md")

// TestRulesDoc keeps docs/rules.md in step with the registry. Run with
// UPDATE_GOLDEN=1 to rewrite it.
func TestRulesDoc(t *testing.T) {
	got := MarkdownCatalogue(Registry())
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
	doc := MarkdownCatalogue(Registry())
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
	doc := MarkdownCatalogue([]*Rule{{ID: "x", Category: "security", Severity: "error", Defaulted: "no", Description: "a | b\nc", Remediation: "r"}})
	if !strings.Contains(doc, `| a \| b c |`) {
		t.Errorf("pipe and newline not escaped in the table:\n%s", doc)
	}
}
