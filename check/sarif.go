package check

import (
	"encoding/json"
	"io"
	"net/url"
	"path/filepath"

	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/validate"
)

// SARIF 2.1.0 (OASIS), as code scanning services read it: GitHub's
// upload-sarif, GitLab, Azure DevOps. Only the parts plimsoll fills are
// declared; sarif_test.go validates the output against the standard's
// JSON schema.

const (
	sarifSchema  = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
	sarifVersion = "2.1.0"
	// RulesDocURL is where each rule is documented: RulesDocURL#<id>.
	RulesDocURL = "https://github.com/plimsoll/plimsoll/blob/main/docs/rules.md"
	projectURL  = "https://github.com/plimsoll/plimsoll"
)

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
	// ColumnKind says how columns count: yaml.v3 counts characters.
	ColumnKind string `json:"columnKind"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifText struct {
	Text     string `json:"text"`
	Markdown string `json:"markdown,omitempty"`
}

type sarifRule struct {
	ID                   string         `json:"id"`
	ShortDescription     sarifText      `json:"shortDescription"`
	FullDescription      sarifText      `json:"fullDescription"`
	Help                 sarifText      `json:"help"`
	HelpURI              string         `json:"helpUri"`
	DefaultConfiguration sarifConfig    `json:"defaultConfiguration"`
	Properties           map[string]any `json:"properties,omitempty"`
}

type sarifConfig struct {
	// Enabled is false for a rule that is off unless the policy turns it
	// on (SARIF's reportingConfiguration.enabled, default true).
	Enabled *bool  `json:"enabled,omitempty"`
	Level   string `json:"level"`
}

type sarifResult struct {
	RuleID       string             `json:"ruleId"`
	RuleIndex    *int               `json:"ruleIndex,omitempty"`
	Level        string             `json:"level"`
	Message      sarifText          `json:"message"`
	Locations    []sarifLocation    `json:"locations"`
	Suppressions []sarifSuppression `json:"suppressions,omitempty"`
	Properties   map[string]any     `json:"properties,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           sarifRegion   `json:"region"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn"`
}

type sarifSuppression struct {
	Kind          string `json:"kind"`
	Justification string `json:"justification,omitempty"`
}

// WriteSARIF prints the report as a SARIF 2.1.0 log: one run of the tool
// plimsoll at version, with every rule of validate.Registry() (its
// description, remediation, documentation and default level) and one
// result per finding at its file, line and column. A result's level is
// its effective severity (error or warning); what defaulting will fix and
// what an exemption lifts are "note"s, and an exempted one also carries a
// suppression naming the exemption.
func (r *Report) WriteSARIF(w io.Writer, version string) error {
	rules := validate.Registry()
	index := make(map[string]int, len(rules))
	driver := sarifDriver{Name: "plimsoll", Version: version, InformationURI: projectURL, Rules: make([]sarifRule, 0, len(rules))}
	for i, rule := range rules {
		index[rule.ID] = i
		driver.Rules = append(driver.Rules, sarifRuleOf(rule))
	}
	results := make([]sarifResult, 0, len(r.Results))
	for _, res := range r.Results {
		sr := sarifResult{
			RuleID:  res.Rule,
			Level:   sarifLevel(res),
			Message: sarifText{Text: res.Message},
			Locations: []sarifLocation{{
				PhysicalLocation: sarifPhysical{
					ArtifactLocation: sarifArtifact{URI: fileURI(res.File)},
					Region:           sarifRegion{StartLine: max(res.Line, 1), StartColumn: max(res.Column, 1)},
				},
			}},
			Properties: map[string]any{
				"kind": res.Kind, "namespace": res.Namespace, "name": res.Name,
				"container": res.Container, "path": res.Path, "severity": res.Severity,
				"remediation": res.Remediation, "fixable": res.Fixable,
			},
		}
		if i, ok := index[res.Rule]; ok {
			sr.RuleIndex = &i
		}
		if res.Exemption != "" {
			sr.Suppressions = []sarifSuppression{{Kind: "external", Justification: res.Exemption}}
			sr.Properties["exemption"] = res.Exemption
		}
		results = append(results, sr)
	}
	log := sarifLog{
		Schema:  sarifSchema,
		Version: sarifVersion,
		Runs:    []sarifRun{{Tool: sarifTool{Driver: driver}, Results: results, ColumnKind: "unicodeCodePoints"}},
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(log)
}

func sarifRuleOf(rule *validate.Rule) sarifRule {
	help := "Fix: " + rule.Remediation + "\n\nDefaulted by plimsoll: " + rule.Defaulted + "\n\nSee " + RulesDocURL + "#" + rule.ID
	config := sarifConfig{Level: "warning"}
	switch rule.Severity {
	case policy.Error:
		config.Level = "error"
	case policy.Off:
		off := false
		config.Level, config.Enabled = "none", &off
	}
	return sarifRule{
		ID:               rule.ID,
		ShortDescription: sarifText{Text: rule.Description},
		FullDescription:  sarifText{Text: rule.Description + " Fix: " + rule.Remediation},
		Help: sarifText{
			Text:     help,
			Markdown: "**Fix:** " + rule.Remediation + "\n\n**Defaulted by plimsoll:** " + rule.Defaulted + "\n\n[Documentation](" + RulesDocURL + "#" + rule.ID + ")",
		},
		HelpURI:              RulesDocURL + "#" + rule.ID,
		DefaultConfiguration: config,
		Properties:           map[string]any{"category": rule.Category, "tags": []string{"kubernetes", rule.Category}},
	}
}

// sarifLevel is the result's level: its effective severity, or "note"
// for what defaulting fixes or an exemption lifts.
func sarifLevel(res Result) string {
	switch {
	case res.Fixable || res.Exemption != "":
		return "note"
	case res.Severity == string(policy.Error):
		return "error"
	}
	return "warning"
}

// fileURI is the path as given, written as a URI reference (relative
// paths stay relative, as code scanning wants them: relative to the
// repository), with what a URI cannot hold escaped.
func fileURI(path string) string {
	u := url.URL{Path: filepath.ToSlash(path)}
	return u.String()
}

// namespacedName is namespace/name, or name when there is no namespace.
func namespacedName(namespace, name string) string {
	if namespace == "" {
		return name
	}
	return namespace + "/" + name
}
