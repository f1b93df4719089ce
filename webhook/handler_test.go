package webhook_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/plimsoll/plimsoll/admission"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/validate"
	"github.com/plimsoll/plimsoll/webhook"
	"github.com/plimsoll/plimsoll/workload"
)

// bareNginxPatch is the patch that defaults pod-bare-nginx.yaml: one add per
// field family and container, and the annotation that records them.
const bareNginxPatch = `[
  {"op": "add", "path": "/metadata/annotations",
   "value": {"plimsoll.dev/mutations": "probes=nginx; resources=nginx; securityContext=nginx,pod"}},
  {"op": "add", "path": "/spec/containers/0/livenessProbe",
   "value": {"tcpSocket": {"port": 80}, "initialDelaySeconds": 30, "periodSeconds": 10,
             "timeoutSeconds": 1, "successThreshold": 1, "failureThreshold": 3}},
  {"op": "add", "path": "/spec/containers/0/readinessProbe",
   "value": {"tcpSocket": {"port": 80}, "initialDelaySeconds": 5, "periodSeconds": 5,
             "timeoutSeconds": 1, "successThreshold": 1, "failureThreshold": 3}},
  {"op": "add", "path": "/spec/containers/0/resources",
   "value": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}}},
  {"op": "add", "path": "/spec/containers/0/securityContext",
   "value": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}, "runAsNonRoot": true}},
  {"op": "add", "path": "/spec/containers/0/startupProbe",
   "value": {"tcpSocket": {"port": 80}, "periodSeconds": 5,
             "timeoutSeconds": 1, "successThreshold": 1, "failureThreshold": 60}},
  {"op": "add", "path": "/spec/securityContext",
   "value": {"seccompProfile": {"type": "RuntimeDefault"}}}
]`

func wantOps(t *testing.T, s string) []patchOp {
	t.Helper()
	if s == "" {
		return nil
	}
	var ops []patchOp
	if err := json.Unmarshal([]byte(s), &ops); err != nil {
		t.Fatalf("bad wanted patch: %v", err)
	}
	sortOps(ops)
	return ops
}

// applyPatch applies a response's JSON patch to the object as sent.
func applyPatch(t *testing.T, obj []byte, resp *admissionv1.AdmissionResponse) []byte {
	t.Helper()
	if resp.Patch == nil {
		return obj
	}
	p, err := jsonpatch.DecodePatch(resp.Patch)
	if err != nil {
		t.Fatalf("the patch does not decode: %v\n%s", err, resp.Patch)
	}
	out, err := p.Apply(obj)
	if err != nil {
		t.Fatalf("the patch does not apply to the object it was computed for: %v\n%s", err, resp.Patch)
	}
	return out
}

// withSidecar appends a container without a port, as a sidecar injector
// (another mutating webhook) would.
func withSidecar(t *testing.T, pod []byte) []byte {
	return edit(t, pod, func(m map[string]any) {
		spec := podSpec(m)
		spec["containers"] = append(spec["containers"].([]any), map[string]any{
			"name": "proxy", "image": "example.com/proxy:1.22.0",
		})
	})
}

func TestMutate(t *testing.T) {
	bare := load(t, "pod-bare-nginx.yaml")
	defaulted := load(t, "pod-bare-nginx-defaulted.yaml")
	tests := []struct {
		name        string
		path        string
		review      reviewOf
		wantPatch   string
		wantAudit   map[string]string
		wantMessage string
	}{
		{
			name:      "a bare nginx Pod in enforce gets every default and the annotation saying so",
			path:      "/mutate/enforce",
			review:    create(bare),
			wantPatch: bareNginxPatch,
		},
		{
			name:      "a bare nginx Pod in warn gets the same defaults",
			path:      "/mutate/warn",
			review:    create(bare),
			wantPatch: bareNginxPatch,
		},
		{
			name:      "in audit the defaults are computed and recorded but not applied",
			path:      "/mutate/audit",
			review:    create(bare),
			wantAudit: map[string]string{"would-default": "probes=nginx; resources=nginx; securityContext=nginx,pod"},
		},
		{
			name:   "a Pod that a first pass already defaulted is left exactly as it is",
			path:   "/mutate/enforce",
			review: create(defaulted),
		},
		{
			name:   "a reinvocation after another webhook added a container defaults only that container and merges the annotation",
			path:   "/mutate/enforce",
			review: create(withSidecar(t, defaulted)),
			wantPatch: `[
			  {"op": "replace", "path": "/metadata/annotations/plimsoll.dev~1mutations",
			   "value": "probes=nginx; resources=nginx,proxy; securityContext=nginx,pod,proxy"},
			  {"op": "add", "path": "/spec/containers/1/resources",
			   "value": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}}},
			  {"op": "add", "path": "/spec/containers/1/securityContext",
			   "value": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}, "runAsNonRoot": true}}
			]`,
		},
		{
			name:        "an UPDATE of a Pod is never defaulted",
			path:        "/mutate/enforce",
			review:      update(bare, bare),
			wantMessage: "plimsoll defaults Pods on CREATE only; nothing to do",
		},
		{
			name:        "a Deployment is never mutated, so GitOps tools see what they applied",
			path:        "/mutate/enforce",
			review:      create(load(t, "deployment-bare.yaml")),
			wantMessage: "plimsoll defaults Pods on CREATE only; nothing to do",
		},
		{
			name:        "an ephemeral container added through its subresource is not defaulted",
			path:        "/mutate/enforce",
			review:      reviewOf{op: admissionv1.Update, subResource: "ephemeralcontainers", object: bare, oldObject: bare},
			wantMessage: "plimsoll defaults Pods on CREATE only; nothing to do",
		},
		{
			name:        "a DELETE is let through",
			path:        "/mutate/enforce",
			review:      reviewOf{op: admissionv1.Delete, oldObject: bare},
			wantMessage: "plimsoll defaults Pods on CREATE only; nothing to do",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			a := f.send(t, tt.path, tt.review.body(t))
			if !a.resp.Allowed {
				t.Fatalf("not allowed: %s", a.message())
			}
			if a.resp.UID != testUID {
				t.Errorf("uid %q, want %q", a.resp.UID, testUID)
			}
			if diff := cmp.Diff(wantOps(t, tt.wantPatch), patchOps(t, a.resp)); diff != "" {
				t.Errorf("patch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantAudit, a.resp.AuditAnnotations); diff != "" {
				t.Errorf("audit annotations (-want +got):\n%s", diff)
			}
			if got := a.message(); got != tt.wantMessage {
				t.Errorf("message %q, want %q", got, tt.wantMessage)
			}
			if len(a.resp.Warnings) > 0 {
				t.Errorf("unexpected warnings: %q", a.resp.Warnings)
			}
		})
	}
}

