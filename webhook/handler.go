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
	// MaxInFlight caps the requests judged at once (0: no cap). A request
	// beyond it is answered at once, as an error of plimsoll's (see
	// overloaded), instead of queueing behind the others until the API
	// server's deadline has passed.
	MaxInFlight int
	Log         *slog.Logger
	Metrics     Recorder
	// Tracer, when set, traces each request (see tracing.go); nil: off.
	Tracer trace.Tracer
	// Propagator reads the caller's trace context (W3C trace context if
	// nil). Used only with Tracer.
	Propagator propagation.TextMapPropagator

	// ruleSet caches the rules the policy in force leaves on; see rules.
	ruleSet atomic.Pointer[ruleSet]
	// inFlight counts the requests being judged, against MaxInFlight.
	inFlight atomic.Int64
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
	// ctx ends when the API server stops waiting for the answer (its
	// ?timeout=) or the connection closes; work stops with it.
	ctx context.Context
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
	ctx, cancel := requestContext(r)
	defer cancel()
	admitted := h.enter()
	defer h.leave()
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
		ctx:              ctx,
	}

	var resp *admissionv1.AdmissionResponse
	switch {
	case !admitted:
		resp = h.overloaded(req)
	case endpoint == EndpointMutate:
		resp = h.mutate(req)
	default:
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
	case !resp.Allowed && resp.Result != nil && resp.Result.Code == http.StatusTooManyRequests:
		return DecisionOverloaded
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

// requestContext is the request's context, ended by the deadline the API
// server sends with each webhook call (?timeout=10s, the webhook's
// timeoutSeconds): past it the API server has given up on the answer, so
// plimsoll stops working on it.
func requestContext(r *http.Request) (context.Context, context.CancelFunc) {
	if r.URL.RawQuery != "" {
		if d, err := time.ParseDuration(r.URL.Query().Get("timeout")); err == nil && d > 0 {
			return context.WithTimeout(r.Context(), d)
		}
	}
	// No deadline given: the connection's context, which ends if the
	// caller goes away, is enough (and costs nothing more).
	return r.Context(), func() {}
}

// enter counts a request in, and reports whether it is within
// MaxInFlight; leave counts it out, whatever enter said.
func (h *Handler) enter() bool {
	n := h.inFlight.Add(1)
	return h.MaxInFlight <= 0 || n <= int64(h.MaxInFlight)
}

func (h *Handler) leave() { h.inFlight.Add(-1) }

// overloaded answers a request beyond MaxInFlight at once, as a failure
// of plimsoll's own: denied in enforce (which refuses what it cannot
// judge), admitted with a warning in warn, admitted in audit. The API
// server's retry, or the controller's, comes back when the load is over.
func (h *Handler) overloaded(req *request) *admissionv1.AdmissionResponse {
	req.logger().Warn("too many requests in flight; answered without judging", "max_in_flight", h.MaxInFlight)
	msg := fmt.Sprintf("plimsoll is at its limit of %d requests in flight (--max-in-flight) and did not judge this request", h.MaxInFlight)
	return h.failure(req, http.StatusTooManyRequests, msg)
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
	// A broken default is answered as the mode asks (failure): in enforce
	// the Pod is refused, never admitted unchanged — /validate would judge
	// it as it arrives anyway, and say less about why.
	defer func() {
		if p := recover(); p != nil {
			req.trace.fail("internal error while defaulting")
			h.Metrics.InternalError(EndpointMutate)
			req.logger().Error("defaulting failed", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			resp = h.failure(req, http.StatusInternalServerError, "plimsoll could not apply its defaults to this Pod (internal error)")
		}
	}()
	// Default in place: the decoded Pod is this request's own. A Pod with
	// nothing to default — most Pods, in a cluster that follows the
	// policy — is then never copied or encoded; for one with something to
	// default, the round trip the patch is measured against is decoded
	// again from the request below.
	t, _ := workload.Find(pod)
	p := h.Policy.Load()
	pipeline.TrustRequester(t, p, req.UserInfo.Username)
	changes := mutate.Template(t, p.Defaults)
	req.defaulted = changes
	if len(changes) == 0 {
		return allowed(req.UID, "")
	}
	if req.ctx.Err() != nil {
		return h.outOfTime(req)
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
	// Sized once for what they will hold (the round trip is about the
	// request's size, the defaulted Pod larger), rather than grown and
	// copied again and again for a Pod of many containers.
	rtBuf.Grow(len(req.Object.Raw) + len(req.Object.Raw)/4)
	afterBuf.Grow(2 * len(req.Object.Raw))
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
	p := h.Policy.Load()
	preq := pipeline.Request{
		Operation: pipeline.Operation(req.Operation), Subresource: req.SubResource, Namespace: req.Namespace,
		// A Pod CREATE is judged as it arrives except in audit mode, which
		// answers "what would enforce do" (see pipeline.Request).
		PodDefaulted: req.mode == Audit,
		Requester:    req.UserInfo.Username,
		Context:      req.ctx,
	}
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

	res, err := pipeline.Evaluate(h.rules(p), p, preq)
	if err != nil && req.ctx.Err() != nil {
		req.trace.fail(err.Error())
		return h.outOfTime(req)
	}
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
	return h.failure(req, http.StatusInternalServerError, "plimsoll could not judge this object (internal error)")
}

// outOfTime answers a request whose deadline passed while plimsoll worked
// on it (the API server has stopped waiting; the answer is for the log and
// the metrics).
func (h *Handler) outOfTime(req *request) *admissionv1.AdmissionResponse {
	h.Metrics.InternalError(req.endpoint)
	req.logger().Error("the request's deadline passed before plimsoll could answer; work stopped", "error", context.Cause(req.ctx).Error())
	return h.failure(req, http.StatusGatewayTimeout, "plimsoll could not judge this object before the API server's deadline")
}

// failure answers a request plimsoll could not judge (an internal error,
// a deadline, the cap on requests in flight) as its mode asks: enforce
// refuses what it cannot judge, so it denies; warn admits with a
// warning; audit admits and records. /mutate answers the same way: in
// enforce a Pod that could not be defaulted is refused rather than
// admitted unchanged.
func (h *Handler) failure(req *request, code int32, msg string) *admissionv1.AdmissionResponse {
	switch req.mode {
	case Enforce:
		return refusal(req.UID, code, msg+"; enforce mode refuses what it cannot judge: try again, and if it persists ask your cluster operator")
	case Warn:
		resp := allowed(req.UID, "")
		resp.Warnings = []string{msg + "; admitted because this namespace is in warn mode"}
		return resp
	}
	resp := allowed(req.UID, "")
	resp.AuditAnnotations = map[string]string{"error": msg}
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
		// Only the lines and causes shown are written; the rest are
		// counted (a Pod of 30,000 containers may break 400,000 rules).
		var lines []string
		var causes []metav1.StatusCause
		denied := 0
		undefaulted := false
		for i := range vs {
			v := &vs[i]
			if !v.Denies() {
				continue
			}
			if denied < maxDenialLines {
				lines = append(lines, v.ShortMessage())
			}
			if denied < maxCauses {
				causes = append(causes, metav1.StatusCause{Type: metav1.CauseTypeForbidden, Field: v.Path, Message: v.ShortMessage()})
			}
			undefaulted = undefaulted || defaultingFixes(v)
			denied++
		}
		if extra := denied - maxDenialLines; extra > 0 {
			lines = append(lines, fmt.Sprintf("… and %d more; run `plimsoll check -f <manifest>` to see them all", extra))
		}
		where := t.Describe()
		if req.Namespace != "" {
			where += fmt.Sprintf(" in namespace %q", req.Namespace)
		}
		noun := "violation"
		if denied > 1 {
			noun = "violations"
		}
		msg := fmt.Sprintf("plimsoll denied %s: %d %s of enforced rules:\n%s", where, denied, noun, strings.Join(lines, "\n"))
		if undefaulted && podCreate(req) {
			msg += "\n" + notDefaulted
		}
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
	if ex := exempted(vs); ex != "" {
		resp.AuditAnnotations = map[string]string{"exempted": ex}
	}
	return resp
}

// notDefaulted ends the denial of a Pod that arrived without what
// plimsoll's defaulting writes.
const notDefaulted = "Some of these are fields plimsoll's defaulting writes, but it did not run for this Pod " +
	"(its mutating webhook is not registered for this namespace, or timed out): set them in the Pod, " +
	"or ask your cluster operator to check plimsoll's MutatingWebhookConfiguration."

// podCreate reports whether req creates a Pod: in enforce and warn it is
// judged as it arrived (see pipeline.Request.PodDefaulted), so a denial
// for a rule defaulting fixes means defaulting did not run for it.
func podCreate(req *request) bool {
	return req.Kind.Kind == "Pod" && req.Kind.Group == "" && req.Operation == admissionv1.Create && req.SubResource == ""
}

// defaultingFixes reports whether plimsoll's defaulting can write what v's
// rule asks for (in some cases at least).
func defaultingFixes(v *validate.Violation) bool {
	return v.Rule.Defaulted != "" && v.Rule.Defaulted != "no"
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
// maxWarnings lines. Only the lines kept are written: a Pod of 30,000
// containers may have 60,000 warnings to count, and a dozen to say.
func warnings(mode Mode, vs []validate.Violation) []string {
	type warning struct {
		v      *validate.Violation
		suffix string
	}
	var warned []warning
	var fixable []string
	var expired []int
	for i := range vs {
		v := &vs[i]
		for _, e := range v.ExpiredExemptions {
			if !slices.Contains(expired, e) {
				expired = append(expired, e)
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
			warned = append(warned, warning{v, " (already there before this update, so not denied; please fix)"})
		case v.Severity == policy.Error && mode == Warn:
			warned = append(warned, warning{v, " (enforce mode would deny this)"})
		default:
			warned = append(warned, warning{v, ""})
		}
	}
	keep := len(warned)
	if keep > maxWarnings {
		keep = maxWarnings - 1
	}
	out := make([]string, 0, keep+2+len(expired))
	for _, w := range warned[:keep] {
		out = append(out, w.v.ShortMessage()+w.suffix)
	}
	if extra := len(warned) - keep; extra > 0 {
		out = append(out, fmt.Sprintf("… and %d more warnings; run `plimsoll check -f <manifest>` to see them all", extra))
	}
	if len(fixable) > 0 {
		out = append(out, fmt.Sprintf("plimsoll will default what these rules ask for on the Pods: %s (see the plimsoll.dev/mutations annotation on each Pod)", strings.Join(fixable, ", ")))
	}
	for _, i := range expired {
		out = append(out, fmt.Sprintf("policy exemption %d has expired and no longer applies to this object; renew or remove it in the policy", i))
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// auditAnnotations record, for the API server's audit log, what enforce
// mode would have done. The API server prefixes each key with the
// webhook's name.
func auditAnnotations(vs []validate.Violation) map[string]string {
	var deny, warn, fix, exempt entries
	for i := range vs {
		v := &vs[i]
		switch {
		case v.Waiver != nil:
			exempt.add(v, exemptionEntry)
		case v.Fixable:
			fix.add(v, shortMessage)
		case v.Denies():
			deny.add(v, shortMessage)
		default:
			warn.add(v, shortMessage)
		}
	}
	out := map[string]string{}
	decision := "would-allow"
	if deny.n > 0 {
		decision = "would-deny"
		out["would-deny"] = deny.String()
	}
	if warn.n > 0 {
		out["would-warn"] = warn.String()
	}
	if fix.n > 0 {
		out["would-default"] = fix.String()
	}
	if exempt.n > 0 {
		out["exempted"] = exempt.String()
	}
	out["decision"] = decision
	return out
}

// entries gathers the lines of an audit annotation: at most
// maxAuditEntries are written, the rest only counted.
type entries struct {
	lines []string
	n     int
}

func (e *entries) add(v *validate.Violation, line func(*validate.Violation) string) {
	if e.n < maxAuditEntries {
		e.lines = append(e.lines, line(v))
	}
	e.n++
}

func (e *entries) String() string {
	s := strings.Join(e.lines, "; ")
	if extra := e.n - len(e.lines); extra > 0 {
		s += fmt.Sprintf("; … and %d more", extra)
	}
	return s
}

func shortMessage(v *validate.Violation) string { return v.ShortMessage() }

// exempted lists the violations an exemption lifted, as the audit
// annotation "exempted" names them.
func exempted(vs []validate.Violation) string {
	var e entries
	for i := range vs {
		if vs[i].Waiver != nil {
			e.add(&vs[i], exemptionEntry)
		}
	}
	return e.String()
}

func exemptionEntry(v *validate.Violation) string {
	return fmt.Sprintf("[%s] %s: %s", v.Rule.ID, v.Path, v.Waiver)
}
