package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/plimsoll/plimsoll/mutate"
	"github.com/plimsoll/plimsoll/pipeline"
	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/validate"
	"github.com/plimsoll/plimsoll/workload"
)

// Handler answers AdmissionReviews. It is safe for concurrent use.
type Handler struct {
	// Policy is the policy in force; a reload swaps it.
	Policy *atomic.Pointer[policy.Policy]
	// Rules are the rules to run, in order.
	Rules []*validate.Rule
	// DryRun puts every namespace in audit mode, whatever its path says.
	DryRun bool
	// MaxRequestBytes bounds a request body (DefaultMaxRequestBytes if 0).
	MaxRequestBytes int64
	Log             *slog.Logger
	Metrics         Recorder
	// Tracer, when set, traces each request (see tracing.go); nil: off.
	Tracer trace.Tracer
	// Propagator reads the caller's trace context (W3C trace context if
	// nil). Used only with Tracer.
	Propagator propagation.TextMapPropagator

	// ruleSet caches the rules the policy in force leaves on; see rules.
	ruleSet atomic.Pointer[ruleSet]
}

// ruleSet is Rules without those a policy turns off, worked out once per
// policy version (a reload stores a new *policy.Policy).
type ruleSet struct {
	policy *policy.Policy
	from   []*validate.Rule // the Rules it was made from
	rules  []*validate.Rule
}

// rules returns the rules p leaves on, in order.
func (h *Handler) rules(p *policy.Policy) []*validate.Rule {
	if rs := h.ruleSet.Load(); rs != nil && rs.policy == p && sameRules(rs.from, h.Rules) {
		return rs.rules
	}
	on := make([]*validate.Rule, 0, len(h.Rules))
	for _, r := range h.Rules {
		if p.Severity(r.ID, r.Severity) != policy.Off {
			on = append(on, r)
		}
	}
	h.ruleSet.Store(&ruleSet{policy: p, from: h.Rules, rules: on})
	return on
}

func sameRules(a, b []*validate.Rule) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// Endpoints served by the handler.
const (
	EndpointMutate   = "mutate"
	EndpointValidate = "validate"
)

// ServeMutate answers /mutate/{mode}.
func (h *Handler) ServeMutate(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, EndpointMutate)
}

// ServeValidate answers /validate/{mode}.
func (h *Handler) ServeValidate(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, EndpointValidate)
}

// request is one AdmissionReview in flight, with what the log line and the
// metrics need to say about it.
type request struct {
	*admissionv1.AdmissionRequest
	endpoint string
	mode     Mode
	base     *slog.Logger
	log      *slog.Logger // base with the request's uid, endpoint and mode; see logger
	trace    *spans       // nil when tracing is off
	// set while handling, for the decision log line
	kind       string
	violations []validate.Violation
	defaulted  mutate.Changes
}

// logger returns the per-request logger, carrying the request's uid,
// endpoint and mode. It is built on first use: the allow path logs nothing
// above debug and should not pay for a logger it does not use.
func (req *request) logger() *slog.Logger {
	if req.log == nil {
		req.log = req.base.With("uid", req.UID, "endpoint", req.endpoint, "mode", string(req.mode))
		if id := req.trace.traceID(); id != "" {
			req.log = req.log.With("trace_id", id)
		}
	}
	return req.log
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request, endpoint string) {
	start := time.Now()
	limit := h.MaxRequestBytes
	if limit <= 0 {
		limit = DefaultMaxRequestBytes
	}
	sp := h.startSpans(r, endpoint)
	sp.begin(SpanDecode)
	mode, modeErr := ParseMode(r.PathValue("mode"))
	review, err := readReview(r, limit)
	if err == nil && modeErr != nil {
		err = &badRequest{code: http.StatusNotFound, msg: modeErr.Error(), uid: review.Request.UID, apiVersion: review.APIVersion}
	}
	if err != nil {
		br := err.(*badRequest)
		if review != nil && br.uid == "" {
			br.uid, br.apiVersion = review.Request.UID, review.APIVersion
		}
		h.Log.Warn("refused a malformed admission request", "uid", br.uid, "endpoint", endpoint, "path", r.URL.Path, "code", br.code, "reason", br.msg, "remote", r.RemoteAddr)
		if mode == "" {
			mode = "unknown"
		}
		h.Metrics.Request(endpoint, mode, "unknown", "unknown", DecisionError, time.Since(start))
		resp := refusal(br.uid, br.code, br.msg)
		sp.fail(br.msg)
		sp.begin(SpanEncode)
		writeReview(w, br.apiVersion, resp)
		sp.finish(nil, endpoint, mode, string(br.uid), resp, DecisionError)
		return
	}
	if h.DryRun {
		mode = Audit
	}
	req := &request{
		AdmissionRequest: review.Request,
		endpoint:         endpoint,
		mode:             mode,
		base:             h.Log,
		trace:            sp,
		kind:             metricKind(review.Request.Kind),
	}

	var resp *admissionv1.AdmissionResponse
	if endpoint == EndpointMutate {
		resp = h.mutate(req)
	} else {
		resp = h.validate(req)
	}
	resp.UID = req.UID
	decision := decisionOf(resp)
	took := time.Since(start)
	h.Metrics.Request(endpoint, mode, req.kind, metricOperation(req.Operation), decision, took)
	h.logDecision(r.Context(), req, decision, took)
	sp.begin(SpanEncode)
	writeReview(w, review.APIVersion, resp)
	sp.finish(req, endpoint, mode, string(req.UID), resp, decision)
}

