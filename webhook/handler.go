package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/plimsoll/plimsoll/admission"
	"github.com/plimsoll/plimsoll/cluster"
	"github.com/plimsoll/plimsoll/internal/jsondiff"
	"github.com/plimsoll/plimsoll/mutate"
	"github.com/plimsoll/plimsoll/pipeline"
	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/validate"
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
	// beyond it is answered at once, as a failure of plimsoll's (see
	// admission.Failure), instead of queueing behind the others until the
	// API server's deadline has passed.
	MaxInFlight int
	Log         *slog.Logger
	Metrics     Recorder
	// Tracer, when set, traces each request (see tracing.go); nil: off.
	Tracer trace.Tracer
	// Propagator reads the caller's trace context (W3C trace context if
	// nil). Used only with Tracer.
	Propagator propagation.TextMapPropagator
	// Cluster is what the context rules read at admission (see
	// context.go); nil: plimsoll serve has no access to the cluster, and
	// they are skipped.
	Cluster ClusterView

	// ruleSet caches the rules the policy in force leaves on; see rules.
	ruleSet atomic.Pointer[ruleSet]
	// inFlight counts the requests being judged, against MaxInFlight.
	inFlight atomic.Int64
	// saidNotSynced and saidNoCluster: the first request judged without
	// the context rules, for each reason, has been logged.
	saidNotSynced, saidNoCluster atomic.Bool
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

// serve is the path every AdmissionReview takes, read top to bottom:
//
//  1. observe: the clock starts, and the server span if tracing is on;
//  2. read the review and the mode its path names (or refuse it);
//  3. judge it — /mutate defaults a Pod, /validate checks the rules —
//     through the pipeline, and decide by mode (package admission);
//  4. answer (one place for all of it, even after a panic): set the UID,
//     record the metrics and the decision log line, write the review,
//     end the span.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, endpoint string) {
	x := h.observe(r, endpoint)
	ctx, cancel := requestContext(r)
	defer cancel()
	x.ctx = ctx
	within := h.enter()
	defer h.leave()
	defer h.answer(w, x)

	x.step(SpanDecode)
	if !h.read(r, x) {
		return
	}
	switch {
	case !within:
		x.answer = h.overloaded(x)
	case endpoint == EndpointMutate:
		x.answer = h.mutate(x)
	default:
		x.answer = h.validate(x)
	}
}

// exchange is one AdmissionReview on its way through serve: the request,
// once read, and what the answer and the observers (metrics, the decision
// log line, tracing) need to say about it.
type exchange struct {
	*admissionv1.AdmissionRequest // nil until read
	endpoint                      string
	mode                          admission.Mode
	uid                           types.UID
	apiVersion                    string // of the review, to answer in
	start                         time.Time
	// ctx ends when the API server stops waiting for the answer (its
	// ?timeout=) or the connection closes; work stops with it.
	ctx   context.Context
	base  *slog.Logger
	log   *slog.Logger // base with the request's uid, endpoint and mode; see logger
	trace *spans       // nil when tracing is off
	// what the request came to
	kind       string // bounded, for metrics (see metricKind)
	violations []validate.Violation
	defaulted  mutate.Changes
	patchOps   int
	answer     admission.Answer
	// contextSkipped is why the context rules did not judge the request
	// though the policy has them on (see context.go); "" when they did,
	// or had nothing to judge.
	contextSkipped string
	// subject is what a denial's details name.
	subjectName, subjectKind string
}

// observe starts watching a request: the clock, and the server span when
// tracing is on.
func (h *Handler) observe(r *http.Request, endpoint string) *exchange {
	return &exchange{endpoint: endpoint, start: time.Now(), base: h.Log, trace: h.startSpans(r, endpoint)}
}

// step begins a step of the request's story (a child span when tracing).
func (x *exchange) step(name string) { x.trace.begin(name) }

