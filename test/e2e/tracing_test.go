package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/plimsoll/plimsoll/admission"

	tracev1 "go.opentelemetry.io/proto/otlp/trace/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/plimsoll/plimsoll/internal/tracing/otlptest"
	"github.com/plimsoll/plimsoll/test/harness"
	"github.com/plimsoll/plimsoll/test/otlpgrpc"
	"github.com/plimsoll/plimsoll/webhook"
)

// tracedSecret is an env value of the Pods sent: no span may carry it.
const tracedSecret = "e2e-tracing-s3cr3t-7f9c"

// plimsoll serve with --otlp-endpoint, called by a kube-apiserver that
// traces (--tracing-config-file, every request sampled): plimsoll's spans
// reach an OTLP/HTTP receiver with their names and attributes, each
// server span a child of the API server's own webhook-call span (the W3C
// traceparent it sends), and SIGTERM flushes them.
//
// The API server's tracing is a flag of its own start, so this test runs a
// control plane of its own rather than the shared one.
func TestTracing(t *testing.T) {
	ctx := context.Background()
	apiServerSpans, err := otlpgrpc.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer apiServerSpans.Close()
	plimsollSpans := otlptest.Start()
	defer plimsollSpans.Close()

	apiServerArgs, err := harness.APIServerTracing(t.TempDir(), apiServerSpans.Addr)
	if err != nil {
		t.Fatal(err)
	}
	tenv, err := harness.Start(ctx, harness.Options{
		ServeArgs:     []string{"--otlp-endpoint", plimsollSpans.URL},
		APIServerArgs: apiServerArgs,
		Log:           func(f string, a ...any) { t.Logf(f, a...) },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer tenv.Stop()
	const ns = "traced"
	if err := tenv.CreateNamespace(ctx, ns, admission.Enforce); err != nil {
		t.Fatal(err)
	}

	withSecret := func(p *corev1.Pod) *corev1.Pod {
		for i := range p.Spec.Containers {
			p.Spec.Containers[i].Env = append(p.Spec.Containers[i].Env, corev1.EnvVar{Name: "API_TOKEN", Value: tracedSecret})
		}
		return p
	}
	// Defaulted by /mutate, admitted by /validate.
	if _, err := tenv.Client.CoreV1().Pods(ns).Create(ctx, withSecret(in(load[*corev1.Pod](t, "bare-nginx-pod.yaml"), ns)), dryRun()); err != nil {
		t.Fatalf("the bare Pod was not admitted: %v", err)
	}
	// Refused by /validate.
	_, err = tenv.Client.CoreV1().Pods(ns).Create(ctx, withSecret(in(load[*corev1.Pod](t, "privileged-pod.yaml"), ns)), dryRun())
	if err == nil || !strings.Contains(err.Error(), "plimsoll denied") {
		t.Fatalf("the privileged Pod: %v, want a denial", err)
	}

	// SIGTERM: plimsoll finishes, then exports what it still holds.
	if err := tenv.Plimsoll.Stop(); err != nil {
		t.Fatalf("plimsoll did not stop cleanly: %v\n%s", err, tenv.Plimsoll.Log())
	}
	if errs := plimsollSpans.Errors(); len(errs) > 0 {
		t.Fatalf("the receiver could not decode plimsoll's export: %v", errs)
	}

	all := plimsollSpans.Spans()
	byID := map[string]otlptest.Span{}
	for _, s := range all {
		byID[s.SpanID] = s
	}
	// The server spans of the requests for ns (the harness's readiness
	// probes are traced too, in a namespace of their own).
	type call struct{ endpoint, name string }
	servers := map[call]otlptest.Span{}
	for _, s := range all {
		if s.Kind == tracev1.Span_SPAN_KIND_SERVER && s.Attributes[string(webhook.AttrNamespace)] == ns {
			servers[call{s.Attributes[string(webhook.AttrEndpoint)], s.Attributes[string(webhook.AttrName)]}] = s
		}
	}
	t.Logf("plimsoll exported %d spans, %d of them server spans for namespace %s", len(all), len(servers), ns)
	for _, tt := range []struct {
		call     call
		span     string
		decision []string
		rules    string // one of the rule IDs expected
		children []string
	}{
		{call{"mutate", "web"}, "POST /mutate/{mode}", []string{"allowed"}, "", []string{"decode", "default", "encode"}},
		{call{"validate", "web"}, "POST /validate/{mode}", []string{"allowed", "warned"}, "", []string{"decode", "check", "encode"}},
		{call{"validate", "root-shell"}, "POST /validate/{mode}", []string{"denied"}, "privileged", []string{"decode", "check", "encode"}},
	} {
		t.Run(fmt.Sprintf("%s %s", tt.call.endpoint, tt.call.name), func(t *testing.T) {
			s, ok := servers[tt.call]
			if !ok {
				t.Fatalf("no server span for /%s of %s/%s among %d spans", tt.call.endpoint, ns, tt.call.name, len(all))
			}
			if s.Name != tt.span || s.Scope != webhook.TracerName {
				t.Errorf("span %q of scope %q, want %q of %q", s.Name, s.Scope, tt.span, webhook.TracerName)
			}
			at := s.Attributes
			for key, want := range map[string]string{
				string(webhook.AttrKind):      "Pod",
				string(webhook.AttrOperation): "CREATE",
				string(webhook.AttrMode):      "enforce",
			} {
				if at[key] != want {
					t.Errorf("%s = %q, want %q", key, at[key], want)
				}
			}
			if at[string(webhook.AttrUID)] == "" {
				t.Error("no request uid on the span")
			}
			if !slices.Contains(tt.decision, at[string(webhook.AttrDecision)]) {
				t.Errorf("decision %q, want one of %v", at[string(webhook.AttrDecision)], tt.decision)
			}
			if tt.rules != "" && !slices.Contains(strings.Split(at[string(webhook.AttrRules)], ","), tt.rules) {
				t.Errorf("rules %q, want %s among them", at[string(webhook.AttrRules)], tt.rules)
			}
			if s.Resource["service.name"] != "plimsoll" || s.Resource["service.version"] == "" {
				t.Errorf("resource %v, want service.name plimsoll and a service.version", s.Resource)
			}
			var children []string
			for _, c := range all {
				if c.ParentSpanID == s.SpanID {
					if c.TraceID != s.TraceID {
						t.Errorf("child %q is in another trace", c.Name)
					}
					children = append(children, c.Name)
				}
			}
			for _, want := range tt.children {
				if !slices.Contains(children, want) {
					t.Errorf("children %v, want %v among them", children, tt.children)
				}
			}
			// The API server's traceparent is the parent: a span of the
			// API server, not of plimsoll.
			if s.ParentSpanID == "" {
				t.Fatal("the server span has no parent: the API server's traceparent was not honoured")
			}
			if _, own := byID[s.ParentSpanID]; own {
				t.Errorf("the server span's parent %s is one of plimsoll's spans", s.ParentSpanID)
			}
		})
	}
	for _, s := range all {
		for k, v := range s.Attributes {
			if strings.Contains(v, tracedSecret) {
				t.Errorf("span %q attribute %s holds the Pod's env value", s.Name, k)
			}
		}
	}

	// The API server exports its own spans in batches (every 5s): the
	// parents of plimsoll's server spans are among them, its webhook calls.
	wantParents := map[string]string{}
	for c, s := range servers {
		wantParents[s.ParentSpanID] = c.endpoint + " " + c.name
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		found := map[string]otlptest.Span{}
		for _, s := range apiServerSpans.Spans() {
			if _, ok := wantParents[s.SpanID]; ok {
				found[s.SpanID] = s
			}
		}
		if len(found) == len(wantParents) {
			for id, p := range found {
				t.Logf("%s: parent is the API server's span %q (%s, service %q)", wantParents[id], p.Name, p.Kind, p.Resource["service.name"])
				if p.Resource["service.name"] != "apiserver" || p.Kind != tracev1.Span_SPAN_KIND_CLIENT {
					t.Errorf("parent %q is a %s span of service %q, want the apiserver's client span of the webhook call", p.Name, p.Kind, p.Resource["service.name"])
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("after 30s the API server exported %d spans, %d of the %d parents of plimsoll's spans among them", len(apiServerSpans.Spans()), len(found), len(wantParents))
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if t.Failed() {
		t.Logf("plimsoll's log:\n%s", tenv.Plimsoll.Log())
	}
}