func decisionOf(resp *admissionv1.AdmissionResponse) string {
	switch {
	case !resp.Allowed && resp.Result != nil && resp.Result.Code >= 500:
		return DecisionError
	case !resp.Allowed && resp.Result != nil && resp.Result.Code != http.StatusForbidden:
		return DecisionError
	case !resp.Allowed:
		return DecisionDenied
	case len(resp.Warnings) > 0:
		return DecisionWarned
	}
	return DecisionAllowed
}

// metricKind bounds the kind label to the kinds plimsoll judges.
func metricKind(gvk metav1.GroupVersionKind) string {
	if workload.Supported(schema.GroupVersionKind(gvk)) {
		return gvk.Kind
	}
	return "other"
}

// metricOperation bounds the operation label to the four operations
// there are: a request that names another is counted as "other".
func metricOperation(op admissionv1.Operation) string {
	switch op {
	case admissionv1.Create, admissionv1.Update, admissionv1.Delete, admissionv1.Connect:
		return string(op)
	}
	return "other"
}

// logDecision writes the decision line, at the level decisionLevel
// gives.
func (h *Handler) logDecision(ctx context.Context, req *request, decision string, took time.Duration) {
	level := decisionLevel(req, decision)
	if !h.Log.Enabled(ctx, level) {
		return
	}
	// The request's uid, endpoint and mode are what req.logger() carries;
	// they are written directly here rather than through a derived logger,
	// which would format them once more per request.
	attrs := make([]slog.Attr, 0, 14)
	attrs = append(attrs,
		slog.String("uid", string(req.UID)),
		slog.String("endpoint", req.endpoint),
		slog.String("mode", string(req.mode)),
		slog.String("decision", decision),
		slog.String("namespace", req.Namespace),
		slog.String("kind", req.Kind.Kind),
		slog.String("name", req.Name),
		slog.String("operation", string(req.Operation)),
		slog.String("user", req.UserInfo.Username),
		slog.Float64("latency_ms", float64(took.Microseconds())/1000),
	)
	if req.SubResource != "" {
		attrs = append(attrs, slog.String("subresource", req.SubResource))
	}
	if len(req.violations) > 0 {
		ids := make([]string, 0, len(req.violations))
		for _, v := range req.violations {
			if !slices.Contains(ids, v.Rule.ID) {
				ids = append(ids, v.Rule.ID)
			}
		}
		attrs = append(attrs, slog.Any("rules", ids))
		if req.mode != Enforce {
			var would []string
			for _, v := range req.violations {
				if v.Denies() && !slices.Contains(would, v.Rule.ID) {
					would = append(would, v.Rule.ID)
				}
			}
			if len(would) > 0 {
				attrs = append(attrs, slog.Any("would_deny", would))
			}
		}
	}
	if fams := req.defaulted.Families(); len(fams) > 0 {
		attrs = append(attrs, slog.Any("defaulted", fams))
	}
	if id := req.trace.traceID(); id != "" {
		attrs = append(attrs, slog.String("trace_id", id))
	}
	msg := "admission decision"
	if req.mode == Audit {
		msg = "audit record"
	}
	h.Log.LogAttrs(ctx, level, msg, attrs...)
}

