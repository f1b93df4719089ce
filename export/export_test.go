package export

import (
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/plimsoll/plimsoll/admission"
	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/validate"
)

// Every form is of a rule of the catalogue, and every rule of the
// catalogue is either exported or left to the webhook with a reason.
func TestEveryRuleIsExportedOrExplained(t *testing.T) {
	ids := validate.IDs()
	for id := range forms {
		if !slices.Contains(ids, id) {
			t.Errorf("form of unknown rule %q", id)
		}
	}
	for id := range formsOf {
		if !slices.Contains(ids, id) {
			t.Errorf("form of unknown rule %q", id)
		}
	}
	for name, p := range map[string]*policy.Policy{"built-in": policy.Default(), "every rule on": allOn()} {
		res, err := Export(p, Options{})
		if err != nil {
			t.Fatal(err)
		}
		seen := slices.Clone(res.Exported)
		for _, f := range res.WebhookOnly {
			if f.Reason == "" || strings.Contains(f.Reason, "yet") {
				t.Errorf("%s: rule %s is left to the webhook without a reason (%q)", name, f.Rule, f.Reason)
			}
			seen = append(seen, f.Rule)
		}
		for _, r := range validate.Registry() {
			if p.Severity(r.ID, r.Severity) != policy.Off && !slices.Contains(seen, r.ID) {
				t.Errorf("%s: rule %s is neither exported nor listed as left to the webhook", name, r.ID)
			}
		}
		if len(res.Exported) != len(forms)+len(formsOf)-countOff(p) {
			t.Errorf("%s: exported %v, want every rule with a form that the policy leaves on", name, res.Exported)
		}
	}
}

// allOn is the built-in policy with the rules it leaves off turned on (at
// warning), so that every rule's in-process form, or why it has none,
// shows.
func allOn() *policy.Policy {
	p := policy.Default()
	if p.Rules == nil {
		p.Rules = map[string]policy.Severity{}
	}
	for _, r := range validate.Registry() {
		if p.Severity(r.ID, r.Severity) == policy.Off {
			p.Rules[r.ID] = policy.Warning
		}
	}
	return p
}

// severityOf is rule id's severity in the catalogue.
func severityOf(id string) policy.Severity {
	for _, r := range validate.Registry() {
		if r.ID == id {
			return r.Severity
		}
	}
	return policy.Off
}

func countOff(p *policy.Policy) int {
	n := 0
	for _, r := range validate.Registry() {
		if _, ok := formFor(r.ID, p); ok && p.Severity(r.ID, r.Severity) == policy.Off {
			n++
		}
	}
	return n
}

