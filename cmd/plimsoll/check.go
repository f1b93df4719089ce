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
	config := fs.String("config", envOr("PLIMSOLL_CONFIG", ""), "policy file (default: the built-in policy; env PLIMSOLL_CONFIG)")
	mode := fs.String("mode", "enforce", "enforce (errors fail the check) or warn")
	output := fs.String("o", "text", "output: text or json")
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: plimsoll check -f PATH [-f PATH]... [--config FILE] [--mode enforce|warn] [-o text|json]

Runs manifests through the same pipeline and policy as the webhook.
Exit 0: nothing enforce mode would deny. 1: at least one such violation.
2: unreadable input or bad usage.

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
	if *output != "text" && *output != "json" {
		fmt.Fprintf(stderr, "plimsoll check: -o %q: use text or json\n", *output)
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
	report, err := check.Run(check.Options{Paths: files, Policy: p, Mode: judging, Stdin: stdin})
	if err != nil {
		fmt.Fprintln(stderr, "plimsoll check:", err)
		return check.ExitUsage
	}
	if *output == "json" {
		if err := report.WriteJSON(stdout); err != nil {
			fmt.Fprintln(stderr, "plimsoll check:", err)
			return check.ExitUsage
		}
	} else {
		report.WriteText(stdout, isTerminal(stdout) && os.Getenv("NO_COLOR") == "")
	}
	return report.ExitCode()
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}