// podCreate reports whether the request creates a Pod (not a
// subresource of one): what /mutate defaults, and what /validate judges as
// it arrives in enforce and warn.
func (x *exchange) podCreate() bool {
	return x.Kind.Kind == "Pod" && x.Kind.Group == "" && x.Operation == admissionv1.Create && x.SubResource == ""
}

// logger returns the per-request logger, carrying the request's uid,
// endpoint and mode. It is built on first use: the allow path logs nothing
// above debug and should not pay for a logger it does not use.
func (x *exchange) logger() *slog.Logger {
	if x.log == nil {
		x.log = x.base.With("uid", x.uid, "endpoint", x.endpoint, "mode", string(x.mode))
		if id := x.trace.traceID(); id != "" {
			x.log = x.log.With("trace_id", id)
		}
	}
	return x.log
}

// read reads the AdmissionReview and the mode the path names into x. A
// request that cannot be read is refused (x.answer) and read returns
// false.
func (h *Handler) read(r *http.Request, x *exchange) bool {
	limit := h.MaxRequestBytes
	if limit <= 0 {
		limit = DefaultMaxRequestBytes
	}
	mode, modeErr := admission.ParseMode(r.PathValue("mode"))
	x.mode = mode
	review, err := readReview(r, limit)
	if review != nil {
		x.uid, x.apiVersion = review.Request.UID, review.APIVersion
	}
	if err == nil && modeErr != nil {
		err = &badRequest{code: http.StatusNotFound, msg: modeErr.Error()}
	}
	if err != nil {
		var br *badRequest
		if !errors.As(err, &br) {
			br = &badRequest{code: http.StatusBadRequest, msg: err.Error()}
		}
		if br.uid != "" {
			x.uid = br.uid
		}
		if br.apiVersion != "" {
			x.apiVersion = br.apiVersion
		}
		if x.mode == "" {
			x.mode = "unknown"
		}
		h.Log.Warn("refused a malformed admission request", "uid", x.uid, "endpoint", x.endpoint, "path", r.URL.Path, "code", br.code, "reason", br.msg, "remote", r.RemoteAddr)
		x.trace.fail(br.msg)
		x.answer = admission.Refusal(br.code, br.msg)
		return false
	}
	if h.DryRun {
		x.mode = admission.Audit
	}
	x.AdmissionRequest = review.Request
	x.kind = metricKind(review.Request.Kind)
	return true
}

// ---- mutate: Pods on CREATE ----