func TestMutatePatchGivesTheDefaultedPodAndIsIdempotent(t *testing.T) {
	f := newFixture(t)
	bare := load(t, "pod-bare-nginx.yaml")
	a := f.send(t, "/mutate/enforce", create(bare).body(t))
	patched := applyPatch(t, bare, a.resp)
	if diff := cmp.Diff(decodeJSON(t, load(t, "pod-bare-nginx-defaulted.yaml")), decodeJSON(t, patched)); diff != "" {
		t.Fatalf("the patched Pod is not the defaulted one (-want +got):\n%s", diff)
	}

	// The API server reinvokes the webhook (reinvocationPolicy: IfNeeded)
	// on what the first pass produced: nothing more to do.
	again := f.send(t, "/mutate/enforce", create(patched).body(t))
	if !again.resp.Allowed || again.resp.Patch != nil || again.resp.PatchType != nil {
		t.Fatalf("second pass: allowed=%v patch=%s, want allowed without a patch", again.resp.Allowed, again.resp.Patch)
	}

	// And the Pod the patch produced is one the validating webhook admits
	// without a single denial.
	v := f.send(t, "/validate/enforce", create(patched).body(t))
	if !v.resp.Allowed || len(v.resp.Warnings) > 0 {
		t.Fatalf("the defaulted Pod is not admitted silently: allowed=%v %s warnings=%q", v.resp.Allowed, v.message(), v.resp.Warnings)
	}
}

func TestMutateLeavesUnknownFieldsAndSpellingsAlone(t *testing.T) {
	f := newFixture(t)
	raw := load(t, "pod-unknown-fields.yaml")
	a := f.send(t, "/mutate/enforce", create(raw).body(t))
	if !a.resp.Allowed {
		t.Fatalf("not allowed: %s", a.message())
	}
	ops := patchOps(t, a.resp)
	if len(ops) == 0 {
		t.Fatal("no patch: the Pod has everything to default, the test proves nothing")
	}
	protected := []string{
		"/spec/futureField",
		"/spec/containers/0/futureField",
		"/spec/containers/0/resources/requests/cpu",
	}
	for _, op := range ops {
		if op.Op == "remove" {
			t.Errorf("the patch removes %s", op.Path)
		}
		for _, p := range protected {
			// the field itself, something inside it, or an ancestor
			// replaced wholesale
			if op.Path == p || strings.HasPrefix(op.Path, p+"/") || strings.HasPrefix(p, op.Path+"/") {
				t.Errorf("the patch touches %s: %s %s", p, op.Op, op.Path)
			}
		}
	}

	var got map[string]any
	if err := json.Unmarshal(applyPatch(t, raw, a.resp), &got); err != nil {
		t.Fatal(err)
	}
	spec := got["spec"].(map[string]any)
	c := spec["containers"].([]any)[0].(map[string]any)
	checks := []struct {
		what      string
		got, want any
	}{
		{"spec.futureField", spec["futureField"], map[string]any{"a": float64(1)}},
		{"spec.containers[0].futureField", c["futureField"], "x"},
		{"spec.containers[0].resources", c["resources"], map[string]any{
			"requests": map[string]any{"cpu": "0.5", "memory": "128Mi"},
			"limits":   map[string]any{"cpu": "500m", "memory": "512Mi"},
		}},
		{"spec.securityContext", spec["securityContext"], map[string]any{"seccompProfile": map[string]any{"type": "RuntimeDefault"}}},
	}
	for _, c := range checks {
		if diff := cmp.Diff(c.want, c.got); diff != "" {
			t.Errorf("%s after the patch (-want +got):\n%s", c.what, diff)
		}
	}
}

// seeded is a review whose uid is set, for tests that tell requests apart.
func seeded(r reviewOf, uid string) reviewOf {
	r.uid = types.UID(uid)
	return r
}

