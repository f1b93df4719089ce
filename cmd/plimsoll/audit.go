package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/plimsoll/plimsoll/admission"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/plimsoll/plimsoll/audit"
	"github.com/plimsoll/plimsoll/check"
	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/validate"
)

const auditUsage = `Usage: plimsoll audit [--namespace NS] [--mode enforce|warn] [--scope opt-in|cluster] [-o text|json|html] [flags]
       plimsoll audit --watch [flags]

Lists the Pods and workloads running in the cluster and judges each with the
same pipeline and policy as the webhook: what a switch to enforce would
refuse on the next rollout, what defaulting would fix, what would only warn.
A Pod made by a workload is reported once, through that workload. Unless the
policy turns context rules off (contextRules: false), it also reads the
PodDisruptionBudgets, HorizontalPodAutoscalers, ResourceQuotas and
LimitRanges of those namespaces: the context rules judge each workload with
them, budgets and autoscalers are judged as objects of their own, and each
namespace that runs workloads is judged for its quota (namespace-quota).

Exit 0: nothing enforce mode would deny. 1: at least one such violation.
2: bad usage, or the API server could not be read.

With --watch it keeps running (the in-cluster background audit): informers,
re-evaluation on every change and policy change, Prometheus gauges on
--metrics-listen and one PolicyReport (wgpolicyk8s.io/v1alpha2) per namespace.

`

func runAudit(args []string, stdout, stderr io.Writer) int {
	o := audit.DefaultBackgroundOptions()
	fs := flag.NewFlagSet("plimsoll audit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then the in-cluster service account)")
	kubeContext := fs.String("context", "", "kubeconfig context (default: the current context)")
	fs.StringVar(&o.Namespace, "namespace", "", "audit this namespace only, whatever its plimsoll.dev/mode label (default: every namespace in scope)")
	fs.StringVar(&o.Namespace, "n", "", "shorthand for --namespace")
	config := fs.String("config", envOr("PLIMSOLL_CONFIG", ""), "policy file (default: the built-in policy; env PLIMSOLL_CONFIG)")
	mode := fs.String("mode", string(o.Mode), "enforce (error-severity findings are what enforce would deny) or warn")
	scope := fs.String("scope", string(o.Scope), "opt-in (namespaces labelled plimsoll.dev/mode) or cluster (every namespace not labelled off)")
	var excluded paths
	fs.Var(&excluded, "exclude-namespace", "never audit this namespace (repeatable; kube-system, kube-public and kube-node-lease always are)")
	output := fs.String("o", "text", "output: text, json (the schema of plimsoll check -o json) or html (one self-contained page)")
	qps := fs.Float64("qps", float64(o.QPS), "most requests a second to the API server")
	fs.IntVar(&o.Burst, "burst", o.Burst, "most requests in a burst")
	fs.Int64Var(&o.PageSize, "page-size", o.PageSize, "objects per List request")
	watch := fs.Bool("watch", false, "keep running: the in-cluster background audit (metrics and PolicyReports)")
	fs.StringVar(&o.MetricsListen, "metrics-listen", o.MetricsListen, `with --watch: address of /metrics (plain HTTP); "0" turns it off, as in plimsoll serve`)
	fs.StringVar(&o.HealthListen, "health-listen", o.HealthListen, `with --watch: address of /healthz and /readyz (plain HTTP); "0" turns it off, as in plimsoll serve`)
	fs.BoolVar(&o.Reports, "policy-reports", o.Reports, "with --watch: write one PolicyReport (wgpolicyk8s.io/v1alpha2) per namespace")
	fs.DurationVar(&o.Resync, "resync", o.Resync, "with --watch: re-evaluate everything this often (expiring exemptions)")
	fs.DurationVar(&o.ConfigPollInterval, "config-poll-interval", o.ConfigPollInterval, "with --watch: how often the policy file is checked for changes")
	logFormat := fs.String("log-format", envOr("PLIMSOLL_LOG_FORMAT", "json"), "with --watch: log format, json or text (env PLIMSOLL_LOG_FORMAT)")
	logLevel := fs.String("log-level", "info", "with --watch: log level, debug, info, warn or error")
	fs.Usage = func() {
		fmt.Fprint(stderr, auditUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return check.ExitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "plimsoll audit: unexpected argument %q\n", fs.Arg(0))
		return check.ExitUsage
	}
	o.Scope = admission.Scope(*scope)
	o.Mode = admission.Mode(*mode)
	o.ExcludeNamespaces = excluded
	o.QPS = float32(*qps)
	if *output != "text" && *output != "json" && *output != "html" {
		fmt.Fprintf(stderr, "plimsoll audit: -o %q: use text, json or html\n", *output)
		return check.ExitUsage
	}
	cfg, contextName, err := kubeClientConfig(*kubeconfig, *kubeContext)
	if err != nil {
		fmt.Fprintln(stderr, "plimsoll audit:", err)
		return check.ExitUsage
	}
	o.Config = cfg
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	if *watch {
		log, err := newLogger(stderr, *logFormat, *logLevel)
		if err != nil {
			fmt.Fprintln(stderr, "plimsoll audit:", err)
			return check.ExitUsage
		}
		o.Log = log
		o.ConfigFile = *config
		b, err := audit.NewBackground(o)
		if err != nil {
			fmt.Fprintln(stderr, "plimsoll audit:", err)
			return check.ExitUsage
		}
		if err := b.Run(ctx); err != nil {
			log.Error("background audit stopped with an error", "error", err.Error())
			return 1
		}
		return 0
	}

	if *config != "" {
		data, err := os.ReadFile(*config)
		if err == nil {
			o.Policy, err = policy.Load(data, validate.IDs())
		}
		if err != nil {
			fmt.Fprintf(stderr, "plimsoll audit: --config %s: %v\n", *config, err)
			return check.ExitUsage
		}
	}
	if isTerminal(stderr) {
		o.Progress = stderr
	}
	report, err := audit.Run(ctx, o.Options)
	if err != nil {
		fmt.Fprintln(stderr, "plimsoll audit:", err)
		return check.ExitUsage
	}
	report.Context = contextName
	switch *output {
	case "json":
		err = report.WriteJSON(stdout)
	case "html":
		err = report.WriteHTML(stdout)
	default:
		report.WriteText(stdout, isTerminal(stdout) && os.Getenv("NO_COLOR") == "")
	}
	if err != nil {
		fmt.Fprintln(stderr, "plimsoll audit:", err)
		return check.ExitUsage
	}
	return report.ExitCode()
}

// kubeClientConfig finds the API server as kubectl does: --kubeconfig,
// else $KUBECONFIG, else ~/.kube/config, else the in-cluster service
// account; --context picks a context. It returns the context's name for
// report headings.
func kubeClientConfig(kubeconfig, kubeContext string) (*rest.Config, string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	overrides := &clientcmd.ConfigOverrides{CurrentContext: kubeContext}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)
	cfg, err := cc.ClientConfig()
	if err != nil {
		if clientcmd.IsEmptyConfig(err) {
			return nil, "", errors.New("no kubeconfig found (--kubeconfig, $KUBECONFIG, ~/.kube/config) and not running in a cluster")
		}
		return nil, "", fmt.Errorf("kubeconfig: %w", err)
	}
	name := kubeContext
	if name == "" {
		if raw, err := cc.RawConfig(); err == nil {
			name = raw.CurrentContext
		}
	}
	if name == "" {
		name = "in-cluster"
	}
	return cfg, name, nil
}
