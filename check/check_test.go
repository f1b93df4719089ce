package check_test

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/plimsoll/plimsoll/admission"

	"github.com/google/go-cmp/cmp"

	"github.com/plimsoll/plimsoll/check"
	"github.com/plimsoll/plimsoll/policy"
)

func run(t *testing.T, mode string, stdin string, paths ...string) (*check.Report, error) {
	t.Helper()
	return check.Run(check.Options{Paths: paths, Policy: policy.Default(), Mode: admission.Mode(mode), Stdin: strings.NewReader(stdin)})
}

func TestCheckFindsWhatEnforceWouldDeny(t *testing.T) {
	r, err := run(t, "enforce", "", "testdata/multi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if r.Summary.Objects != 2 {
		t.Errorf("objects = %d, want 2 (the Service is not judged)", r.Summary.Objects)
	}
	if r.ExitCode() != check.ExitViolation {
		t.Errorf("exit code = %d, want 1", r.ExitCode())
	}
	var denied []string
	for _, res := range r.Results {
		if res.Severity == "error" && !res.Fixable && res.Exemption == "" {
			denied = append(denied, res.Kind+"/"+res.Name+" "+res.Rule+" "+res.Path)
		}
	}
	want := []string{
		"Deployment/web image-tag spec.template.spec.containers[0].image",
		"Pod/debug privileged spec.containers[0].securityContext.privileged",
	}
	if diff := cmp.Diff(want, denied); diff != "" {
		t.Errorf("denied (-want +got):\n%s", diff)
	}
	if r.Summary.Errors != 2 {
		t.Errorf("summary errors = %d, want 2", r.Summary.Errors)
	}
}

func TestWarnModeNeverFails(t *testing.T) {
	r, err := run(t, "warn", "", "testdata/multi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if r.ExitCode() != check.ExitOK || r.Summary.Errors != 0 || r.Summary.Warnings == 0 {
		t.Errorf("warn mode: exit %d, summary %+v; want exit 0, no errors, some warnings", r.ExitCode(), r.Summary)
	}
}

func TestJSONOutputFollowsTheSchema(t *testing.T) {
	r, err := run(t, "enforce", "", "testdata/multi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Results []map[string]any `json:"results"`
		Summary map[string]int   `json:"summary"`
	}
	dec := json.NewDecoder(&buf)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	keys := []string{"file", "line", "column", "kind", "namespace", "name", "container", "rule", "severity", "path", "message", "remediation", "fixable"}
	for _, res := range doc.Results {
		for _, k := range keys {
			if _, ok := res[k]; !ok {
				t.Fatalf("result %v lacks %q", res, k)
			}
		}
	}
	first := doc.Results[0]
	if first["file"] != "testdata/multi.yaml" || first["namespace"] != "shop" || first["kind"] != "Deployment" || first["line"] != 26.0 || first["column"] != 9.0 {
		t.Errorf("first result = %v", first)
	}
	if got := resultKeyOrder(t, jsonOf(t, r)); !slices.Equal(got, keys) {
		t.Errorf("a result's keys are in the order %v, want %v", got, keys)
	}
	if diff := cmp.Diff(map[string]int{"objects": 2, "errors": 2, "warnings": r.Summary.Warnings}, doc.Summary); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
}