// decisionLevel is info for what an operator must be able to find in the
// logs — a denial, an error, an audit record (of violations or of what
// defaulting would write), a request that warn mode admitted but enforce
// mode would deny — and debug for the rest of the allow path: admitted as
// is, defaulted, or with warnings the user has already been shown. That is
// most of the traffic, and the metrics count it; the Pod's
// plimsoll.dev/mutations annotation says what was defaulted.
func decisionLevel(req *request, decision string) slog.Level {
	switch {
	case decision != DecisionAllowed && decision != DecisionWarned:
		return slog.LevelInfo
	case req.mode == Audit && (len(req.violations) > 0 || len(req.defaulted) > 0):
		return slog.LevelInfo
	case req.mode == Warn && slices.ContainsFunc(req.violations, validate.Violation.Denies):
		return slog.LevelInfo
	}
	return slog.LevelDebug
}

// ---- mutate: Pods on CREATE ----

func (h *Handler) mutate(req *request) (resp *admissionv1.AdmissionResponse) {
	if req.Kind.Kind != "Pod" || req.Kind.Group != "" || req.Operation != admissionv1.Create || req.SubResource != "" {
		return allowed(req.UID, "plimsoll defaults Pods on CREATE only; nothing to do")
	}
	if len(req.Object.Raw) == 0 {
		return refusal(req.UID, http.StatusBadRequest, "the request carries no object to default")
	}
	obj, err := pipeline.Decode(req.Object.Raw, schema.GroupVersionKind(req.Kind))
	if err != nil {
		req.trace.fail(err.Error())
		return refusal(req.UID, http.StatusBadRequest, err.Error())
	}
	pod := obj.(*corev1.Pod)
	req.trace.begin(SpanDefault)
	// A broken default must not stop deployments: admit unchanged.
	defer func() {
		if p := recover(); p != nil {
			req.trace.fail("internal error while defaulting; the Pod is admitted unchanged")
			h.Metrics.InternalError(EndpointMutate)
			req.logger().Error("defaulting failed; the Pod is admitted unchanged", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			resp = allowed(req.UID, "")
			resp.Warnings = []string{"plimsoll could not apply its defaults (internal error); the Pod was admitted unchanged"}
		}
	}()
	// Default in place: the decoded Pod is this request's own. A Pod with
	// nothing to default — most Pods, in a cluster that follows the
	// policy — is then never copied or encoded; for one with something to
	// default, the round trip the patch is measured against is decoded
	// again from the request below.
	t, _ := workload.Find(pod)
	p := h.Policy.Load()
	changes := mutate.Template(t, p.Defaults)
	req.defaulted = changes
	if len(changes) == 0 {
		return allowed(req.UID, "")
	}
	for _, f := range changes.Families() {
		h.Metrics.Defaulted(string(f), req.mode)
	}
	if req.mode == Audit {
		resp = allowed(req.UID, "")
		resp.AuditAnnotations = map[string]string{"would-default": describeChanges(changes)}
		return resp
	}
	// Both encodings go into pooled buffers: they live only until the
	// patch is written.
	rtBuf, afterBuf := getBuffer(), getBuffer()
	defer putBuffer(rtBuf)
	defer putBuffer(afterBuf)
	// The same bytes decoded the same way a moment ago: this cannot fail.
	asSent, err := pipeline.Decode(req.Object.Raw, schema.GroupVersionKind(req.Kind))
	if err != nil {
		panic(err)
	}
	if err := json.NewEncoder(rtBuf).Encode(asSent); err != nil {
		return refusal(req.UID, http.StatusBadRequest, "the Pod cannot be encoded: "+err.Error())
	}
	roundTrip := rtBuf.Bytes()
	mutate.Annotate(&pod.ObjectMeta, changes)
	if err := json.NewEncoder(afterBuf).Encode(pod); err != nil {
		panic(err)
	}
	after := afterBuf.Bytes()
	patch, ops, err := patchFor(req.Object.Raw, roundTrip, after)
	if err != nil {
		panic(err)
	}
	if req.trace != nil {
		req.trace.patchOps = ops
	}
	resp = allowed(req.UID, "")
	if len(patch) > 0 {
		pt := admissionv1.PatchTypeJSONPatch
		resp.Patch, resp.PatchType = patch, &pt
	}
	return resp
}

// describeChanges says what defaulting wrote, per family and container.
func describeChanges(cs mutate.Changes) string {
	meta := &metav1.ObjectMeta{}
	mutate.Annotate(meta, cs)
	return meta.Annotations[mutate.AnnotationKey]
}

// ---- validate: Pods, workloads and ephemeral containers ----

func (h *Handler) validate(req *request) (resp *admissionv1.AdmissionResponse) {
	switch req.Operation {
	case admissionv1.Delete, admissionv1.Connect:
		return allowed(req.UID, "")
	case admissionv1.Create, admissionv1.Update:
	default:
		return refusal(req.UID, http.StatusBadRequest, fmt.Sprintf("unknown operation %q", req.Operation))
	}
	gvk := schema.GroupVersionKind(req.Kind)
	if !workload.Supported(gvk) {
		return allowed(req.UID, fmt.Sprintf("plimsoll does not judge kind %s of %s; allowed", gvk.Kind, gvk.GroupVersion()))
	}
	ephemeral := req.SubResource == "ephemeralcontainers" && gvk.Kind == "Pod"
	if req.SubResource != "" && !ephemeral {
		return allowed(req.UID, fmt.Sprintf("plimsoll does not judge the %s subresource; allowed", req.SubResource))
	}
	if len(req.Object.Raw) == 0 {
		return refusal(req.UID, http.StatusBadRequest, "the request carries no object to judge")
	}
	preq := pipeline.Request{Operation: pipeline.Operation(req.Operation), Subresource: req.SubResource, Namespace: req.Namespace}
	var err error
	if preq.Object, err = pipeline.Decode(req.Object.Raw, gvk); err != nil {
		req.trace.fail(err.Error())
		return refusal(req.UID, http.StatusBadRequest, err.Error())
	}
	if req.Operation == admissionv1.Update && len(req.OldObject.Raw) > 0 {
		if preq.Old, err = pipeline.Decode(req.OldObject.Raw, gvk); err != nil {
			req.trace.fail("oldObject: " + err.Error())
			return refusal(req.UID, http.StatusBadRequest, "oldObject: "+err.Error())
		}
	}
	if req.trace != nil {
		req.trace.begin(SpanCheck)
		preq.AroundDefault = req.trace.aroundDefault
	}

	defer func() {
		if p := recover(); p != nil {
			req.trace.fail("internal error while validating")
			h.Metrics.InternalError(EndpointValidate)
			req.logger().Error("validation failed", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			resp = h.internalError(req)
		}
	}()

	p := h.Policy.Load()
	res, err := pipeline.Evaluate(h.rules(p), p, preq)
	if err != nil {
		req.trace.fail(err.Error())
		return refusal(req.UID, http.StatusBadRequest, err.Error())
	}
	req.violations = res.Violations
	for _, v := range res.Violations {
		h.Metrics.Violation(v.Rule.ID, string(v.Severity), req.mode)
		if v.Waiver != nil {
			h.Metrics.Exemption(v.Rule.ID, v.Waiver.Source)
		}
	}
	return decide(req, res.Template, res.Violations)
}

// internalError answers a failure of plimsoll itself as the mode's
// failurePolicy would: deny in enforce, admit with a warning otherwise.
func (h *Handler) internalError(req *request) *admissionv1.AdmissionResponse {
	const msg = "plimsoll could not judge this object (internal error)"
	if req.mode == Enforce {
		return refusal(req.UID, http.StatusInternalServerError, msg+"; enforce mode refuses what it cannot judge, try again or ask your cluster operator")
	}
	resp := allowed(req.UID, "")
	if req.mode == Warn {
		resp.Warnings = []string{msg + "; admitted because this namespace is in warn mode"}
	}
	return resp
}

// decide turns violations into an answer according to the mode.
func decide(req *request, t *workload.Template, vs []validate.Violation) *admissionv1.AdmissionResponse {
	resp := allowed(req.UID, "")
	if len(vs) == 0 {
		return resp
	}
	if req.mode == Audit {
		resp.AuditAnnotations = auditAnnotations(vs)
		return resp
	}
	if req.mode == Enforce && slices.ContainsFunc(vs, validate.Violation.Denies) {
		denied := validate.Denied(vs)
		lines := make([]string, 0, min(len(denied), maxDenialLines+1))
		causes := make([]metav1.StatusCause, 0, min(len(denied), maxCauses))
		for i, v := range denied {
			if i < maxDenialLines {
				lines = append(lines, v.ShortMessage())
			}
			if i < maxCauses {
				causes = append(causes, metav1.StatusCause{Type: metav1.CauseTypeForbidden, Field: v.Path, Message: v.ShortMessage()})
			}
		}
		if extra := len(denied) - maxDenialLines; extra > 0 {
			lines = append(lines, fmt.Sprintf("… and %d more; run `plimsoll check -f <manifest>` to see them all", extra))
		}
		where := t.Describe()
		if req.Namespace != "" {
			where += fmt.Sprintf(" in namespace %q", req.Namespace)
		}
		noun := "violation"
		if len(denied) > 1 {
			noun = "violations"
		}
		msg := fmt.Sprintf("plimsoll denied %s: %d %s of enforced rules:\n%s", where, len(denied), noun, strings.Join(lines, "\n"))
		resp.Allowed = false
		resp.Result = &metav1.Status{
			Status:  metav1.StatusFailure,
			Code:    http.StatusForbidden,
			Reason:  metav1.StatusReasonForbidden,
			Message: msg,
			Details: &metav1.StatusDetails{Name: req.Name, Kind: req.Kind.Kind, Causes: causes},
		}
	}
	resp.Warnings = warnings(req.mode, vs)
	if ex := exempted(vs); len(ex) > 0 {
		resp.AuditAnnotations = map[string]string{"exempted": strings.Join(bounded(ex), "; ")}
	}
	return resp
}

// Limits that keep answers within what the API server passes on: it
// truncates admission warnings beyond 4 KiB in all, and a denial message is
// read by a person.
const (
	maxWarnings     = 12
	maxDenialLines  = 20
	maxCauses       = 100
	maxAuditEntries = 50
)

// warnings are what a client is told without being refused: every
// violation not denied, and one line for what defaulting will fix; at most
// maxWarnings lines.
func warnings(mode Mode, vs []validate.Violation) []string {
	var out []string
	var fixable []string
	var expired []int
	for _, v := range vs {
		for _, i := range v.ExpiredExemptions {
			if !slices.Contains(expired, i) {
				expired = append(expired, i)
			}
		}
		switch {
		case v.Waiver != nil:
			// exempted: recorded in the audit annotation and metrics only
		case v.Fixable:
			if !slices.Contains(fixable, v.Rule.ID) {
				fixable = append(fixable, v.Rule.ID)
			}
		case v.Denies() && mode == Enforce:
			// in the denial message
		case v.Preexisting && v.Severity == policy.Error:
			out = append(out, v.ShortMessage()+" (already there before this update, so not denied; please fix)")
		case v.Severity == policy.Error && mode == Warn:
			out = append(out, v.ShortMessage()+" (enforce mode would deny this)")
		default:
			out = append(out, v.ShortMessage())
		}
	}
	if len(out) > maxWarnings {
		extra := len(out) - maxWarnings + 1
		out = append(out[:maxWarnings-1], fmt.Sprintf("… and %d more warnings; run `plimsoll check -f <manifest>` to see them all", extra))
	}
	if len(fixable) > 0 {
		out = append(out, fmt.Sprintf("plimsoll will default what these rules ask for on the Pods: %s (see the plimsoll.dev/mutations annotation on each Pod)", strings.Join(fixable, ", ")))
	}
	for _, i := range expired {
		out = append(out, fmt.Sprintf("policy exemption %d has expired and no longer applies to this object; renew or remove it in the policy", i))
	}
	return out
}

// auditAnnotations record, for the API server's audit log, what enforce
// mode would have done. The API server prefixes each key with the
// webhook's name.
func auditAnnotations(vs []validate.Violation) map[string]string {
	var deny, warn, fix, exempt []string
	for _, v := range vs {
		switch {
		case v.Waiver != nil:
			exempt = append(exempt, exemptionEntry(v))
		case v.Fixable:
			fix = append(fix, v.ShortMessage())
		case v.Denies():
			deny = append(deny, v.ShortMessage())
		default:
			warn = append(warn, v.ShortMessage())
		}
	}
	out := map[string]string{}
	decision := "would-allow"
	if len(deny) > 0 {
		decision = "would-deny"
		out["would-deny"] = strings.Join(bounded(deny), "; ")
	}
	if len(warn) > 0 {
		out["would-warn"] = strings.Join(bounded(warn), "; ")
	}
	if len(fix) > 0 {
		out["would-default"] = strings.Join(bounded(fix), "; ")
	}
	if len(exempt) > 0 {
		out["exempted"] = strings.Join(bounded(exempt), "; ")
	}
	out["decision"] = decision
	return out
}

// bounded keeps an audit annotation to maxAuditEntries entries.
func bounded(entries []string) []string {
	if len(entries) <= maxAuditEntries {
		return entries
	}
	return append(entries[:maxAuditEntries:maxAuditEntries], fmt.Sprintf("… and %d more", len(entries)-maxAuditEntries))
}

// exempted lists the violations an exemption lifted, as the audit
// annotation "exempted" names them.
func exempted(vs []validate.Violation) []string {
	var out []string
	for _, v := range vs {
		if v.Waiver != nil {
			out = append(out, exemptionEntry(v))
		}
	}
	return out
}

func exemptionEntry(v validate.Violation) string {
	return fmt.Sprintf("[%s] %s: %s", v.Rule.ID, v.Path, v.Waiver)
}