// The actions per mode: an error denies in enforce only, its ratcheted
// violations and warnings warn, and audit audits.
func TestBindingsMapSeveritiesToActions(t *testing.T) {
	p := policy.Default()
	p.Rules = map[string]policy.Severity{"host-port": policy.Warning}
	res, err := Export(p, Options{Name: "x", ExcludedNamespaces: []string{"plimsoll-system"}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]admissionregistrationv1.ValidationAction{}
	for _, b := range res.Bindings {
		if len(b.Spec.ValidationActions) != 1 {
			t.Fatalf("binding %s: actions %v", b.Name, b.Spec.ValidationActions)
		}
		got[b.Name] = b.Spec.ValidationActions[0]
		sel := b.Spec.MatchResources.NamespaceSelector
		if !slices.Contains(sel.MatchExpressions[0].Values, "plimsoll-system") || !slices.Contains(sel.MatchExpressions[0].Values, "kube-system") {
			t.Errorf("binding %s does not exclude the release and system namespaces: %v", b.Name, sel)
		}
		if b.Spec.PolicyName+"-"+sel.MatchExpressions[1].Values[0] != b.Name || sel.MatchExpressions[1].Key != admission.ModeLabel {
			t.Errorf("binding %s selects %v", b.Name, sel.MatchExpressions[1])
		}
	}
	want := map[string]admissionregistrationv1.ValidationAction{
		"x-error-enforce": "Deny", "x-error-warn": "Warn", "x-error-audit": "Audit",
		"x-preexisting-enforce": "Warn", "x-preexisting-warn": "Warn", "x-preexisting-audit": "Audit",
		"x-warning-enforce": "Warn", "x-warning-warn": "Warn", "x-warning-audit": "Audit",
		// the budgets' and the autoscalers' rules, all warnings, in
		// policies of their own
		"x-warning-budgets-enforce": "Warn", "x-warning-budgets-warn": "Warn", "x-warning-budgets-audit": "Audit",
		"x-warning-autoscalers-enforce": "Warn", "x-warning-autoscalers-warn": "Warn", "x-warning-autoscalers-audit": "Audit",
	}
	for name, a := range want {
		if got[name] != a {
			t.Errorf("binding %s: %q, want %q", name, got[name], a)
		}
	}
	if len(got) != len(want) {
		t.Errorf("bindings %v, want %v", got, want)
	}
	for _, pol := range res.Policies {
		var ids []string
		for _, v := range pol.Spec.Validations {
			ids = append(ids, ruleRef(v.MessageExpression))
		}
		if pol.Name == "x-warning" && !slices.Contains(ids, "host-port") {
			t.Errorf("policy x-warning carries %v, want host-port (a warning by the policy)", ids)
		}
		if pol.Name == "x-error" && slices.Contains(ids, "host-port") {
			t.Errorf("policy x-error carries host-port, which the policy made a warning")
		}
	}
	if _, err := Export(p, Options{Modes: []admission.Mode{"strict"}}); err == nil {
		t.Error("an unknown mode is accepted")
	}
}

// A rule whose findings carry severities of their own (seccomp-profile:
// Unconfined an error, no profile a warning) is split between the error
// and the warning policies, each with the fields of its findings; a
// severity the policy sets for the rule puts every finding there. The
// rules' policies fail closed, the binding's action deciding what that
// does.
func TestFindingsKeepTheirSeverity(t *testing.T) {
	fields := func(p *policy.Policy) map[string][]string {
		t.Helper()
		res, err := Export(p, Options{Name: "x"})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string][]string{}
		for _, pol := range res.Policies {
			if *pol.Spec.FailurePolicy != admissionregistrationv1.Fail {
				t.Errorf("policy %s fails %s, want Fail", pol.Name, *pol.Spec.FailurePolicy)
			}
			if pol.Name == "x-preexisting" {
				continue // x-error's, ratcheted
			}
			for _, v := range pol.Spec.Validations {
				if ruleRef(v.MessageExpression) != "seccomp-profile" {
					continue
				}
				for _, f := range []string{"turns off", "has no seccomp profile"} {
					if strings.Contains(v.MessageExpression, f) {
						out[pol.Name] = append(out[pol.Name], f)
					}
				}
			}
		}
		return out
	}
	got := fields(policy.Default())
	if !slices.Equal(got["x-error"], []string{"turns off"}) || !slices.Equal(got["x-warning"], []string{"has no seccomp profile"}) {
		t.Errorf("built-in policy: seccomp-profile's findings by policy %v; want Unconfined in x-error, no profile in x-warning", got)
	}
	for _, sev := range []policy.Severity{policy.Error, policy.Warning} {
		p := policy.Default()
		p.Rules = map[string]policy.Severity{"seccomp-profile": sev}
		got := fields(p)
		want := "x-" + string(sev)
		if len(got) != 1 || len(got[want]) != 2 {
			t.Errorf("seccomp-profile set to %s by the policy: findings by policy %v; want both in %s", sev, got, want)
		}
	}
}

var ruleIDPattern = regexp.MustCompile(`'\[([a-z][a-z0-9-]*)\] `)

func ruleRef(message string) string {
	m := ruleIDPattern.FindStringSubmatch(message)
	if m == nil {
		return ""
	}
	return m[1]
}