// jsonOf is the report as -o json prints it.
func jsonOf(t *testing.T, r *check.Report) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// resultKeyOrder is the order of the keys of the first result in a
// report's JSON, as printed.
func resultKeyOrder(t *testing.T, data []byte) []string {
	t.Helper()
	var doc struct {
		Results []json.RawMessage `json:"results"`
	}
	if err := json.Unmarshal(data, &doc); err != nil || len(doc.Results) == 0 {
		t.Fatalf("no results in %s (%v)", data, err)
	}
	dec := json.NewDecoder(bytes.NewReader(doc.Results[0]))
	var keys []string
	if _, err := dec.Token(); err != nil { // {
		t.Fatal(err)
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func TestUnreadableInputNamesFileAndDocument(t *testing.T) {
	tests := []struct {
		name  string
		paths []string
		want  string
	}{
		{"a broken document", []string{"testdata/broken.yaml"}, "testdata/broken.yaml: document 2:"},
		{"a broken document after documents of comments only, which are not counted", []string{"testdata/comments-then-broken.yaml"}, "testdata/comments-then-broken.yaml: document 2:"},
		{"a missing file", []string{"testdata/nope.yaml"}, "testdata/nope.yaml:"},
		{"an API version no cluster serves", []string{"testdata/old-api.yaml"}, "testdata/old-api.yaml: document 1: extensions/v1beta1 Deployment is not served by current Kubernetes; write it as apps/v1"},
		{"nothing to check", nil, "nothing to check"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := run(t, "enforce", "", tt.paths...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestDirectoriesListsAndStdin(t *testing.T) {
	r, err := run(t, "enforce", "", "testdata/dir")
	if err != nil {
		t.Fatal(err)
	}
	if r.Summary.Objects != 2 || r.ExitCode() != 0 {
		t.Errorf("directory: summary %+v exit %d, want 2 objects (nested .yml included, README ignored), exit 0", r.Summary, r.ExitCode())
	}
	r, err = run(t, "enforce", "", "testdata/list.json")
	if err != nil {
		t.Fatal(err)
	}
	var tag *check.Result
	for i := range r.Results {
		if r.Results[i].Rule == "image-tag" {
			tag = &r.Results[i]
		}
	}
	if tag == nil || tag.Kind != "CronJob" || tag.Path != "spec.jobTemplate.spec.template.spec.containers[0].image" || r.ExitCode() != 1 {
		t.Errorf("a List's CronJob: want image-tag at the nested template path and exit 1, got %+v", tag)
	}
	r, err = run(t, "enforce", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: a, image: a, securityContext: {privileged: true}}]\n", "-")
	if err != nil {
		t.Fatal(err)
	}
	if r.ExitCode() != 1 || r.Results[0].File != "(stdin)" {
		t.Errorf("stdin: exit %d, results %+v", r.ExitCode(), r.Results)
	}
}

func TestTextOutputGroupsByObject(t *testing.T) {
	r, err := run(t, "enforce", "", "testdata/multi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var plain, colored bytes.Buffer
	r.WriteText(&plain, false)
	r.WriteText(&colored, true)
	out := plain.String()
	for _, want := range []string{
		"Deployment shop/web (testdata/multi.yaml:9:1): would be denied",
		`✘ error   testdata/multi.yaml:24:9: [image-tag] container "web" uses image "nginx:latest"`,
		"✔ default defaulting on its Pods will fix:",
		"Pod debug (testdata/multi.yaml:29:1): would be denied",
		`✘ error   testdata/multi.yaml:37:23: [privileged] container "shell" runs privileged`,
		`! warning testdata/multi.yaml:35:5: [liveness-probe] container "shell" has no livenessProbe`,
		"2 objects checked: 2 errors that enforce mode would deny",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b[") {
		t.Error("colour codes in plain output")
	}
	if !strings.Contains(colored.String(), "\x1b[31m") {
		t.Error("no colour in coloured output")
	}
}

func TestExemptionsAreReportedNotCounted(t *testing.T) {
	p, err := policy.Load([]byte("apiVersion: plimsoll.dev/v1alpha1\nkind: Policy\nexemptions:\n- reason: debug pods are short-lived\n  kinds: [Pod]\n  names: [debug]\n  rules: [privileged]\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := check.Run(check.Options{Paths: []string{"testdata/multi.yaml"}, Policy: p, Mode: admission.Enforce})
	if err != nil {
		t.Fatal(err)
	}
	if r.Summary.Errors != 1 {
		t.Errorf("errors = %d, want 1 (the privileged Pod is exempt)", r.Summary.Errors)
	}
	found := false
	for _, res := range r.Results {
		if res.Rule == "privileged" {
			found = res.Exemption != ""
		}
	}
	if !found {
		t.Error("the exempted finding is not reported with its exemption")
	}
}
