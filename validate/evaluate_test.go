package validate

import (
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"

	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/workload"
)

// verdict is what a test needs to know of a Violation.
type verdict struct {
	Rule        string
	Path        string
	Severity    policy.Severity
	Fixable     bool
	Preexisting bool
}

func verdicts(vs []Violation) []verdict {
	var out []verdict
	for _, v := range vs {
		out = append(out, verdict{v.Rule.ID, v.Path, v.Severity, v.Fixable, v.Preexisting})
	}
	return out
}

func evaluateFixture(name string) string { return filepath.Join("testdata", "evaluate", name) }

const web = "spec.template.spec.containers[0]."

func TestEvaluateMarksWhatDefaultingFixes(t *testing.T) {
	tests := []struct {
		name       string
		file       string
		defaulted  bool
		want       []verdict
		wantDenied []string
	}{
		{
			name:      "a bare Deployment has its resources and securityContext defaulted but not its latest tag",
			file:      "bare-deployment.yaml",
			defaulted: true,
			want: []verdict{
				{"capabilities", web + "securityContext.capabilities.drop", policy.Error, true, false},
				{"cpu-limits", web + "resources.limits.cpu", policy.Error, true, false},
				{"cpu-requests", web + "resources.requests.cpu", policy.Error, true, false},
				{"image-tag", web + "image", policy.Error, false, false},
				{"liveness-probe", web + "livenessProbe", policy.Warning, false, false},
				{"memory-limits", web + "resources.limits.memory", policy.Error, true, false},
				{"memory-requests", web + "resources.requests.memory", policy.Error, true, false},
				{"privilege-escalation", web + "securityContext.allowPrivilegeEscalation", policy.Error, true, false},
				{"read-only-root-filesystem", web + "securityContext.readOnlyRootFilesystem", policy.Warning, false, false},
				{"readiness-probe", web + "readinessProbe", policy.Warning, false, false},
				{"replicas", "spec.replicas", policy.Warning, false, false},
				{"run-as-non-root", web + "securityContext.runAsNonRoot", policy.Error, true, false},
				{"seccomp-profile", web + "securityContext.seccompProfile", policy.Warning, true, false},
			},
			wantDenied: []string{"image-tag"},
		},
		{
			name:      "a container with a TCP port has its probes defaulted too",
			file:      "bare-deployment-with-port.yaml",
			defaulted: true,
			want: []verdict{
				{"capabilities", web + "securityContext.capabilities.drop", policy.Error, true, false},
				{"cpu-limits", web + "resources.limits.cpu", policy.Error, true, false},
				{"cpu-requests", web + "resources.requests.cpu", policy.Error, true, false},
				{"image-tag", web + "image", policy.Error, false, false},
				{"liveness-probe", web + "livenessProbe", policy.Warning, true, false},
				{"memory-limits", web + "resources.limits.memory", policy.Error, true, false},
				{"memory-requests", web + "resources.requests.memory", policy.Error, true, false},
				{"privilege-escalation", web + "securityContext.allowPrivilegeEscalation", policy.Error, true, false},
				{"read-only-root-filesystem", web + "securityContext.readOnlyRootFilesystem", policy.Warning, false, false},
				{"readiness-probe", web + "readinessProbe", policy.Warning, true, false},
				{"replicas", "spec.replicas", policy.Warning, false, false},
				{"run-as-non-root", web + "securityContext.runAsNonRoot", policy.Error, true, false},
				{"seccomp-profile", web + "securityContext.seccompProfile", policy.Warning, true, false},
			},
			wantDenied: []string{"image-tag"},
		},
		{
			name:      "without defaulting nothing is fixable and every error denies",
			file:      "bare-deployment-with-port.yaml",
			defaulted: false,
			want: []verdict{
				{"capabilities", web + "securityContext.capabilities.drop", policy.Error, false, false},
				{"cpu-limits", web + "resources.limits.cpu", policy.Error, false, false},
				{"cpu-requests", web + "resources.requests.cpu", policy.Error, false, false},
				{"image-tag", web + "image", policy.Error, false, false},
				{"liveness-probe", web + "livenessProbe", policy.Warning, false, false},
				{"memory-limits", web + "resources.limits.memory", policy.Error, false, false},
				{"memory-requests", web + "resources.requests.memory", policy.Error, false, false},
				{"privilege-escalation", web + "securityContext.allowPrivilegeEscalation", policy.Error, false, false},
				{"read-only-root-filesystem", web + "securityContext.readOnlyRootFilesystem", policy.Warning, false, false},
				{"readiness-probe", web + "readinessProbe", policy.Warning, false, false},
				{"replicas", "spec.replicas", policy.Warning, false, false},
				{"run-as-non-root", web + "securityContext.runAsNonRoot", policy.Error, false, false},
				{"seccomp-profile", web + "securityContext.seccompProfile", policy.Warning, false, false},
			},
			wantDenied: []string{"capabilities", "cpu-limits", "cpu-requests", "image-tag", "memory-limits", "memory-requests", "privilege-escalation", "run-as-non-root"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tpl := loadTemplate(t, evaluateFixture(tt.file))
			in := Input{Template: tpl}
			if tt.defaulted {
				in.Defaulted = defaultedCopy(t, tpl)
			}
			vs := evaluate(t, Registry(), policy.Default(), in)
			if diff := cmp.Diff(tt.want, verdicts(vs)); diff != "" {
				t.Errorf("violations (-want +got):\n%s", diff)
			}
			var denied []string
			for _, v := range Denied(vs) {
				denied = append(denied, v.Rule.ID)
			}
			if diff := cmp.Diff(tt.wantDenied, denied); diff != "" {
				t.Errorf("Denied (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEvaluateMarksWhatTheOldObjectAlreadyBroke(t *testing.T) {
	withImage := func(image string) *workload.Template {
		tpl := loadTemplate(t, evaluateFixture("bare-deployment-with-port.yaml"))
		tpl.Spec.Containers[0].Image = image
		return tpl
	}
	tests := []struct {
		name       string
		old        *workload.Template
		new        *workload.Template
		want       map[string]bool // rule ID → Preexisting
		wantDenied []string
	}{
		{
			name: "a change that breaks nothing new is not blocked by what was already broken",
			old:  withImage("nginx:latest"),
			new: func() *workload.Template {
				tpl := withImage("nginx:latest")
				five := int32(5)
				tpl.Object.(*appsv1.Deployment).Spec.Replicas = &five
				return tpl
			}(),
			want:       map[string]bool{"image-tag": true, "cpu-limits": true, "liveness-probe": true},
			wantDenied: nil,
		},
		{
			name:       "a change to latest is new, and denied",
			old:        withImage("nginx:1.27"),
			new:        withImage("nginx:latest"),
			want:       map[string]bool{"image-tag": false, "cpu-limits": true, "liveness-probe": true},
			wantDenied: []string{"image-tag"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vs := evaluate(t, Registry(), policy.Default(), Input{Template: tt.new, Defaulted: defaultedCopy(t, tt.new), Old: tt.old})
			got := map[string]bool{}
			for _, v := range vs {
				if _, ok := tt.want[v.Rule.ID]; ok {
					got[v.Rule.ID] = v.Preexisting
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Preexisting by rule (-want +got):\n%s", diff)
			}
			var denied []string
			for _, v := range Denied(vs) {
				denied = append(denied, v.Rule.ID)
			}
			if diff := cmp.Diff(tt.wantDenied, denied); diff != "" {
				t.Errorf("Denied (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEvaluateFollowsThePolicySeverities(t *testing.T) {
	tests := []struct {
		name       string
		rules      map[string]policy.Severity
		wantSev    map[string]policy.Severity // rule ID → severity; absent: not reported
		wantDenied []string
	}{
		{
			name:       "the built-in severities deny the latest tag and warn of missing probes",
			wantSev:    map[string]policy.Severity{"image-tag": policy.Error, "liveness-probe": policy.Warning, "read-only-root-filesystem": policy.Warning, "readiness-probe": policy.Warning, "replicas": policy.Warning},
			wantDenied: []string{"image-tag"},
		},
		{
			name:       "a rule lowered to warning no longer denies",
			rules:      map[string]policy.Severity{"image-tag": policy.Warning},
			wantSev:    map[string]policy.Severity{"image-tag": policy.Warning, "liveness-probe": policy.Warning, "read-only-root-filesystem": policy.Warning, "readiness-probe": policy.Warning, "replicas": policy.Warning},
			wantDenied: nil,
		},
		{
			name:       "a rule raised to error denies what defaulting cannot fix",
			rules:      map[string]policy.Severity{"liveness-probe": policy.Error},
			wantSev:    map[string]policy.Severity{"image-tag": policy.Error, "liveness-probe": policy.Error, "read-only-root-filesystem": policy.Warning, "readiness-probe": policy.Warning, "replicas": policy.Warning},
			wantDenied: []string{"image-tag", "liveness-probe"},
		},
		{
			name:       "a rule turned off is not evaluated",
			rules:      map[string]policy.Severity{"image-tag": policy.Off, "readiness-probe": policy.Off, "replicas": policy.Off},
			wantSev:    map[string]policy.Severity{"liveness-probe": policy.Warning, "read-only-root-filesystem": policy.Warning},
			wantDenied: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := policy.Default()
			p.Rules = tt.rules
			tpl := loadTemplate(t, evaluateFixture("bare-deployment.yaml"))
			vs := evaluate(t, Registry(), p, Input{Template: tpl, Defaulted: defaultedCopy(t, tpl)})
			got := map[string]policy.Severity{}
			for _, v := range vs {
				if !v.Fixable {
					got[v.Rule.ID] = v.Severity
				}
			}
			if diff := cmp.Diff(tt.wantSev, got); diff != "" {
				t.Errorf("severities of what defaulting leaves (-want +got):\n%s", diff)
			}
			var denied []string
			for _, v := range Denied(vs) {
				denied = append(denied, v.Rule.ID)
			}
			if diff := cmp.Diff(tt.wantDenied, denied); diff != "" {
				t.Errorf("Denied (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDenies(t *testing.T) {
	tests := []struct {
		name string
		v    Violation
		want bool
	}{
		{"an error denies", Violation{Severity: policy.Error}, true},
		{"a warning never denies", Violation{Severity: policy.Warning}, false},
		{"a fixable error does not deny", Violation{Severity: policy.Error, Fixable: true}, false},
		{"a preexisting error does not deny", Violation{Severity: policy.Error, Preexisting: true}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.v.Denies(); got != tt.want {
				t.Errorf("Denies() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDeniedLeavesItsArgumentAlone(t *testing.T) {
	vs := []Violation{
		{Rule: imageTag, Severity: policy.Warning},
		{Rule: privileged, Severity: policy.Error},
	}
	got := Denied(vs)
	if len(got) != 1 || got[0].Rule != privileged {
		t.Errorf("Denied = %v, want only the privileged violation", verdicts(got))
	}
	if vs[0].Rule != imageTag || vs[1].Rule != privileged {
		t.Errorf("Denied reordered or overwrote its argument: %v", verdicts(vs))
	}
}

// TestContextRulesRunOnlyWithAViewAndWarnAtAdmission: without a View a
// context rule does not run (a cache that has not synced says nothing);
// with one, its error severity holds in check and audit and is a warning
// at admission; contextRules: false turns it off.
func TestContextRulesRunOnlyWithAViewAndWarnAtAdmission(t *testing.T) {
	run := loadRun(t, "testdata/pod-disruption-budget/fail/deployment-no-budget.yaml")
	dep := run.judged(podDisruptionBudget)[0]
	p := policy.Default()
	p.Rules = map[string]policy.Severity{"pod-disruption-budget": policy.Error}
	severityOf := func(vs []Violation) policy.Severity {
		for _, v := range vs {
			if v.Rule.ID == "pod-disruption-budget" {
				return v.Severity
			}
		}
		return ""
	}
	if got := severityOf(evaluate(t, Registry(), p, Input{Template: dep})); got != "" {
		t.Errorf("without a View the context rule ran (severity %q)", got)
	}
	if got := severityOf(evaluate(t, Registry(), p, Input{Template: dep, Cluster: run.view})); got != policy.Error {
		t.Errorf("in check and audit: severity %q, want error", got)
	}
	admission := evaluate(t, Registry(), p, Input{Template: dep, Cluster: run.view, ContextWarnsOnly: true})
	if got := severityOf(admission); got != policy.Warning {
		t.Errorf("at admission: severity %q, want warning", got)
	}
	for _, v := range admission {
		if v.Rule.ID == "pod-disruption-budget" && v.Denies() {
			t.Errorf("a context rule denies at admission: %s", v.Message())
		}
	}
	off := false
	p.ContextRules = &off
	if got := severityOf(evaluate(t, Registry(), p, Input{Template: dep, Cluster: run.view})); got != "" {
		t.Errorf("with contextRules: false the context rule ran (severity %q)", got)
	}
}

// TestExemptionsLiftContextRulesAndRulesOfBudgets: an exemption by rule,
// kind and name lifts a context rule from a workload and a rule from a
// PodDisruptionBudget, as for any other rule; it does not reach another
// namespace.
func TestExemptionsLiftContextRulesAndRulesOfBudgets(t *testing.T) {
	p := policy.Default()
	p.Exemptions = []policy.Exemption{
		{Reason: "a singleton by design", Rules: []string{"pod-disruption-budget"}, Kinds: []string{"Deployment"}, Names: []string{"web"}, Namespaces: []string{fixtureNamespace}},
		{Reason: "drained by hand", Rules: []string{"pdb-allows-eviction"}, Kinds: []string{"PodDisruptionBudget"}, Names: []string{"web"}},
	}
	for _, tt := range []struct{ file, rule, ns string }{
		{"testdata/pod-disruption-budget/fail/deployment-no-budget.yaml", "pod-disruption-budget", fixtureNamespace},
		{"testdata/pdb-allows-eviction/fail/max-unavailable-zero.yaml", "pdb-allows-eviction", fixtureNamespace},
	} {
		run := loadRun(t, tt.file)
		for _, tpl := range run.judged(ruleByID(t, tt.rule)) {
			for _, v := range evaluate(t, Registry(), p, Input{Template: tpl, Cluster: run.view, Namespace: tt.ns}) {
				if v.Rule.ID == tt.rule && v.Waiver == nil {
					t.Errorf("%s: %s is not waived", tt.file, v.Message())
				}
			}
		}
	}
	run := loadRun(t, "testdata/pod-disruption-budget/fail/deployment-no-budget.yaml")
	dep := run.judged(podDisruptionBudget)[0]
	dep.Meta.Namespace = "elsewhere"
	for _, v := range evaluate(t, Registry(), p, Input{Template: dep, Cluster: run.view, Namespace: "elsewhere"}) {
		if v.Waiver != nil {
			t.Errorf("an exemption of namespace %s waived %s in namespace elsewhere", fixtureNamespace, v.Rule.ID)
		}
	}
}
