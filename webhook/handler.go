package webhook

import (
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
	log      *slog.Logger
	// set while handling, for the decision log line
	kind       string
	violations []validate.Violation
	defaulted  mutate.Changes
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request, endpoint string) {
	start := time.Now()
	limit := h.MaxRequestBytes
	if limit <= 0 {
		limit = DefaultMaxRequestBytes
	}
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
		writeReview(w, br.apiVersion, refusal(br.uid, br.code, br.msg))
		return
	}
	if h.DryRun {
		mode = Audit
	}
	req := &request{
		AdmissionRequest: review.Request,
		endpoint:         endpoint,
		mode:             mode,
		kind:             metricKind(review.Request.Kind),
	}
	req.log = h.Log.With("uid", req.UID, "endpoint", endpoint, "mode", string(mode))

	var resp *admissionv1.AdmissionResponse
	if endpoint == EndpointMutate {
		resp = h.mutate(req)
	} else {
		resp = h.validate(req)
	}
	resp.UID = req.UID
	decision := decisionOf(resp)
	took := time.Since(start)
	h.Metrics.Request(endpoint, mode, req.kind, string(req.Operation), decision, took)
	h.logDecision(req, decision, took)
	writeReview(w, review.APIVersion, resp)
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

func (h *Handler) logDecision(req *request, decision string, took time.Duration) {
	attrs := []any{
		"decision", decision,
		"namespace", req.Namespace,
		"kind", req.Kind.Kind,
		"name", req.Name,
		"operation", string(req.Operation),
		"user", req.UserInfo.Username,
		"latency_ms", float64(took.Microseconds()) / 1000,
	}
	if req.SubResource != "" {
		attrs = append(attrs, "subresource", req.SubResource)
	}
	if len(req.violations) > 0 {
		ids := make([]string, 0, len(req.violations))
		for _, v := range req.violations {
			if !slices.Contains(ids, v.Rule.ID) {
				ids = append(ids, v.Rule.ID)
			}
		}
		attrs = append(attrs, "rules", ids)
		if req.mode != Enforce {
			var would []string
			for _, v := range validate.Denied(req.violations) {
				if !slices.Contains(would, v.Rule.ID) {
					would = append(would, v.Rule.ID)
				}
			}
			if len(would) > 0 {
				attrs = append(attrs, "would_deny", would)
			}
		}
	}
	if fams := req.defaulted.Families(); len(fams) > 0 {
		attrs = append(attrs, "defaulted", fams)
	}
	msg := "admission decision"
	if req.mode == Audit {
		msg = "audit record"
	}
	req.log.Info(msg, attrs...)
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
		return refusal(req.UID, http.StatusBadRequest, err.Error())
	}
	pod := obj.(*corev1.Pod)
	// A broken default must not stop deployments: admit unchanged.
	defer func() {
		if p := recover(); p != nil {
			h.Metrics.InternalError(EndpointMutate)
			req.log.Error("defaulting failed; the Pod is admitted unchanged", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			resp = allowed(req.UID, "")
			resp.Warnings = []string{"plimsoll could not apply its defaults (internal error); the Pod was admitted unchanged"}
		}
	}()
	roundTrip, err := json.Marshal(pod)
	if err != nil {
		return refusal(req.UID, http.StatusBadRequest, "the Pod cannot be encoded: "+err.Error())
	}
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
	mutate.Annotate(&pod.ObjectMeta, changes)
	defaulted, err := json.Marshal(pod)
	if err != nil {
		panic(err)
	}
	ops, err := patchFor(req.Object.Raw, roundTrip, defaulted)
	if err != nil {
		panic(err)
	}
	resp = allowed(req.UID, "")
	if len(ops) > 0 {
		patch, err := json.Marshal(ops)
		if err != nil {
			panic(err)
		}
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
		return refusal(req.UID, http.StatusBadRequest, err.Error())
	}
	if req.Operation == admissionv1.Update && len(req.OldObject.Raw) > 0 {
		if preq.Old, err = pipeline.Decode(req.OldObject.Raw, gvk); err != nil {
			return refusal(req.UID, http.StatusBadRequest, "oldObject: "+err.Error())
		}
	}

	defer func() {
		if p := recover(); p != nil {
			h.Metrics.InternalError(EndpointValidate)
			req.log.Error("validation failed", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			resp = h.internalError(req)
		}
	}()

	res, err := pipeline.Evaluate(h.Rules, h.Policy.Load(), preq)
	if err != nil {
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
	where := t.Describe()
	if req.Namespace != "" {
		where += fmt.Sprintf(" in namespace %q", req.Namespace)
	}
	if req.mode == Audit {
		resp.AuditAnnotations = auditAnnotations(vs)
		return resp
	}
	denied := validate.Denied(vs)
	if req.mode == Enforce && len(denied) > 0 {
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
	if ex := auditAnnotations(vs)["exempted"]; ex != "" {
		resp.AuditAnnotations = map[string]string{"exempted": ex}
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
			exempt = append(exempt, fmt.Sprintf("[%s] %s: %s", v.Rule.ID, v.Path, v.Waiver))
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