// Exemptions by namespace, and by annotation where the policy allows it,
// become guards; one that selects by name, kind or image, or expires,
// leaves its rules to the webhook, saying which exemption and why.
func TestExemptions(t *testing.T) {
	expires := metav1.NewTime(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	p := policy.Default()
	p.AllowAnnotationExemptions = true
	p.Exemptions = []policy.Exemption{
		{Reason: "the node agents", Rules: []string{"host-path", "host-namespaces"}, Namespaces: []string{"agents-*", "monitoring"}},
		{Reason: "the vendor's chart", Rules: []string{"host-port"}, Names: []string{"ingress"}},
		{Reason: "until the migration", Rules: []string{"proc-mount"}, Namespaces: []string{"legacy"}, Expires: &expires},
		{Reason: "the debugger image", Rules: []string{"privileged"}, Images: []string{"debug/*"}},
	}
	res, err := Export(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	left := map[string]string{}
	for _, f := range res.WebhookOnly {
		left[f.Rule] = f.Reason
	}
	for rule, want := range map[string]string{"host-port": "exemption 1 (the vendor's chart)", "proc-mount": "exemption 2 (until the migration) expires", "privileged": "exemption 3 (the debugger image)"} {
		if !strings.Contains(left[rule], want) {
			t.Errorf("rule %s: left to the webhook because %q, want it to say %q", rule, left[rule], want)
		}
	}
	for _, rule := range []string{"host-path", "host-namespaces", "host-process"} {
		if !slices.Contains(res.Exported, rule) {
			t.Errorf("rule %s is not exported", rule)
		}
	}
	for _, pol := range res.Policies {
		for _, v := range pol.Spec.Validations {
			rule := ruleRef(v.MessageExpression)
			hasNS := strings.Contains(v.Expression, "request.namespace.matches('^(?:agents-[^/]*|monitoring)$')")
			if hasNS != (rule == "host-path" || rule == "host-namespaces") {
				t.Errorf("%s: namespace guard present %v in %s", rule, hasNS, v.Expression[:min(200, len(v.Expression))])
			}
			// read on Pods and pod templates only, as the webhook reads it
			// (a budget's or an autoscaler's policy has no such variable)
			pods := !strings.HasSuffix(pol.Name, "-"+string(budgets)) && !strings.HasSuffix(pol.Name, "-"+string(autoscalers))
			if guarded := strings.Contains(v.Expression, "'plimsoll.dev/exempt' in variables.podAnnotations"); guarded != pods {
				t.Errorf("%s in %s: guard for the annotation plimsoll.dev/exempt %v, want %v", rule, pol.Name, guarded, pods)
			}
		}
	}
}

// globRegexp matches what path.Match matches, on names.
func TestGlobRegexp(t *testing.T) {
	names := []string{"team-a", "team-", "team", "teamx-a", "a.b", "axb", "prod", "prod-eu-1", "[x]", "x", "t?", "t1", "team-a.b"}
	for _, g := range []string{"team-*", "team-?", "a.b", "*", "prod-*-1", "[a-p]rod", "[^x]", `\[x\]`, "t[0-9]", "*-a*", "t?"} {
		re := regexp.MustCompile("^(?:" + globRegexp(g) + ")$")
		for _, n := range names {
			want, err := path.Match(g, n)
			if err != nil {
				t.Fatalf("glob %q: %v", g, err)
			}
			if got := re.MatchString(n); got != want {
				t.Errorf("glob %q on %q: regexp %s says %v, path.Match %v", g, n, re, got, want)
			}
		}
	}
}

// The export of two rules, one of containers and one of volumes, as
// `plimsoll export` prints its objects (testdata/default.yaml;
// UPDATE_GOLDEN=1 rewrites it): a change to the framework shows in review
// as a change to the CEL the API server runs.
func TestDefaultExportGolden(t *testing.T) {
	p := policy.Default()
	p.Rules = map[string]policy.Severity{}
	for _, id := range validate.IDs() {
		if id != "privileged" && id != "host-path" {
			p.Rules[id] = policy.Off
		}
	}
	res, err := Export(p, Options{Modes: []admission.Mode{admission.Enforce}})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, p := range res.Policies {
		y, err := yaml.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString("---\n" + string(y))
	}
	const golden = "testdata/default.yaml"
	if os.Getenv("UPDATE_GOLDEN") != "" {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != b.String() {
		t.Errorf("%s is stale: run UPDATE_GOLDEN=1 go test ./export/", golden)
	}
}

// docs/admission-policies.md lists, for the built-in policy, the rules
// `plimsoll export` carries and why each other stays with the webhook
// (UPDATE_GOLDEN=1 rewrites it).
func TestAdmissionPoliciesDoc(t *testing.T) {
	res, err := Export(allOn(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	off := func(id string) string {
		if policy.Default().Severity(id, severityOf(id)) == policy.Off {
			return " (off by default)"
		}
		return ""
	}
	var b strings.Builder
	b.WriteString("<!-- Generated by `UPDATE_GOLDEN=1 go test ./export/` from the code: do not edit. -->\n")
	b.WriteString("# Rules the API server runs itself\n\n")
	b.WriteString("`plimsoll export` prints the policy in force as ValidatingAdmissionPolicies, a MutatingAdmissionPolicy and their bindings, for the rules whose verdict CEL gives exactly as the webhook does and the defaults it writes as `/mutate` does (see the README, \"When the webhook is down\"). With the built-in policy, and the rules it leaves off turned on:\n\n")
	b.WriteString("| rule | in-process | why not |\n|---|---|---|\n")
	for _, id := range res.Exported {
		b.WriteString("| `" + id + "`" + off(id) + " | yes | |\n")
	}
	for _, f := range res.WebhookOnly {
		b.WriteString("| `" + f.Rule + "`" + off(f.Rule) + " | no | " + f.Reason + " |\n")
	}
	b.WriteString("\n## Defaults the API server writes itself\n\n")
	b.WriteString("The MutatingAdmissionPolicy `<name>-defaults` writes on a Pod's CREATE, in enforce and warn namespaces, what `/mutate` writes, field for field, and records it in `plimsoll.dev/mutations`. With the built-in policy (and `defaults.serviceAccountToken: false`, which it leaves off):\n\n")
	b.WriteString("| default | in-process | why not |\n|---|---|---|\n")
	no := false
	p := policy.Default()
	p.Defaults.ServiceAccountToken = &no
	withToken, err := Export(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range withToken.Defaults {
		b.WriteString("| `" + f + "` | yes | |\n")
	}
	for _, f := range withToken.DefaultsWebhookOnly {
		b.WriteString("| `" + f.Rule + "` | no | " + f.Reason + " |\n")
	}
	const doc = "../docs/admission-policies.md"
	if os.Getenv("UPDATE_GOLDEN") != "" {
		if err := os.WriteFile(doc, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != b.String() {
		t.Errorf("%s is stale: run UPDATE_GOLDEN=1 go test ./export/", doc)
	}
}

// The regular expressions of image-tag agree with imageref.Parse.
func TestImageTagExpressions(t *testing.T) {
	digest, tagged, latest := regexp.MustCompile(digestRE), regexp.MustCompile(taggedRE), regexp.MustCompile(latestRE)
	for _, img := range []string{"nginx", "nginx:1.27", "nginx:latest", "nginx:", "nginx@sha256:abc", "nginx:latest@sha256:abc", "nginx@",
		"nginx:1.2@", "registry:5000/app", "registry:5000/app:2", "registry:5000/app:latest", "a/b:c/d", "a:b:latest", "", "ghcr.io/acme/app:v1@sha256:0f"} {
		_, tag, dig := validate.ParseImage(img)
		want := dig != "" || (tag != "" && tag != "latest")
		got := digest.MatchString(img) || (tagged.MatchString(img) && !latest.MatchString(img))
		if got != want {
			t.Errorf("image %q: the expressions say pinned=%v, imageref.Parse %v (tag %q, digest %q)", img, got, want, tag, dig)
		}
		if latest.MatchString(img) != (tag == "latest" && dig == "") && dig == "" {
			t.Errorf("image %q: latest=%v, tag %q", img, latest.MatchString(img), tag)
		}
	}
}

// A rule of many checks at error severity, ratcheted, would write a
// message larger than the API server takes (100,000 code points): its
// validation is split, each part within maxExpression, and no rule is
// lost in the split.
func TestLargeRulesAreSplit(t *testing.T) {
	p := policy.Default()
	p.Rules = map[string]policy.Severity{}
	for _, r := range validate.Registry() {
		p.Rules[r.ID] = policy.Error
	}
	res, err := Export(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	parts := map[string]int{}
	for _, pol := range res.Policies {
		for _, v := range pol.Spec.Validations {
			if len(v.Expression) > maxExpression || len(v.MessageExpression) > maxExpression {
				t.Errorf("%s: a validation of %s of %d and %d bytes", pol.Name, ruleRef(v.MessageExpression), len(v.Expression), len(v.MessageExpression))
			}
			if pol.Name == "plimsoll-error" {
				parts[ruleRef(v.MessageExpression)]++
			}
		}
	}
	if parts["probe-port"] < 2 {
		t.Errorf("probe-port at error is in %d validations, want it split", parts["probe-port"])
	}
	for _, id := range res.Exported {
		if _, ok := parts[id]; !ok && id != "required-labels" && id != "image-registry" && !strings.HasPrefix(id, "hpa-") && id != "pdb-allows-eviction" {
			t.Errorf("rule %s has no validation in plimsoll-error", id)
		}
	}
}