func TestValidate(t *testing.T) {
	compliant := load(t, "deployment-compliant.yaml")
	latest := load(t, "deployment-latest.yaml")
	running := load(t, "pod-running.yaml")
	withEphemeral := func(name string) []byte {
		var ec map[string]any
		if err := json.Unmarshal(load(t, name), &ec); err != nil {
			t.Fatal(err)
		}
		return edit(t, running, func(m map[string]any) {
			podSpec(m)["ephemeralContainers"] = []any{ec}
		})
	}
	scaled := func(obj []byte) []byte {
		return edit(t, obj, func(m map[string]any) { m["spec"].(map[string]any)["replicas"] = 5 })
	}
	fixLine := func(rules ...string) string {
		return "plimsoll will default what these rules ask for on the Pods: " + strings.Join(rules, ", ") +
			" (see the plimsoll.dev/mutations annotation on each Pod)"
	}
	const latestFinding = `[image-tag] container "web" uses image "example.com/web:latest", whose latest tag moves (spec.template.spec.containers[0].image): pin a version: image: example.com/web:<version> or example.com/web@sha256:<digest>`
	// probeWarning is the warning of liveness-probe or readiness-probe.
	probeWarning := func(container, probe, path string) string {
		rule := strings.ReplaceAll(probe, "Probe", "-probe")
		return fmt.Sprintf("[%s] container %q has no %s (%s.%s): add a %s, e.g. an httpGet on the container's health endpoint",
			rule, container, probe, path, probe, probe)
	}

	type want struct {
		allowed bool
		code    int32
		reason  metav1.StatusReason
		// message is compared whole when set; contains/excludes are
		// pieces it must and must not hold.
		message  string
		contains []string
		excludes []string
		// causes are the fields of the denial's causes, in order.
		causes   []string
		warnings []string
		// warningsContain, when set, replaces the exact comparison of
		// warnings: every warning must hold one of these.
		warningsContain []string
		audit           map[string]string
	}
	tests := []struct {
		name   string
		path   string
		review reviewOf
		want   want
	}{
		{
			name:   "a privileged Pod that arrives undefaulted is denied in enforce for what defaulting writes too, and told why",
			path:   "/validate/enforce",
			review: create(load(t, "pod-privileged.yaml")),
			want: want{
				code: 403, reason: metav1.StatusReasonForbidden,
				contains: []string{
					`plimsoll denied Pod "debug-tools" in namespace "team-a": 12 violations of enforced rules:`,
					`[cpu-limits] container "shell" has no cpu limit (spec.containers[0].resources.limits.cpu): set resources.limits.cpu, e.g. 500m`,
					`[memory-requests] container "agent" has no memory request (spec.containers[1].resources.requests.memory): set resources.requests.memory, e.g. 128Mi`,
					`[privileged] container "agent" runs privileged`,
					"but it did not run for this Pod",
				},
				excludes: []string{"will default"},
				causes: []string{
					"spec.containers[0].resources.limits.cpu", "spec.containers[1].resources.limits.cpu",
					"spec.containers[0].resources.requests.cpu", "spec.containers[1].resources.requests.cpu",
					"spec.hostPID", "spec.containers[0].image",
					"spec.containers[0].resources.limits.memory", "spec.containers[1].resources.limits.memory",
					"spec.containers[0].resources.requests.memory", "spec.containers[1].resources.requests.memory",
					"spec.containers[0].securityContext.privileged", "spec.containers[1].securityContext.privileged",
				},
				warnings: []string{
					probeWarning("shell", "livenessProbe", "spec.containers[0]"),
					probeWarning("agent", "livenessProbe", "spec.containers[1]"),
					probeWarning("shell", "readinessProbe", "spec.containers[0]"),
					probeWarning("agent", "readinessProbe", "spec.containers[1]"),
				},
			},
		},
		{
			name:   "a privileged Pod as /mutate left it is denied in enforce, each violation listed with its rule, container and field",
			path:   "/validate/enforce",
			review: create(asMutated(t, "pod-privileged.yaml")),
			want: want{
				code: 403, reason: metav1.StatusReasonForbidden,
				message: `plimsoll denied Pod "debug-tools" in namespace "team-a": 4 violations of enforced rules:` + "\n" +
					`[host-namespaces] pod spec shares the node's process namespace (spec.hostPID): remove hostPID: true` + "\n" +
					`[image-tag] container "shell" uses image "busybox:latest", whose latest tag moves (spec.containers[0].image): pin a version: image: busybox:<version> or busybox@sha256:<digest>` + "\n" +
					`[privileged] container "shell" runs privileged (spec.containers[0].securityContext.privileged): remove privileged: true; if it needs one kernel feature, add just that capability under securityContext.capabilities.add` + "\n" +
					`[privileged] container "agent" runs privileged (spec.containers[1].securityContext.privileged): remove privileged: true; if it needs one kernel feature, add just that capability under securityContext.capabilities.add`,
				causes: []string{"spec.hostPID", "spec.containers[0].image", "spec.containers[0].securityContext.privileged", "spec.containers[1].securityContext.privileged"},
				warnings: []string{
					probeWarning("shell", "livenessProbe", "spec.containers[0]"),
					probeWarning("agent", "livenessProbe", "spec.containers[1]"),
					probeWarning("shell", "readinessProbe", "spec.containers[0]"),
					probeWarning("agent", "readinessProbe", "spec.containers[1]"),
				},
			},
		},
		{
			name:   "a Deployment on the latest tag is denied in enforce",
			path:   "/validate/enforce",
			review: create(latest),
			want: want{
				code: 403, reason: metav1.StatusReasonForbidden,
				message: `plimsoll denied Deployment "web" in namespace "team-a": 1 violation of enforced rules:` + "\n" + latestFinding,
				causes:  []string{"spec.template.spec.containers[0].image"},
			},
		},
		{
			name:   "a CronJob's privileged init container is found three levels down and denied",
			path:   "/validate/enforce",
			review: create(load(t, "cronjob-privileged-init.yaml")),
			want: want{
				code: 403, reason: metav1.StatusReasonForbidden,
				contains: []string{
					`plimsoll denied CronJob "backup" in namespace "team-a": 1 violation of enforced rules:`,
					`[privileged] init container "mount-fixer" runs privileged (spec.jobTemplate.spec.template.spec.initContainers[0].securityContext.privileged)`,
				},
				causes:          []string{"spec.jobTemplate.spec.template.spec.initContainers[0].securityContext.privileged"},
				warningsContain: []string{"plimsoll will default what these rules ask for on the Pods: "},
			},
		},
		{
			name:   "a compliant Deployment is admitted without a word",
			path:   "/validate/enforce",
			review: create(compliant),
			want:   want{allowed: true},
		},
		{
			name:   "a bare Deployment is admitted with one warning saying what defaulting will write",
			path:   "/validate/enforce",
			review: create(load(t, "deployment-bare.yaml")),
			want: want{
				allowed: true,
				warnings: []string{fixLine("cpu-limits", "cpu-requests", "liveness-probe", "memory-limits",
					"memory-requests", "privilege-escalation", "readiness-probe", "run-as-non-root")},
			},
		},
		{
			name:   "probes that cannot be defaulted for want of a TCP port come back as warnings in enforce",
			path:   "/validate/enforce",
			review: create(load(t, "deployment-no-probes.yaml")),
			want: want{
				allowed: true,
				warnings: []string{
					probeWarning("worker", "livenessProbe", "spec.template.spec.containers[0]"),
					probeWarning("worker", "readinessProbe", "spec.template.spec.containers[0]"),
				},
			},
		},
		{
			name:   "in warn the latest-tag Deployment is admitted with a warning that enforce would deny it",
			path:   "/validate/warn",
			review: create(latest),
			want: want{
				allowed:  true,
				warnings: []string{latestFinding + " (enforce mode would deny this)"},
			},
		},
		{
			name:   "in warn a privileged Pod as /mutate left it is admitted and every error-severity violation is flagged",
			path:   "/validate/warn",
			review: create(asMutated(t, "pod-privileged.yaml")),
			want: want{
				allowed: true,
				warnings: []string{
					`[host-namespaces] pod spec shares the node's process namespace (spec.hostPID): remove hostPID: true (enforce mode would deny this)`,
					`[image-tag] container "shell" uses image "busybox:latest", whose latest tag moves (spec.containers[0].image): pin a version: image: busybox:<version> or busybox@sha256:<digest> (enforce mode would deny this)`,
					probeWarning("shell", "livenessProbe", "spec.containers[0]"),
					probeWarning("agent", "livenessProbe", "spec.containers[1]"),
					`[privileged] container "shell" runs privileged (spec.containers[0].securityContext.privileged): remove privileged: true; if it needs one kernel feature, add just that capability under securityContext.capabilities.add (enforce mode would deny this)`,
					`[privileged] container "agent" runs privileged (spec.containers[1].securityContext.privileged): remove privileged: true; if it needs one kernel feature, add just that capability under securityContext.capabilities.add (enforce mode would deny this)`,
					probeWarning("shell", "readinessProbe", "spec.containers[0]"),
					probeWarning("agent", "readinessProbe", "spec.containers[1]"),
				},
			},
		},
		{
			name:   "in audit the latest-tag Deployment is admitted silently and recorded as would-deny",
			path:   "/validate/audit",
			review: create(latest),
			want: want{
				allowed: true,
				audit:   map[string]string{"decision": "would-deny", "would-deny": latestFinding},
			},
		},
		{
			name:   "in audit a privileged Pod's record lists every rule enforce would deny, and what it would warn about",
			path:   "/validate/audit",
			review: create(load(t, "pod-privileged.yaml")),
			want: want{
				allowed: true,
				audit: map[string]string{
					"decision": "would-deny",
					"would-deny": strings.Join([]string{
						`[host-namespaces] pod spec shares the node's process namespace (spec.hostPID): remove hostPID: true`,
						`[image-tag] container "shell" uses image "busybox:latest", whose latest tag moves (spec.containers[0].image): pin a version: image: busybox:<version> or busybox@sha256:<digest>`,
						`[privileged] container "shell" runs privileged (spec.containers[0].securityContext.privileged): remove privileged: true; if it needs one kernel feature, add just that capability under securityContext.capabilities.add`,
						`[privileged] container "agent" runs privileged (spec.containers[1].securityContext.privileged): remove privileged: true; if it needs one kernel feature, add just that capability under securityContext.capabilities.add`,
					}, "; "),
					"would-warn": strings.Join([]string{
						probeWarning("shell", "livenessProbe", "spec.containers[0]"),
						probeWarning("agent", "livenessProbe", "spec.containers[1]"),
						probeWarning("shell", "readinessProbe", "spec.containers[0]"),
						probeWarning("agent", "readinessProbe", "spec.containers[1]"),
					}, "; "),
					"would-default": strings.Join([]string{
						`[cpu-limits] container "shell" has no cpu limit (spec.containers[0].resources.limits.cpu): set resources.limits.cpu, e.g. 500m`,
						`[cpu-limits] container "agent" has no cpu limit (spec.containers[1].resources.limits.cpu): set resources.limits.cpu, e.g. 500m`,
						`[cpu-requests] container "shell" has no cpu request (spec.containers[0].resources.requests.cpu): set resources.requests.cpu, e.g. 100m`,
						`[cpu-requests] container "agent" has no cpu request (spec.containers[1].resources.requests.cpu): set resources.requests.cpu, e.g. 100m`,
						`[memory-limits] container "shell" has no memory limit (spec.containers[0].resources.limits.memory): set resources.limits.memory, e.g. 512Mi`,
						`[memory-limits] container "agent" has no memory limit (spec.containers[1].resources.limits.memory): set resources.limits.memory, e.g. 512Mi`,
						`[memory-requests] container "shell" has no memory request (spec.containers[0].resources.requests.memory): set resources.requests.memory, e.g. 128Mi`,
						`[memory-requests] container "agent" has no memory request (spec.containers[1].resources.requests.memory): set resources.requests.memory, e.g. 128Mi`,
					}, "; "),
				},
			},
		},
		{
			name:   "in audit a compliant Deployment leaves no record",
			path:   "/validate/audit",
			review: create(compliant),
			want:   want{allowed: true},
		},
		{
			name:   "an UPDATE that keeps a latest tag the Deployment already had is admitted with a warning",
			path:   "/validate/enforce",
			review: update(latest, scaled(latest)),
			want: want{
				allowed:  true,
				warnings: []string{latestFinding + " (already there before this update, so not denied; please fix)"},
			},
		},
		{
			name:   "an UPDATE that introduces a latest tag is denied",
			path:   "/validate/enforce",
			review: update(compliant, latest),
			want: want{
				code: 403, reason: metav1.StatusReasonForbidden,
				message: `plimsoll denied Deployment "web" in namespace "team-a": 1 violation of enforced rules:` + "\n" + latestFinding,
				causes:  []string{"spec.template.spec.containers[0].image"},
			},
		},
		{
			name: "a privileged ephemeral container added by kubectl debug is denied in enforce",
			path: "/validate/enforce",
			review: reviewOf{op: admissionv1.Update, subResource: "ephemeralcontainers",
				object: withEphemeral("ephemeral-privileged.yaml"), oldObject: running},
			want: want{
				code: 403, reason: metav1.StatusReasonForbidden,
				contains: []string{
					`plimsoll denied Pod "web-0" in namespace "team-a": 2 violations of enforced rules:`,
					`[privileged] ephemeral container "debugger" runs privileged (spec.ephemeralContainers[0].securityContext.privileged)`,
					`[run-as-non-root] ephemeral container "debugger" may run as root (runAsNonRoot is not set) (spec.ephemeralContainers[0].securityContext.runAsNonRoot)`,
				},
				// what the running Pod already lacked is no reason to
				// refuse a debug container
				excludes: []string{`container "web"`},
				causes:   []string{"spec.ephemeralContainers[0].securityContext.privileged", "spec.ephemeralContainers[0].securityContext.runAsNonRoot"},
				warningsContain: []string{
					`container "web"`,
				},
			},
		},
		{
			name: "a compliant ephemeral container is admitted although the running Pod lacked limits before",
			path: "/validate/enforce",
			review: reviewOf{op: admissionv1.Update, subResource: "ephemeralcontainers",
				object: withEphemeral("ephemeral-compliant.yaml"), oldObject: running},
			want: want{
				allowed: true,
				// the Pod's own gaps are reported, none against the debugger
				warningsContain: []string{`container "web"`},
			},
		},
		{
			name:   "a DELETE is allowed: there is nothing to judge",
			path:   "/validate/enforce",
			review: reviewOf{op: admissionv1.Delete, oldObject: load(t, "pod-privileged.yaml")},
			want:   want{allowed: true},
		},
		{
			name: "a CONNECT is allowed: there is nothing to judge",
			path: "/validate/enforce",
			review: reviewOf{op: admissionv1.Connect, subResource: "exec", name: "debug-tools", namespace: "team-a",
				kind:   &metav1.GroupVersionKind{Version: "v1", Kind: "PodExecOptions"},
				object: []byte(`{"kind":"PodExecOptions","apiVersion":"v1","stdin":true,"tty":true,"container":"shell","command":["sh"]}`)},
			want: want{allowed: true},
		},
		{
			name:   "a kind plimsoll does not judge is allowed with a message saying so",
			path:   "/validate/enforce",
			review: create(load(t, "controllerrevision.yaml")),
			want:   want{allowed: true, code: 200, message: "plimsoll does not judge kind ControllerRevision of apps/v1; allowed"},
		},
		{
			name:   "a custom resource that happens to hold containers is allowed with a message saying so",
			path:   "/validate/enforce",
			review: create(load(t, "widget.yaml")),
			want:   want{allowed: true, code: 200, message: "plimsoll does not judge kind Widget of example.com/v1; allowed"},
		},
		{
			name: "another subresource of a Pod is allowed with a message saying so",
			path: "/validate/enforce",
			review: reviewOf{op: admissionv1.Update, subResource: "status",
				object: load(t, "pod-privileged.yaml"), oldObject: load(t, "pod-privileged.yaml")},
			want: want{allowed: true, code: 200, message: "plimsoll does not judge the status subresource; allowed"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			a := f.send(t, tt.path, tt.review.body(t))
			r := a.resp
			if a.apiVersion != "admission.k8s.io/v1" {
				t.Errorf("answered in %q, want admission.k8s.io/v1", a.apiVersion)
			}
			if r.UID != testUID {
				t.Errorf("uid %q, want %q", r.UID, testUID)
			}
			if r.Allowed != tt.want.allowed {
				t.Errorf("allowed %v, want %v (%s)", r.Allowed, tt.want.allowed, a.message())
			}
			if r.Patch != nil || r.PatchType != nil {
				t.Errorf("the validating webhook answered with a patch: %s", r.Patch)
			}
			if a.code() != tt.want.code {
				t.Errorf("code %d, want %d", a.code(), tt.want.code)
			}
			if r.Result != nil && r.Result.Reason != tt.want.reason {
				t.Errorf("reason %q, want %q", r.Result.Reason, tt.want.reason)
			}
			if !r.Allowed && (r.Result == nil || r.Result.Status != metav1.StatusFailure) {
				t.Errorf("a denial without status Failure: %+v", r.Result)
			}
			msg := a.message()
			if tt.want.contains == nil || tt.want.message != "" {
				if diff := cmp.Diff(tt.want.message, msg); diff != "" {
					t.Errorf("message (-want +got):\n%s", diff)
				}
			}
			for _, s := range tt.want.contains {
				if !strings.Contains(msg, s) {
					t.Errorf("message lacks %q:\n%s", s, msg)
				}
			}
			for _, s := range tt.want.excludes {
				if strings.Contains(msg, s) {
					t.Errorf("message holds %q:\n%s", s, msg)
				}
			}
			var causes []string
			if r.Result != nil && r.Result.Details != nil {
				for _, c := range r.Result.Details.Causes {
					causes = append(causes, c.Field)
					if c.Type != metav1.CauseTypeForbidden || !strings.Contains(msg, c.Message) {
						t.Errorf("cause %+v: want type %s and its message in the denial", c, metav1.CauseTypeForbidden)
					}
				}
				if r.Result.Details.Name != tt.review.review(t).Request.Name || r.Result.Details.Kind != tt.review.review(t).Request.Kind.Kind {
					t.Errorf("details name/kind %q/%q", r.Result.Details.Name, r.Result.Details.Kind)
				}
			}
			if diff := cmp.Diff(tt.want.causes, causes); diff != "" {
				t.Errorf("causes (-want +got):\n%s", diff)
			}
			if tt.want.warningsContain != nil {
				if len(r.Warnings) == 0 {
					t.Errorf("no warnings, want some holding one of %q", tt.want.warningsContain)
				}
				for _, w := range r.Warnings {
					ok := false
					for _, s := range tt.want.warningsContain {
						ok = ok || strings.Contains(w, s)
					}
					if !ok {
						t.Errorf("warning %q holds none of %q", w, tt.want.warningsContain)
					}
				}
			} else if diff := cmp.Diff(tt.want.warnings, r.Warnings); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.want.audit, r.AuditAnnotations); diff != "" {
				t.Errorf("audit annotations (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidateWarningsOfAPreexistingEphemeralGapNameTheUpdate(t *testing.T) {
	// The compliant debugger's admission reports the running Pod's own
	// gaps as preexisting, never as the debugger's.
	f := newFixture(t)
	running := load(t, "pod-running.yaml")
	var ec map[string]any
	if err := json.Unmarshal(load(t, "ephemeral-compliant.yaml"), &ec); err != nil {
		t.Fatal(err)
	}
	obj := edit(t, running, func(m map[string]any) { podSpec(m)["ephemeralContainers"] = []any{ec} })
	a := f.send(t, "/validate/enforce", reviewOf{op: admissionv1.Update, subResource: "ephemeralcontainers", object: obj, oldObject: running}.body(t))
	if !a.resp.Allowed {
		t.Fatalf("denied: %s", a.message())
	}
	var errorsReported int
	for _, w := range a.resp.Warnings {
		if strings.Contains(w, "debugger") {
			t.Errorf("warning against the compliant debugger: %q", w)
		}
		if strings.HasSuffix(w, "(already there before this update, so not denied; please fix)") {
			errorsReported++
		}
	}
	// cpu and memory requests and limits, privilege escalation, run as non-root
	if errorsReported != 6 {
		t.Errorf("%d preexisting errors reported, want 6: %q", errorsReported, a.resp.Warnings)
	}
}

func TestDryRunTurnsEveryModeIntoAudit(t *testing.T) {
	for _, path := range []string{"/validate/enforce", "/validate/warn", "/validate/audit"} {
		t.Run(path, func(t *testing.T) {
			f := newFixture(t)
			f.h.DryRun = true
			a := f.send(t, path, create(load(t, "pod-privileged.yaml")).body(t))
			if !a.resp.Allowed || a.resp.Result != nil {
				t.Fatalf("allowed=%v result=%+v, want allowed without a status", a.resp.Allowed, a.resp.Result)
			}
			if len(a.resp.Warnings) > 0 {
				t.Errorf("warnings %q, want none in audit", a.resp.Warnings)
			}
			if got := a.resp.AuditAnnotations["decision"]; got != "would-deny" {
				t.Errorf("audit decision %q, want would-deny", got)
			}
			want := []requestCall{{"validate", admission.Audit, "Pod", "CREATE", admission.Allowed}}
			if diff := cmp.Diff(want, f.rec.requests); diff != "" {
				t.Errorf("recorded requests (-want +got):\n%s", diff)
			}
			if lines := withMsg(f.log.lines(t), "audit record"); len(lines) != 1 {
				t.Errorf("%d audit records logged, want 1:\n%s", len(lines), f.log)
			}
		})
	}
	t.Run("/mutate/enforce", func(t *testing.T) {
		f := newFixture(t)
		f.h.DryRun = true
		a := f.send(t, "/mutate/enforce", create(load(t, "pod-bare-nginx.yaml")).body(t))
		if !a.resp.Allowed || a.resp.Patch != nil {
			t.Fatalf("allowed=%v patch=%s, want allowed without a patch", a.resp.Allowed, a.resp.Patch)
		}
		want := map[string]string{"would-default": "probes=nginx; resources=nginx; securityContext=nginx,pod"}
		if diff := cmp.Diff(want, a.resp.AuditAnnotations); diff != "" {
			t.Errorf("audit annotations (-want +got):\n%s", diff)
		}
	})
}

func TestInternalErrorsFollowTheFailurePolicyOfTheMode(t *testing.T) {
	broken := &validate.Rule{
		ID: "broken", Category: "test", Severity: policy.Error,
		Check: func(*workload.Template, *policy.Policy) []validate.Finding { panic("a rule fell over") },
	}
	tests := []struct {
		path         string
		wantAllowed  bool
		wantCode     int32
		wantWarnings int
		wantDecision string
	}{
		{"/validate/enforce", false, 500, 0, admission.Errored},
		{"/validate/warn", true, 0, 1, admission.Warned},
		{"/validate/audit", true, 0, 0, admission.Allowed},
	}
	for _, tt := range tests {
		t.Run("a panicking rule under "+tt.path, func(t *testing.T) {
			f := newFixture(t)
			f.h.Rules = append(rulesByID(t, handlerRules...), broken)
			a := f.send(t, tt.path, create(load(t, "deployment-compliant.yaml")).body(t))
			if a.resp.Allowed != tt.wantAllowed || a.code() != tt.wantCode || len(a.resp.Warnings) != tt.wantWarnings {
				t.Fatalf("allowed=%v code=%d warnings=%q, want %v %d and %d warnings", a.resp.Allowed, a.code(), a.resp.Warnings, tt.wantAllowed, tt.wantCode, tt.wantWarnings)
			}
			if a.resp.UID != testUID {
				t.Errorf("uid %q", a.resp.UID)
			}
			if diff := cmp.Diff([]string{"validate"}, f.rec.internal); diff != "" {
				t.Errorf("internal errors (-want +got):\n%s", diff)
			}
			if got := f.rec.requests[0].Decision; got != tt.wantDecision {
				t.Errorf("decision %q, want %q", got, tt.wantDecision)
			}
			if errs := withMsg(f.log.lines(t), "validation failed"); len(errs) != 1 || errs[0]["level"] != "ERROR" || errs[0]["uid"] != string(testUID) {
				t.Errorf("want one ERROR line with the uid, got %v", errs)
			}
			// and the handler still judges the next request
			f.h.Rules = rulesByID(t, handlerRules...)
			if b := f.send(t, tt.path, create(load(t, "deployment-compliant.yaml")).body(t)); !b.resp.Allowed {
				t.Errorf("next request refused: %s", b.message())
			}
		})
	}

	for _, tt := range []struct {
		name        string
		path        string
		wantAllowed bool
		wantCode    int32
		wantWarning string
	}{
		{"a failure while defaulting refuses the Pod in enforce, never admits it unchanged", "/mutate/enforce", false, 500, ""},
		{"a failure while defaulting admits the Pod unchanged with a warning in warn", "/mutate/warn", true, 0, "could not apply its defaults"},
		{"a failure while defaulting admits the Pod unchanged in audit", "/mutate/audit", true, 0, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			// With no policy in force, defaulting cannot read its defaults.
			f.h.Policy.Store(nil)
			a := f.send(t, tt.path, create(load(t, "pod-bare-nginx.yaml")).body(t))
			if a.resp.Allowed != tt.wantAllowed || a.code() != tt.wantCode || a.resp.Patch != nil {
				t.Fatalf("allowed=%v code=%d patch=%s, want allowed=%v code=%d and no patch", a.resp.Allowed, a.code(), a.resp.Patch, tt.wantAllowed, tt.wantCode)
			}
			if !tt.wantAllowed && !strings.Contains(a.message(), "could not apply its defaults to this Pod") {
				t.Errorf("message %q, want it to say the defaults could not be applied", a.message())
			}
			if tt.wantWarning != "" && (len(a.resp.Warnings) != 1 || !strings.Contains(a.resp.Warnings[0], tt.wantWarning)) {
				t.Errorf("warnings %q, want one holding %q", a.resp.Warnings, tt.wantWarning)
			}
			if diff := cmp.Diff([]string{"mutate"}, f.rec.internal); diff != "" {
				t.Errorf("internal errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMetrics(t *testing.T) {
	type want struct {
		requests   []requestCall
		violations []violationCall
		defaulted  []defaultedCall
	}
	tests := []struct {
		name string
		path string
		body func(t *testing.T) []byte
		want want
	}{
		{
			name: "a defaulted Pod counts one request and each family that wrote",
			path: "/mutate/enforce",
			body: func(t *testing.T) []byte { return create(load(t, "pod-bare-nginx.yaml")).body(t) },
			want: want{
				requests:  []requestCall{{"mutate", admission.Enforce, "Pod", "CREATE", admission.Allowed}},
				defaulted: []defaultedCall{{"resources", admission.Enforce}, {"probes", admission.Enforce}, {"securityContext", admission.Enforce}},
			},
		},
		{
			name: "audit counts what would have been defaulted, under mode audit",
			path: "/mutate/audit",
			body: func(t *testing.T) []byte { return create(load(t, "pod-bare-nginx.yaml")).body(t) },
			want: want{
				requests:  []requestCall{{"mutate", admission.Audit, "Pod", "CREATE", admission.Allowed}},
				defaulted: []defaultedCall{{"resources", admission.Audit}, {"probes", admission.Audit}, {"securityContext", admission.Audit}},
			},
		},
		{
			name: "a denial counts every violation found, fixable or not, with its severity",
			path: "/validate/enforce",
			body: func(t *testing.T) []byte { return create(load(t, "pod-privileged.yaml")).body(t) },
			want: want{
				requests: []requestCall{{"validate", admission.Enforce, "Pod", "CREATE", admission.Denied}},
				violations: []violationCall{
					{"cpu-limits", "error", admission.Enforce}, {"cpu-limits", "error", admission.Enforce},
					{"cpu-requests", "error", admission.Enforce}, {"cpu-requests", "error", admission.Enforce},
					{"host-namespaces", "error", admission.Enforce},
					{"image-tag", "error", admission.Enforce},
					{"liveness-probe", "warning", admission.Enforce}, {"liveness-probe", "warning", admission.Enforce},
					{"memory-limits", "error", admission.Enforce}, {"memory-limits", "error", admission.Enforce},
					{"memory-requests", "error", admission.Enforce}, {"memory-requests", "error", admission.Enforce},
					{"privileged", "error", admission.Enforce}, {"privileged", "error", admission.Enforce},
					{"readiness-probe", "warning", admission.Enforce}, {"readiness-probe", "warning", admission.Enforce},
				},
			},
		},
		{
			name: "warn mode records a warned decision",
			path: "/validate/warn",
			body: func(t *testing.T) []byte { return create(load(t, "deployment-latest.yaml")).body(t) },
			want: want{
				requests:   []requestCall{{"validate", admission.Warn, "Deployment", "CREATE", admission.Warned}},
				violations: []violationCall{{"image-tag", "error", admission.Warn}},
			},
		},
		{
			name: "audit mode records an allowed decision and the violation under mode audit",
			path: "/validate/audit",
			body: func(t *testing.T) []byte { return create(load(t, "deployment-latest.yaml")).body(t) },
			want: want{
				requests:   []requestCall{{"validate", admission.Audit, "Deployment", "CREATE", admission.Allowed}},
				violations: []violationCall{{"image-tag", "error", admission.Audit}},
			},
		},
		{
			name: "an UPDATE is recorded as such",
			path: "/validate/enforce",
			body: func(t *testing.T) []byte {
				c := load(t, "deployment-compliant.yaml")
				return update(c, c).body(t)
			},
			want: want{requests: []requestCall{{"validate", admission.Enforce, "Deployment", "UPDATE", admission.Allowed}}},
		},
		{
			name: "a kind plimsoll does not judge is recorded as other, to bound the label",
			path: "/validate/enforce",
			body: func(t *testing.T) []byte { return create(load(t, "widget.yaml")).body(t) },
			want: want{requests: []requestCall{{"validate", admission.Enforce, "other", "CREATE", admission.Allowed}}},
		},
		{
			name: "an operation that does not exist is recorded as other, to bound the label",
			path: "/validate/enforce",
			body: func(t *testing.T) []byte {
				return bytes.Replace(create(load(t, "deployment-compliant.yaml")).body(t), []byte(`"operation":"CREATE"`), []byte(`"operation":"EXPLODE-1234"`), 1)
			},
			want: want{requests: []requestCall{{"validate", admission.Enforce, "Deployment", "other", admission.Errored}}},
		},
		{
			name: "malformed input is recorded as an error of unknown kind and operation",
			path: "/validate/enforce",
			body: func(*testing.T) []byte { return []byte(`{"apiVersion":`) },
			want: want{requests: []requestCall{{"validate", admission.Enforce, "unknown", "unknown", admission.Errored}}},
		},
		{
			name: "an unknown mode is recorded under mode unknown",
			path: "/validate/bogus",
			body: func(t *testing.T) []byte { return create(load(t, "deployment-compliant.yaml")).body(t) },
			want: want{requests: []requestCall{{"validate", "unknown", "unknown", "unknown", admission.Errored}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.send(t, tt.path, tt.body(t))
			if diff := cmp.Diff(tt.want.requests, f.rec.requests); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
			sortViolations := cmpopts.SortSlices(func(a, b violationCall) bool { return a.Rule < b.Rule })
			if diff := cmp.Diff(tt.want.violations, f.rec.violations, sortViolations); diff != "" {
				t.Errorf("violations (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.want.defaulted, f.rec.defaulted); diff != "" {
				t.Errorf("defaulted (-want +got):\n%s", diff)
			}
			if len(f.rec.internal) > 0 || len(f.rec.reloads) > 0 {
				t.Errorf("unexpected internal errors %v or reloads %v", f.rec.internal, f.rec.reloads)
			}
		})
	}
}

func TestDecisionLogs(t *testing.T) {
	f := newFixture(t)
	type sent struct {
		uid, path string
		review    reviewOf
		// fields the decision line must carry
		want map[string]any
	}
	requests := []sent{
		{"uid-mutate", "/mutate/enforce", create(load(t, "pod-secret-env.yaml")), map[string]any{
			"msg": "admission decision", "endpoint": "mutate", "mode": "enforce", "namespace": "team-a", "kind": "Pod", "name": "billing",
			"operation": "CREATE", "decision": "allowed", "user": "alice@example.com",
			"defaulted": []any{"resources", "probes", "securityContext"}, "level": "DEBUG",
		}},
		{"uid-deny", "/validate/enforce", create(load(t, "deployment-latest.yaml")), map[string]any{
			"msg": "admission decision", "endpoint": "validate", "mode": "enforce", "namespace": "team-a", "kind": "Deployment", "name": "web",
			"operation": "CREATE", "decision": "denied", "rules": []any{"image-tag"},
		}},
		{"uid-secret", "/validate/enforce", create(asMutatedWith(t, "pod-secret-env.yaml", noProbeDefaults())), map[string]any{
			"msg": "admission decision", "endpoint": "validate", "mode": "enforce", "namespace": "team-a", "kind": "Pod", "name": "billing",
			"operation": "CREATE", "decision": "warned",
			"rules": []any{"liveness-probe", "readiness-probe"},
			"level": "DEBUG",
		}},
		{"uid-audit", "/validate/audit", create(load(t, "pod-secret-env.yaml")), map[string]any{
			"msg": "audit record", "endpoint": "validate", "mode": "audit", "kind": "Pod", "name": "billing", "decision": "allowed",
		}},
		{"uid-update", "/validate/warn", update(load(t, "pod-secret-env.yaml"), load(t, "pod-secret-env.yaml")), map[string]any{
			"msg": "admission decision", "mode": "warn", "operation": "UPDATE", "decision": "warned", "level": "DEBUG",
		}},
		// Admitted in warn mode, but enforce would deny: at info.
		{"uid-would-deny", "/validate/warn", create(load(t, "deployment-latest.yaml")), map[string]any{
			"msg": "admission decision", "mode": "warn", "decision": "warned", "would_deny": []any{"image-tag"},
		}},
		{"uid-ephemeral", "/validate/enforce", reviewOf{op: admissionv1.Update, subResource: "ephemeralcontainers",
			object: load(t, "pod-secret-env.yaml"), oldObject: load(t, "pod-secret-env.yaml")}, map[string]any{
			"operation": "UPDATE", "subresource": "ephemeralcontainers", "level": "DEBUG",
		}},
		// Admitted with nothing to say: at debug.
		{"uid-delete", "/validate/enforce", reviewOf{op: admissionv1.Delete, oldObject: load(t, "pod-secret-env.yaml")}, map[string]any{
			"operation": "DELETE", "decision": "allowed", "name": "billing", "level": "DEBUG",
		}},
	}
	// A Pod that does not decode is refused, and logged like any other.
	bad := edit(t, load(t, "pod-secret-env.yaml"), func(m map[string]any) {
		podSpec(m)["containers"].([]any)[0].(map[string]any)["ports"] = "s3cr3t-value"
	})
	requests = append(requests, sent{"uid-undecodable", "/validate/enforce", create(bad), map[string]any{
		"msg": "admission decision", "kind": "Pod", "name": "billing", "operation": "CREATE", "decision": "error",
	}})
	for _, r := range requests {
		f.send(t, r.path, seeded(r.review, r.uid).body(t))
	}
	// A review that does not decode at all: the secret is in its body too.
	broken := fmt.Sprintf(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"uid-broken","operation":5,"object":%s}}`,
		load(t, "pod-secret-env.yaml"))
	if a := f.send(t, "/validate/enforce", []byte(broken)); a.resp.Allowed || a.resp.UID != "uid-broken" {
		t.Fatalf("a broken review: allowed=%v uid=%q, want refused with its uid", a.resp.Allowed, a.resp.UID)
	}

	lines := f.log.lines(t)
	decisions := withMsg(lines, "admission decision", "audit record")
	if len(decisions) != len(requests) {
		t.Fatalf("%d decision lines for %d requests:\n%s", len(decisions), len(requests), f.log)
	}
	for i, r := range requests {
		got := decisions[i]
		if got["uid"] != r.uid {
			t.Errorf("line %d: uid %v, want %s", i, got["uid"], r.uid)
			continue
		}
		if _, ok := r.want["level"]; !ok && got["level"] != "INFO" {
			t.Errorf("%s: level %v, want INFO", r.uid, got["level"])
		}
		if _, ok := got["latency_ms"].(float64); !ok {
			t.Errorf("%s: no latency_ms", r.uid)
		}
		for k, want := range r.want {
			if diff := cmp.Diff(want, got[k]); diff != "" {
				t.Errorf("%s: field %s (-want +got):\n%s", r.uid, k, diff)
			}
		}
	}
	refused := withMsg(lines, "refused a malformed admission request")
	if len(refused) != 1 || refused[0]["uid"] != "uid-broken" || refused[0]["level"] != "WARN" || refused[0]["code"] != float64(400) {
		t.Errorf("want one WARN line for the malformed request with its uid and code 400, got %v", refused)
	}

	out := f.log.String()
	for _, leak := range []string{
		"s3cr3t-value",        // an env var value
		"API_TOKEN",           // an env var name
		"example.com/billing", // an image: the object body
		`"containers"`, `\"containers\"`,
		"containerPort",
	} {
		if strings.Contains(out, leak) {
			t.Errorf("the log holds %q:\n%s", leak, out)
		}
	}
}

func TestAnAdmissionWithNothingToSayIsLoggedAtDebugOnly(t *testing.T) {
	f := newFixture(t)
	compliant := load(t, "deployment-compliant.yaml")
	f.send(t, "/validate/enforce", seeded(create(compliant), "uid-quiet").body(t))
	lines := withMsg(f.log.lines(t), "admission decision")
	if len(lines) != 1 || lines[0]["level"] != "DEBUG" || lines[0]["uid"] != "uid-quiet" || lines[0]["decision"] != "allowed" {
		t.Fatalf("want one DEBUG decision line for a clean admission, got:\n%s", f.log)
	}

	// At info, the level plimsoll serve runs at, the allow path writes
	// nothing — admitted, defaulted or warned — and a denial still is.
	f.log.Reset()
	f.h.Log = slog.New(slog.NewJSONHandler(f.log, &slog.HandlerOptions{Level: slog.LevelInfo}))
	f.send(t, "/validate/enforce", seeded(create(compliant), "uid-quiet").body(t))
	f.send(t, "/validate/enforce", seeded(create(asMutatedWith(t, "pod-secret-env.yaml", noProbeDefaults())), "uid-warned").body(t))
	f.send(t, "/mutate/enforce", seeded(create(load(t, "pod-secret-env.yaml")), "uid-defaulted").body(t))
	f.send(t, "/validate/enforce", seeded(create(load(t, "deployment-latest.yaml")), "uid-denied").body(t))
	lines = withMsg(f.log.lines(t), "admission decision")
	if len(lines) != 1 || lines[0]["uid"] != "uid-denied" || lines[0]["level"] != "INFO" {
		t.Errorf("at info, want only the denied request's line, got:\n%s", f.log)
	}
}

// TestMutatePatchesMatchTheMutatePackagesFixtures sends each Pod of
// mutate/testdata through the webhook: the patch, applied to the Pod as
// sent, gives exactly the Pod the mutate package's tests expect, and a second
// pass over it (reinvocationPolicy: IfNeeded) has nothing to add. So the
// diff of raw bytes loses nothing defaulting wrote.
func TestMutatePatchesMatchTheMutatePackagesFixtures(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("..", "mutate", "testdata", "*", "in.yaml"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no fixtures in mutate/testdata: %v", err)
	}
	quantities := cmp.Comparer(func(a, b resource.Quantity) bool { return a.Cmp(b) == 0 })
	for _, in := range dirs {
		dir := filepath.Dir(in)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			f := newFixture(t)
			raw := loadPath(t, in)
			// The fixtures are Pods as the controllers they name send them.
			a := f.send(t, "/mutate/enforce", create(raw).byController().body(t))
			if !a.resp.Allowed || len(a.resp.Warnings) > 0 {
				t.Fatalf("allowed=%v warnings=%q %s", a.resp.Allowed, a.resp.Warnings, a.message())
			}
			for _, op := range patchOps(t, a.resp) {
				if op.Op != "add" && op.Op != "replace" {
					t.Errorf("operation %s %s: plimsoll only adds and replaces", op.Op, op.Path)
				}
			}
			patched := applyPatch(t, raw, a.resp)
			var got, want corev1.Pod
			if err := json.Unmarshal(patched, &got); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(loadPath(t, filepath.Join(dir, "out.yaml")), &want); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got, quantities); diff != "" {
				t.Fatalf("the patched Pod is not mutate's out.yaml (-want +got):\n%s", diff)
			}
			again := f.send(t, "/mutate/enforce", create(patched).byController().body(t))
			if again.resp.Patch != nil {
				t.Errorf("a second pass patches again: %s", again.resp.Patch)
			}
		})
	}
}

func TestExemptionsAreRecordedNotDenied(t *testing.T) {
	p, err := policy.Load([]byte(`apiVersion: plimsoll.dev/v1alpha1
kind: Policy
exemptions:
- reason: the debug shell needs the host
  namespaces: [team-a]
  kinds: [Pod]
  rules: [privileged]
- reason: expired waiver
  namespaces: [team-a]
  rules: [image-tag]
  expires: "2020-01-01T00:00:00Z"
`), validate.IDs())
	if err != nil {
		t.Fatal(err)
	}
	rec := &fakeRecorder{}
	var ptr atomic.Pointer[policy.Policy]
	ptr.Store(p)
	h := &webhook.Handler{Policy: &ptr, Rules: validate.Registry(), Log: slog.New(slog.DiscardHandler), Metrics: rec}
	mux := http.NewServeMux()
	mux.HandleFunc("/validate/{mode}", h.ServeValidate)

	pod := `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"dbg","namespace":"team-a"},"spec":{"containers":[{"name":"sh","image":"busybox:latest","securityContext":{"privileged":true}}]}}`
	review := `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u1","kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},"namespace":"team-a","operation":"CREATE","object":` + pod + `}}`
	req := httptest.NewRequest(http.MethodPost, "/validate/enforce", strings.NewReader(review))
	req.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, req)
	var out admissionv1.AdmissionReview
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	r := out.Response
	if r.Allowed || !strings.Contains(r.Result.Message, "[image-tag]") || strings.Contains(r.Result.Message, "[privileged]") {
		t.Fatalf("want a denial for image-tag only (the expired exemption no longer applies, privileged is exempt), got allowed=%v %v", r.Allowed, r.Result)
	}
	if !strings.Contains(r.AuditAnnotations["exempted"], "[privileged]") || !strings.Contains(r.AuditAnnotations["exempted"], "the debug shell needs the host") {
		t.Errorf("audit annotation exempted = %q", r.AuditAnnotations["exempted"])
	}
	if !slices.ContainsFunc(r.Warnings, func(w string) bool { return strings.Contains(w, "policy exemption 1 has expired") }) {
		t.Errorf("warnings do not mention the expired exemption: %q", r.Warnings)
	}
	if !slices.Contains(rec.exemptions, "privileged/policy") {
		t.Errorf("exemption metric calls = %v", rec.exemptions)
	}
}
