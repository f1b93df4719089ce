package chart

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"
)

// config/ (the kustomize install) is rendered from the chart: every
// object the chart installs with its default values, release plimsoll in
// plimsoll-system, becomes a file of config/ named after the template it
// comes from (templates/server/service.yaml: server-service.yaml). What
// is the same whatever tls.mode goes to config/base; what differs goes to
// each overlay, overlays/default (tls.mode selfManaged) and
// overlays/cert-manager (certManager). The background audit's templates,
// rendered with audit.enabled, go to config/audit. Helm's own labels
// (helm.sh/chart, app.kubernetes.io/managed-by: Helm) are dropped, and so
// are Helm hooks, which kustomize has no notion of. The rest of config/
// (the kustomization.yaml files, the Namespace, the audit's own policy) is
// written by hand.

// GeneratedHeader opens every generated file of config/; a file of config/
// that starts with it and that GenerateConfig no longer produces is stale.
const GeneratedHeader = "# Generated from charts/plimsoll by `make generate`: do not edit.\n"

// RegenerateCommand is what to run when config/ is stale.
const RegenerateCommand = "`make generate` (or `cd test && go run ./chart/genconfig`)"

// configRender is one rendering of the chart that config/ is made of.
type configRender struct {
	flags []string
	// keep selects the templates (their path under templates/) to take.
	keep func(template string) bool
}

var (
	configTLSModes = map[string]string{"overlays/default": "selfManaged", "overlays/cert-manager": "certManager"}
	notAudit       = func(tmpl string) bool { return !strings.HasPrefix(tmpl, "audit/") }
	onlyAudit      = func(tmpl string) bool { return strings.HasPrefix(tmpl, "audit/") }
)

// configDoc is one object of the chart's output, as Helm rendered it.
type configDoc struct {
	template string // path under templates/, e.g. server/deployment.yaml
	key      string // Kind/name
	text     string // the document, Helm's labels removed
}

var (
	helmLabelLine = regexp.MustCompile(`(?m)^[ \t]*(helm\.sh/chart: \S+|app\.kubernetes\.io/managed-by: Helm)[ \t]*\n`)
	sourceLine    = regexp.MustCompile(`^# Source: [^/\n]+/templates/(\S+)\n`)
)

// renderConfigDocs renders the chart for config/ and splits its output
// into documents, without hooks and Helm's labels.
func renderConfigDocs(r configRender) ([]configDoc, error) {
	out, err := Template(Release, DefaultNamespace, r.flags...)
	if err != nil {
		return nil, err
	}
	var docs []configDoc
	for _, text := range strings.Split("\n"+string(out), "\n---\n") {
		if strings.TrimSpace(text) == "" {
			continue
		}
		m := sourceLine.FindStringSubmatch(text)
		if m == nil {
			return nil, fmt.Errorf("helm template %s: a document without a # Source line:\n%s", strings.Join(r.flags, " "), text)
		}
		if !r.keep(m[1]) {
			continue
		}
		text = helmLabelLine.ReplaceAllString(text, "")
		objs, err := Decode([]byte(text))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m[1], err)
		}
		if len(objs) == 0 {
			continue // a template that rendered nothing but comments
		}
		if len(objs) != 1 {
			return nil, fmt.Errorf("%s: %d objects in one document", m[1], len(objs))
		}
		var meta struct {
			Metadata struct {
				Labels      map[string]string `json:"labels"`
				Annotations map[string]string `json:"annotations"`
			} `json:"metadata"`
		}
		if err := json.Unmarshal(objs[0].Raw, &meta); err != nil {
			return nil, err
		}
		if meta.Metadata.Annotations["helm.sh/hook"] != "" {
			continue
		}
		if bytes.Contains(objs[0].Raw, []byte(`"helm.sh/chart"`)) || meta.Metadata.Labels["app.kubernetes.io/managed-by"] != "" {
			return nil, fmt.Errorf("%s: %s still carries a Helm label after they were removed", m[1], objs[0].Key())
		}
		docs = append(docs, configDoc{template: m[1], key: objs[0].GVK.Kind + "/" + objs[0].Name, text: strings.TrimRight(text, "\n") + "\n"})
	}
	return docs, nil
}

