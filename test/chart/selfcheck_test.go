package chart

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
)

// plimsollBin builds ./cmd/plimsoll once per test run (into a temporary
// directory, so it never races the e2e harness over bin/plimsoll).
var plimsollBin = sync.OnceValues(func() (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "plimsoll-chart-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "plimsoll")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/plimsoll")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", errors.New("go build ./cmd/plimsoll: " + err.Error() + "\n" + string(out))
	}
	return bin, nil
})

func buildPlimsoll(t *testing.T) string {
	t.Helper()
	bin, err := plimsollBin()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// plimsoll holds itself to its own rules: `plimsoll check` on everything the
// chart renders (the Deployment and the pre-delete hook Job included)
// reports nothing at all — no error, no warning, and nothing left for
// defaulting to fix.
func TestChartPassesPlimsollCheck(t *testing.T) {
	bin := buildPlimsoll(t)
	dir, _ := Dir()
	for name, flags := range map[string][]string{
		"defaults (selfManaged)":      nil,
		"certManager":                 {"--set", "tls.mode=certManager"},
		"existingSecret":              {"-f", filepath.Join(dir, "ci", "opt-in-existing-secret-values.yaml")},
		"cluster scope, every option": {"-f", filepath.Join(dir, "ci", "cluster-self-managed-values.yaml")},
		"dry run":                     {"-f", filepath.Join(dir, "ci", "opt-in-self-managed-dry-run-values.yaml")},
	} {
		t.Run(name, func(t *testing.T) {
			out, err := Template("plimsoll", "plimsoll-system", flags...)
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(t.TempDir(), "rendered.yaml")
			if err := os.WriteFile(file, out, 0o600); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(bin, "check", "-f", file, "-o", "json")
			stdout, err := cmd.Output()
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				t.Errorf("plimsoll check exited %d: %s", exit.ExitCode(), exit.Stderr)
			} else if err != nil {
				t.Fatal(err)
			}
			var report struct {
				Results []map[string]any `json:"results"`
				Summary struct {
					Objects, Errors, Warnings int
				} `json:"summary"`
			}
			if err := json.Unmarshal(stdout, &report); err != nil {
				t.Fatalf("plimsoll check -o json: %v\n%s", err, stdout)
			}
			// The Deployment and the hook Job.
			if report.Summary.Objects < 2 {
				t.Errorf("plimsoll check judged %d objects; want the Deployment and the cleanup Job", report.Summary.Objects)
			}
			// One finding is by design: the background audit (audit.enabled,
			// on in the "every option" values) runs a single replica, which
			// the replicas rule warns about (see templates/audit).
			var unexpected []map[string]any
			expected := 0
			for _, r := range report.Results {
				if r["rule"] == "replicas" && r["kind"] == "Deployment" && r["name"] == "plimsoll-audit" && r["severity"] == "warning" {
					expected++
					continue
				}
				unexpected = append(unexpected, r)
			}
			if report.Summary.Errors != 0 || report.Summary.Warnings != expected || len(unexpected) != 0 {
				pretty, _ := json.MarshalIndent(report, "", "  ")
				t.Errorf("the chart breaks plimsoll's own rules:\n%s", pretty)
			}
		})
	}
}

// Every flag the chart passes to `plimsoll serve` and `plimsoll audit`
// exists: the chart and the command line cannot drift apart (for
// self-managed TLS above all, whose flags live in another package).
func TestChartFlagsExistInServe(t *testing.T) {
	bin := buildPlimsoll(t)
	known := knownFlags(t, bin, "serve", "listen")
	for _, mode := range []string{"selfManaged", "certManager", "existingSecret"} {
		objs := render(t, "plimsoll", "plimsoll-system", "--set", "tls.mode="+mode, "--set", "dryRun=true",
			"--set", "tls.existingSecret.name=x", "--set-file", "tls.existingSecret.caBundle="+testCAFile(t),
			"--set", "tracing.otlpEndpoint=http://collector:4318")
		args := Find(objs, "Deployment", "plimsoll").Typed.(*appsv1.Deployment).Spec.Template.Spec.Containers[0].Args
		if args[0] != "serve" {
			t.Errorf("%s: the container runs %q, want serve", mode, args[0])
		}
		checkFlags(t, mode, "serve", args[1:], known)
		if !slices.Contains(args, "--otlp-endpoint=http://collector:4318") {
			t.Errorf("%s: tracing.otlpEndpoint is not passed to plimsoll serve: %q", mode, args)
		}
	}

	// The background audit's Deployment runs plimsoll audit --watch.
	knownAudit := knownFlags(t, bin, "audit", "watch")
	objs := render(t, "plimsoll", "plimsoll-system", "--set", "audit.enabled=true", "--set-json", `excludedNamespaces=["monitoring"]`)
	args := Find(objs, "Deployment", "plimsoll-audit").Typed.(*appsv1.Deployment).Spec.Template.Spec.Containers[0].Args
	if len(args) < 2 || args[0] != "audit" || args[1] != "--watch" {
		t.Errorf("the audit container runs %q, want audit --watch", args)
	}
	checkFlags(t, "audit", "audit", args[1:], knownAudit)
	for _, want := range []string{"--scope=opt-in", "--exclude-namespace=monitoring", "--exclude-namespace=plimsoll-system", "--config=/etc/plimsoll/policy/policy.yaml"} {
		if !slices.Contains(args, want) {
			t.Errorf("the audit is not started with %s: %q", want, args)
		}
	}
}

// knownFlags reads the flags of `plimsoll <command> -h`; sure is one of
// them, to tell that the help text was read at all.
func knownFlags(t *testing.T, bin, command, sure string) map[string]bool {
	t.Helper()
	out, _ := exec.Command(bin, command, "-h").CombinedOutput()
	known := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\s+-([a-z0-9-]+)`).FindAllStringSubmatch(string(out), -1) {
		known[m[1]] = true
	}
	if !known[sure] {
		t.Fatalf("cannot read the flags of plimsoll %s -h:\n%s", command, out)
	}
	return known
}

// checkFlags reports each of args that is not a --flag the command knows.
func checkFlags(t *testing.T, what, command string, args []string, known map[string]bool) {
	t.Helper()
	for _, a := range args {
		name, _, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if !strings.HasPrefix(a, "--") || !known[name] {
			t.Errorf("%s: the chart passes %q, which plimsoll %s does not know", what, a, command)
		}
	}
}