// mutate defaults a Pod on CREATE and answers with the patch that writes
// the defaults (in audit mode: with an audit annotation saying what it
// would have written).
func (h *Handler) mutate(x *exchange) admission.Answer {
	if !x.podCreate() {
		return admission.Admit("plimsoll defaults Pods on CREATE only; nothing to do")
	}
	if len(x.Object.Raw) == 0 {
		return admission.Refusal(http.StatusBadRequest, "the request carries no object to default")
	}
	gvk := schema.GroupVersionKind(x.Kind)
	obj, err := pipeline.Decode(x.Object.Raw, gvk)
	if err != nil {
		x.trace.fail(err.Error())
		return admission.Refusal(http.StatusBadRequest, err.Error())
	}
	x.step(SpanDefault)
	// Defaulted in place: the decoded Pod is this request's own. A Pod
	// with nothing to default — most Pods, in a cluster that follows the
	// policy — is then never copied or encoded; for one with something
	// to default, the round trip the patch is measured against is decoded
	// again from the request below.
	p := h.Policy.Load()
	var around cluster.View
	if t := p.Defaults.ServiceAccountToken; t != nil && !*t {
		// The one default that reads another object: the Pod's
		// ServiceAccount, from the cache (none yet: not written).
		around, _ = h.clusterFor(x, p.ContextRulesOn())
	}
	d, err := pipeline.Default(p, pipeline.Request{
		Object: obj, Operation: pipeline.Create, Namespace: x.Namespace, Requester: x.UserInfo.Username, Cluster: around,
	})
	if err != nil {
		panic(err) // a Pod always has a template: see answer for what a panic becomes
	}
	if len(d.Changes) == 0 {
		return admission.Admit("")
	}
	if x.ctx.Err() != nil {
		return h.outOfTime(x)
	}
	x.defaulted = d.Changes
	if x.mode == admission.Audit {
		a := admission.Admit("")
		a.AuditAnnotations = map[string]string{"would-default": describeChanges(d.Changes)}
		return a
	}
	// Both encodings go into pooled buffers: they live only until the
	// patch is written. Sized once for what they will hold (the round
	// trip is about the request's size, the defaulted Pod larger),
	// rather than grown and copied again and again for a Pod of many
	// containers.
	rtBuf, afterBuf := getBuffer(), getBuffer()
	defer putBuffer(rtBuf)
	defer putBuffer(afterBuf)
	rtBuf.Grow(len(x.Object.Raw) + len(x.Object.Raw)/4)
	afterBuf.Grow(2 * len(x.Object.Raw))
	// The same bytes decoded the same way a moment ago: this cannot fail.
	asSent, err := pipeline.Decode(x.Object.Raw, gvk)
	if err != nil {
		panic(err)
	}
	if err := json.NewEncoder(rtBuf).Encode(asSent); err != nil {
		return admission.Refusal(http.StatusBadRequest, "the Pod cannot be encoded: "+err.Error())
	}
	if err := json.NewEncoder(afterBuf).Encode(d.Template.Object); err != nil {
		panic(err)
	}
	patch, ops, err := jsondiff.Patch(x.Object.Raw, rtBuf.Bytes(), afterBuf.Bytes())
	if err != nil {
		panic(err)
	}
	x.patchOps = ops
	a := admission.Admit("")
	a.Patch = patch
	return a
}

// describeChanges says what defaulting wrote, per family and container.
func describeChanges(cs mutate.Changes) string {
	meta := &metav1.ObjectMeta{}
	mutate.Annotate(meta, cs)
	return meta.Annotations[mutate.AnnotationKey]
}

// ---- validate: Pods, workloads and ephemeral containers ----

// validate checks the object against the rules and decides by mode.
func (h *Handler) validate(x *exchange) admission.Answer {
	switch x.Operation {
	case admissionv1.Delete, admissionv1.Connect:
		return admission.Admit("")
	case admissionv1.Create, admissionv1.Update:
	default:
		return admission.Refusal(http.StatusBadRequest, fmt.Sprintf("unknown operation %q", x.Operation))
	}
	gvk := schema.GroupVersionKind(x.Kind)
	if !judged(gvk) {
		return admission.Admit(fmt.Sprintf("plimsoll does not judge kind %s of %s; allowed", gvk.Kind, gvk.GroupVersion()))
	}
	ephemeral := x.SubResource == "ephemeralcontainers" && gvk.Kind == "Pod"
	if x.SubResource != "" && !ephemeral {
		return admission.Admit(fmt.Sprintf("plimsoll does not judge the %s subresource; allowed", x.SubResource))
	}
	if len(x.Object.Raw) == 0 {
		return admission.Refusal(http.StatusBadRequest, "the request carries no object to judge")
	}
	p := h.Policy.Load()
	req := pipeline.Request{
		Operation: pipeline.Operation(x.Operation), Subresource: x.SubResource, Namespace: x.Namespace,
		// A Pod CREATE is judged as it arrives except in audit mode, which
		// answers "what would enforce do" (see pipeline.Request).
		PodDefaulted: x.mode == admission.Audit,
		Requester:    x.UserInfo.Username,
		Context:      x.ctx,
		// The context rules read a cache that may lag (apply order
		// varies): at admission they only warn, and never wait for it.
		ContextWarnsOnly: true,
	}
	var skipped string
	req.Cluster, skipped = h.clusterFor(x, p.ContextRulesOn())
	var err error
	if req.Object, err = pipeline.Decode(x.Object.Raw, gvk); err != nil {
		x.trace.fail(err.Error())
		return admission.Refusal(http.StatusBadRequest, err.Error())
	}
	if x.Operation == admissionv1.Update && len(x.OldObject.Raw) > 0 {
		if req.Old, err = pipeline.Decode(x.OldObject.Raw, gvk); err != nil {
			x.trace.fail("oldObject: " + err.Error())
			return admission.Refusal(http.StatusBadRequest, "oldObject: "+err.Error())
		}
	}
	x.step(SpanCheck)
	if x.trace != nil {
		req.AroundDefault = x.trace.aroundDefault
	}
	res, err := pipeline.Evaluate(h.rules(p), p, req)
	if err != nil && x.ctx.Err() != nil {
		x.trace.fail(err.Error())
		return h.outOfTime(x)
	}
	if err != nil {
		x.trace.fail(err.Error())
		return admission.Refusal(http.StatusBadRequest, err.Error())
	}
	x.violations = res.Violations
	if skipped != "" {
		x.contextSkipped = skipped
		h.contextSkipped(skipped)
	}
	x.subjectName, x.subjectKind = x.Name, x.Kind.Kind
	return admission.Decide(x.mode, admission.Subject{
		Description: res.Template.Describe(),
		Namespace:   x.Namespace,
		// In enforce and warn a Pod CREATE is judged as it arrived (see
		// pipeline.Request.PodDefaulted), so a denial for a rule
		// defaulting fixes means defaulting did not run for it.
		PodCreate: x.podCreate(),
	}, res.Violations)
}