// GenerateConfig renders the generated files of config/ from the chart:
// their paths from the repository root (config/base/server-service.yaml)
// and contents.
func GenerateConfig() (map[string][]byte, error) {
	// dir -> template -> documents, in Helm's order
	files := map[string]map[string][]string{}
	renders := map[string]string{} // dir -> how its files are rendered
	add := func(dir, how string, d configDoc) {
		if files[dir] == nil {
			files[dir] = map[string][]string{}
		}
		files[dir][d.template] = append(files[dir][d.template], d.text)
		renders[dir] = how
	}
	command := func(flags ...string) string {
		return "`helm template " + Release + " charts/plimsoll -n " + DefaultNamespace + " " + strings.Join(flags, " ") + "`"
	}

	// base and the overlays: what differs between the TLS modes goes to
	// each overlay.
	overlays := slices.Sorted(mapKeys(configTLSModes))
	byOverlay := map[string][]configDoc{}
	present := map[string]int{}              // key -> overlays that render it
	variants := map[string]map[string]bool{} // key -> template and text
	for _, o := range overlays {
		docs, err := renderConfigDocs(configRender{flags: []string{"--set", "tls.mode=" + configTLSModes[o]}, keep: notAudit})
		if err != nil {
			return nil, err
		}
		byOverlay[o] = docs
		for _, d := range docs {
			present[d.key]++
			if variants[d.key] == nil {
				variants[d.key] = map[string]bool{}
			}
			variants[d.key][d.template+"\n"+d.text] = true
		}
	}
	for _, o := range overlays {
		for _, d := range byOverlay[o] {
			if present[d.key] == len(overlays) && len(variants[d.key]) == 1 {
				if o == overlays[0] {
					add("config/base", command("--set", "tls.mode=X")+", the same for every X of "+strings.Join(slices.Sorted(mapValues(configTLSModes)), " and "), d)
				}
				continue
			}
			add("config/"+o, command("--set", "tls.mode="+configTLSModes[o]), d)
		}
	}

	// the background audit
	auditFlags := []string{"--set", "audit.enabled=true"}
	docs, err := renderConfigDocs(configRender{flags: auditFlags, keep: onlyAudit})
	if err != nil {
		return nil, err
	}
	for _, d := range docs {
		add("config/audit", command(auditFlags...), d)
	}

	// the exported admission policies, alone
	rulesFlags := []string{"--set", "admissionPolicies.rules=true"}
	docs, err = renderConfigDocs(configRender{flags: rulesFlags, keep: func(tmpl string) bool { return tmpl == "admission-policies/rules.yaml" }})
	if err != nil {
		return nil, err
	}
	for _, d := range docs {
		add("config/admission-policies", command(rulesFlags...), d)
	}

	out := map[string][]byte{}
	for dir, byTemplate := range files {
		for tmpl, texts := range byTemplate {
			var b strings.Builder
			b.WriteString(GeneratedHeader)
			fmt.Fprintf(&b, "# What templates/%s renders with\n# %s,\n", tmpl, renders[dir])
			b.WriteString("# without Helm's labels and hooks. Change the chart and run\n# " + RegenerateCommand + ":\n# test/chart fails while this file is stale.\n")
			for _, t := range texts {
				b.WriteString("---\n")
				b.WriteString(t)
			}
			out[dir+"/"+strings.ReplaceAll(tmpl, "/", "-")] = []byte(b.String())
		}
	}
	return out, nil
}

// StaleConfig compares config/ under root with GenerateConfig, and the
// chart's template of the exported policies with GenerateAdmissionRules, and returns
// a line per file that differs, is missing, or was generated once and is
// no longer (nothing when config/ is current).
func StaleConfig(root string) ([]string, error) {
	want, err := GenerateConfig()
	if err != nil {
		return nil, err
	}
	var stale []string
	rules, err := GenerateAdmissionRules()
	if err != nil {
		return nil, err
	}
	if got, err := os.ReadFile(filepath.Join(root, AdmissionRulesTemplate)); err != nil || !bytes.Equal(got, rules) {
		stale = append(stale, AdmissionRulesTemplate+": differs from what `plimsoll export` makes of the built-in policy")
	}
	for _, path := range slices.Sorted(mapKeys(want)) {
		got, err := os.ReadFile(filepath.Join(root, path))
		switch {
		case err != nil:
			stale = append(stale, path+": missing")
		case !bytes.Equal(got, want[path]):
			stale = append(stale, path+": differs from the chart's rendering"+firstDifference(got, want[path]))
		}
	}
	err = filepath.WalkDir(filepath.Join(root, "config"), func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if _, ok := want[rel]; ok {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.HasPrefix(data, []byte(GeneratedHeader)) {
			stale = append(stale, rel+": generated once, but the chart renders it no more (make generate removes it)")
		}
		return nil
	})
	return stale, err
}

// WriteConfig writes GenerateConfig's files under root and removes the
// generated files it no longer produces.
func WriteConfig(root string) ([]string, error) {
	// The chart's template of the exported policies first: config/ is
	// rendered from the chart.
	rules, err := GenerateAdmissionRules()
	if err != nil {
		return nil, err
	}
	var changed []string
	if got, err := os.ReadFile(filepath.Join(root, AdmissionRulesTemplate)); err != nil || !bytes.Equal(got, rules) {
		if err := os.WriteFile(filepath.Join(root, AdmissionRulesTemplate), rules, 0o644); err != nil {
			return nil, err
		}
		changed = append(changed, "wrote "+AdmissionRulesTemplate)
	}
	want, err := GenerateConfig()
	if err != nil {
		return changed, err
	}
	for _, path := range slices.Sorted(mapKeys(want)) {
		full := filepath.Join(root, path)
		if got, err := os.ReadFile(full); err == nil && bytes.Equal(got, want[path]) {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return changed, err
		}
		if err := os.WriteFile(full, want[path], 0o644); err != nil {
			return changed, err
		}
		changed = append(changed, "wrote "+path)
	}
	err = filepath.WalkDir(filepath.Join(root, "config"), func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if _, ok := want[filepath.ToSlash(rel)]; ok {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.HasPrefix(data, []byte(GeneratedHeader)) {
			changed = append(changed, "removed "+filepath.ToSlash(rel))
			return os.Remove(p)
		}
		return nil
	})
	return changed, err
}

// KustomizationResources returns the resources a kustomization.yaml lists.
func KustomizationResources(file string) ([]string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var k struct {
		Resources []string `json:"resources"`
	}
	if err := yaml.Unmarshal(data, &k); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return k.Resources, nil
}

func mapKeys[V any](m map[string]V) func(yield func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func mapValues[V any](m map[string]V) func(yield func(V) bool) {
	return func(yield func(V) bool) {
		for _, v := range m {
			if !yield(v) {
				return
			}
		}
	}
}

// firstDifference names the first line where got and want differ.
func firstDifference(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := range max(len(g), len(w)) {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf(" (line %d: %q, the chart renders %q)", i+1, gl, wl)
		}
	}
	return ""
}
