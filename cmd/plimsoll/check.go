package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/plimsoll/plimsoll/admission"
	"github.com/plimsoll/plimsoll/check"
	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/validate"
)

// paths collects repeated -f flags.
type paths []string

func (p *paths) String() string     { return strings.Join(*p, ",") }
func (p *paths) Set(v string) error { *p = append(*p, v); return nil }

func runCheck(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("plimsoll check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var files paths
	fs.Var(&files, "f", "file, directory (recursive) or - for stdin; repeatable")
	var kustomizations paths
	fs.Var(&kustomizations, "k", "directory of a kustomization, built in process as kubectl apply -k builds it; repeatable, may be combined with -f")
	config := fs.String("config", envOr("PLIMSOLL_CONFIG", ""), "policy file (default: the built-in policy; env PLIMSOLL_CONFIG)")
	mode := fs.String("mode", "enforce", "enforce (errors fail the check) or warn")
	output := fs.String("o", "text", "output: text, json, sarif (code scanning), junit (test reports) or github (Actions annotations)")
	namespace := fs.String("namespace", "", "the namespace of objects that name none, as kubectl apply -n gives it (namespace exemptions of the policy apply to it)")
	fs.StringVar(namespace, "n", "", "shorthand for --namespace")
	// Accepted, and unused, so that `kubectl plimsoll check` takes the
	// global flags a kubectl user passes: check reads no cluster.
	fs.String("context", "", "ignored: check reads no cluster (accepted for `kubectl plimsoll check`)")
	fs.String("kubeconfig", "", "ignored: check reads no cluster (accepted for `kubectl plimsoll check`)")
	skipOthers := fs.Bool("skip-non-kubernetes", false, "skip documents without apiVersion and kind (a CI workflow, a values file) instead of refusing them (exit 2); the pre-commit hook sets it")
	failOn := fs.String("fail-on", string(check.FailOnError), "what fails the check (exit 1): error (what enforce mode would deny), warning (that or any warning) or never")
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: plimsoll check -f PATH [-f PATH]... [-k DIR]... [--config FILE] [--mode enforce|warn]
                      [-o text|json|sarif|junit|github] [--fail-on error|warning|never]

Runs manifests through the same pipeline and policy as the webhook.
-f reads files, directories or stdin (-f -): render a Helm chart with
  helm template RELEASE CHART | plimsoll check -f -
-k DIR builds the kustomization in DIR, as kubectl apply -k does, and
checks what it renders. A finding points into the file an object came
from when the kustomization sets buildMetadata: [originAnnotations] and
that file writes the field; else into "(kustomize build DIR)", whose
lines are those kustomize build DIR prints. A failed build exits 2.
Exit 0: nothing enforce mode would deny. 1: at least one such violation
(with --fail-on warning: also any warning; with --fail-on never: never).
2: unreadable input or bad usage.
What defaulting will fix and what an exemption lifts never fail a check.

`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return check.ExitUsage
	}
	files = append(files, fs.Args()...)
	judging, err := admission.ParseJudgingMode(*mode)
	if err != nil {
		fmt.Fprintf(stderr, "plimsoll check: --mode %v\n", err)
		return check.ExitUsage
	}
	write, ok := checkWriters[*output]
	if !ok {
		fmt.Fprintf(stderr, "plimsoll check: -o %q: use text or json (or sarif, junit, github)\n", *output)
		return check.ExitUsage
	}
	fail, err := check.ParseFailOn(*failOn)
	if err != nil {
		fmt.Fprintf(stderr, "plimsoll check: --fail-on %v\n", err)
		return check.ExitUsage
	}
	p := policy.Default()
	if *config != "" {
		data, err := os.ReadFile(*config)
		if err == nil {
			p, err = policy.Load(data, validate.IDs())
		}
		if err != nil {
			fmt.Fprintf(stderr, "plimsoll check: --config %s: %v\n", *config, err)
			return check.ExitUsage
		}
		for _, a := range p.Advice() {
			fmt.Fprintf(stderr, "plimsoll check: --config %s: note: %s\n", *config, a)
		}
	}
	report, err := check.Run(check.Options{Paths: files, Kustomizations: kustomizations, Policy: p, Mode: judging, Namespace: *namespace, SkipNonKubernetes: *skipOthers, Stdin: stdin})
	if err != nil {
		fmt.Fprintln(stderr, "plimsoll check:", err)
		return check.ExitUsage
	}
	if err := write(report, stdout); err != nil {
		fmt.Fprintln(stderr, "plimsoll check:", err)
		return check.ExitUsage
	}
	return report.ExitCodeFor(fail)
}

// checkWriters print a report in each -o format.
var checkWriters = map[string]func(*check.Report, io.Writer) error{
	"text": func(r *check.Report, w io.Writer) error {
		r.WriteText(w, isTerminal(w) && os.Getenv("NO_COLOR") == "")
		return nil
	},
	"json":   (*check.Report).WriteJSON,
	"sarif":  func(r *check.Report, w io.Writer) error { return r.WriteSARIF(w, version) },
	"junit":  (*check.Report).WriteJUnit,
	"github": (*check.Report).WriteGitHub,
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}
