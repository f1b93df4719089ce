// Command demo shows plimsoll doing its job on a local control plane it
// starts itself: a real kube-apiserver and etcd, plimsoll serve, and three
// namespaces in enforce, warn and audit mode. It applies the manifests of
// examples/ to each, tells in plain words what was denied and why, what was
// defaulted and what was warned, then stops everything it started.
//
// Run it with `make demo`.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/plimsoll/plimsoll/admission"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/plimsoll/plimsoll/test/chart"
	"github.com/plimsoll/plimsoll/test/harness"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

type manifest struct {
	file string
	obj  *unstructured.Unstructured
}

func run() error {
	ctx := context.Background()
	root, err := harness.RepoRoot()
	if err != nil {
		return err
	}
	manifests, err := readExamples(filepath.Join(root, "examples"))
	if err != nil {
		return err
	}
	step("Starting a real kube-apiserver and etcd, and plimsoll serve on loopback")
	start := time.Now()
	// The webhook configurations the chart renders with its default values.
	env, err := harness.Start(ctx, harness.Options{
		Log: func(f string, a ...any) { fmt.Printf("  … "+f+"\n", a...) },
		// config/overlays/default: the chart's defaults, rendered by
		// `make generate`, so the demo needs no Helm.
		Webhooks: chart.WebhookValues{FromConfig: true},
	})
	if err != nil {
		return err
	}
	defer func() {
		step("Stopping plimsoll, kube-apiserver and etcd")
		env.Stop()
		fmt.Println("  done.")
	}()
	fmt.Printf("  ready in %.1fs; plimsoll answers on https://127.0.0.1:%d, with one webhook entry per mode\n", time.Since(start).Seconds(), env.Plimsoll.Port)

	modes := []struct {
		ns   string
		mode admission.Mode
		says string
	}{
		{"demo-enforce", admission.Enforce, "defaults Pods, denies what cannot be defaulted, warns about the rest"},
		{"demo-warn", admission.Warn, "defaults Pods and admits everything, with warnings"},
		{"demo-audit", admission.Audit, "changes nothing and tells the client nothing: it only records"},
	}
	for _, m := range modes {
		if err := env.CreateNamespace(ctx, m.ns, m.mode); err != nil {
			return err
		}
		step(fmt.Sprintf("Namespace %s, labelled %s=%s: plimsoll %s", m.ns, admission.ModeLabel, m.mode, m.says))
		for _, mf := range manifests {
			if err := apply(ctx, env, m.ns, mf); err != nil {
				return err
			}
		}
		if m.mode == admission.Audit {
			time.Sleep(200 * time.Millisecond) // let the log reach the file
			printAuditRecords(env.Plimsoll.Log(), m.ns)
		}
	}
	step("Namespace kube-system and unlabelled namespaces are never touched (scope: opt-in)")
	fmt.Println("  Label a namespace to opt it in:  plimsoll.dev/mode=enforce | warn | audit")
	return nil
}

func step(s string) { fmt.Printf("\n== %s\n", s) }

func apply(ctx context.Context, env *harness.Env, ns string, mf manifest) error {
	w := &harness.Warnings{}
	cfg := rest.CopyConfig(env.Config)
	cfg.WarningHandler = w
	c, err := client.New(cfg, client.Options{Scheme: scheme.Scheme})
	if err != nil {
		return err
	}
	obj := mf.obj.DeepCopy()
	obj.SetNamespace(ns)
	what := fmt.Sprintf("%s %s (examples/%s)", obj.GetKind(), obj.GetName(), mf.file)
	err = c.Create(ctx, obj)
	warnings := w.Take()
	switch {
	case err != nil && strings.Contains(err.Error(), "plimsoll denied"):
		fmt.Printf("\n  ✘ DENIED   %s\n", what)
		msg := err.Error()
		if i := strings.Index(msg, ":\n"); i >= 0 {
			msg = msg[i+2:]
		}
		for _, line := range strings.Split(msg, "\n") {
			fmt.Printf("      %s\n", line)
		}
		return nil
	case err != nil:
		return fmt.Errorf("creating %s: %w", what, err)
	}
	status := "admitted"
	if len(warnings) > 0 {
		status = "admitted with warnings"
	}
	fmt.Printf("\n  ✔ %s   %s\n", strings.ToUpper(status), what)
	if obj.GetKind() == "Pod" {
		describeDefaults(obj)
	}
	for _, warn := range warnings {
		fmt.Printf("      warning: %s\n", warn)
	}
	return nil
}

// describeDefaults says what the stored Pod got from plimsoll.
func describeDefaults(u *unstructured.Unstructured) {
	pod := &corev1.Pod{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, pod); err != nil {
		return
	}
	ann := pod.Annotations["plimsoll.dev/mutations"]
	if ann == "" {
		fmt.Println("      stored unchanged: nothing was defaulted")
		return
	}
	fmt.Printf("      defaulted (annotation plimsoll.dev/mutations: %q):\n", ann)
	for _, c := range pod.Spec.Containers {
		r := c.Resources
		fmt.Printf("        container %q: requests cpu=%s memory=%s, limits cpu=%s memory=%s\n", c.Name,
			r.Requests.Cpu(), r.Requests.Memory(), r.Limits.Cpu(), r.Limits.Memory())
		if p := c.ReadinessProbe; p != nil && p.TCPSocket != nil {
			fmt.Printf("        container %q: readiness and liveness TCP probes on port %s\n", c.Name, p.TCPSocket.Port.String())
		}
		if sc := c.SecurityContext; sc != nil {
			var drop any = "unset"
			if sc.Capabilities != nil {
				drop = sc.Capabilities.Drop
			}
			fmt.Printf("        container %q: allowPrivilegeEscalation=%v runAsNonRoot=%v capabilities.drop=%v\n", c.Name,
				deref(sc.AllowPrivilegeEscalation), deref(sc.RunAsNonRoot), drop)
		}
	}
	if psc := pod.Spec.SecurityContext; psc != nil && psc.SeccompProfile != nil {
		fmt.Printf("        pod: seccompProfile=%s\n", psc.SeccompProfile.Type)
	}
}

func deref(b *bool) any {
	if b == nil {
		return "unset"
	}
	return *b
}

// printAuditRecords shows the audit records plimsoll logged for ns.
func printAuditRecords(log, ns string) {
	fmt.Println("\n  What plimsoll recorded (its JSON log; also audit annotations and Prometheus counters):")
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var rec map[string]any
		if json.Unmarshal(sc.Bytes(), &rec) != nil || rec["msg"] != "audit record" || rec["namespace"] != ns || rec["endpoint"] != "validate" {
			continue
		}
		line := fmt.Sprintf("      %s %s: decision=%v", rec["kind"], rec["name"], rec["decision"])
		if r, ok := rec["would_deny"]; ok {
			line += fmt.Sprintf(", enforce would deny for %v", r)
		}
		if r, ok := rec["rules"]; ok {
			line += fmt.Sprintf(", rules involved (fixable by defaulting included) %v", r)
		}
		fmt.Println(line)
	}
}

func readExamples(dir string) ([]manifest, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var out []manifest
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(string(data)), 4096)
		for {
			u := &unstructured.Unstructured{}
			if err := dec.Decode(&u.Object); err != nil {
				if err.Error() == "EOF" {
					break
				}
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			if len(u.Object) == 0 {
				continue
			}
			out = append(out, manifest{file: filepath.Base(f), obj: u})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no manifests in %s", dir)
	}
	_ = slices.Clip(out)
	return out, nil
}