// ---- failures and the answer ----

// overloaded answers a request beyond MaxInFlight at once, unjudged, as a
// failure of plimsoll's own: denied in enforce (which refuses what it
// cannot judge), admitted with a warning in warn, admitted in audit. The
// API server's retry, or the controller's, comes back when the load is
// over.
func (h *Handler) overloaded(x *exchange) admission.Answer {
	x.logger().Warn("too many requests in flight; answered without judging", "max_in_flight", h.MaxInFlight)
	return admission.Failure(x.mode, admission.CodeTooManyRequests, admission.AtCapacity(h.MaxInFlight))
}

// outOfTime answers a request whose deadline passed while plimsoll worked
// on it (the API server has stopped waiting; the answer is for the log and
// the metrics).
func (h *Handler) outOfTime(x *exchange) admission.Answer {
	h.Metrics.InternalError(x.endpoint)
	x.logger().Error("the request's deadline passed before plimsoll could answer; work stopped", "error", context.Cause(x.ctx).Error())
	return admission.Failure(x.mode, admission.CodeDeadline, admission.OutOfTime)
}

// answer ends every request, whatever happened on the way: a panic is
// answered as the mode's failure policy asks (admission.Failure: in
// enforce a Pod plimsoll failed to default or judge is refused, never
// admitted unchanged); the answer carries the request's UID; the metrics
// and the decision log line record it; the review is written; the span
// ends.
func (h *Handler) answer(w http.ResponseWriter, x *exchange) {
	if p := recover(); p != nil {
		what, failed, logged := admission.CouldNotJudge, "internal error while validating", "validation failed"
		if x.endpoint == EndpointMutate {
			what, failed, logged = admission.CouldNotDefault, "internal error while defaulting", "defaulting failed"
		}
		x.trace.fail(failed)
		h.Metrics.InternalError(x.endpoint)
		x.logger().Error(logged, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		x.answer = admission.Failure(x.mode, admission.CodeInternalError, what)
	}
	resp := response(x.uid, x.answer, x.subjectName, x.subjectKind)
	decision := x.answer.Decision()
	h.record(x, decision, time.Since(x.start))
	x.step(SpanEncode)
	writeReview(w, x.apiVersion, resp)
	x.trace.finish(x, decision)
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

// ruleSet is Rules without those a policy turns off, worked out once per
// policy version (a reload stores a new *policy.Policy).
type ruleSet struct {
	policy *policy.Policy
	from   []*validate.Rule // the Rules it was made from
	rules  []*validate.Rule
}

func sameRules(a, b []*validate.Rule) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
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
