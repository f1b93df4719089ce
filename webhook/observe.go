package webhook

import (
	"context"
	"log/slog"
	"slices"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/plimsoll/plimsoll/admission"
	"github.com/plimsoll/plimsoll/validate"
)

// What a request came to is recorded once, when it is answered (see
// Handler.answer): the metrics and the decision log line here, the span in
// tracing.go. The handler's steps only say what they found (the exchange's
// violations, defaults and patch); they count and log nothing themselves,
// except what only they can know (a deadline passed, a panic).

// record counts x in the metrics and writes its decision log line.
func (h *Handler) record(x *exchange, decision admission.Decision, took time.Duration) {
	operation := "unknown"
	kind := x.kind
	if x.AdmissionRequest != nil {
		operation = metricOperation(x.Operation)
	} else {
		kind = "unknown"
	}
	h.Metrics.Request(x.endpoint, x.mode, kind, operation, decision, took)
	for _, v := range x.violations {
		h.Metrics.Violation(v.Rule.ID, string(v.Severity), x.mode)
		if v.Waiver != nil {
			h.Metrics.Exemption(v.Rule.ID, v.Waiver.Source)
		}
	}
	for _, f := range x.defaulted.Families() {
		h.Metrics.Defaulted(string(f), x.mode)
	}
	if x.AdmissionRequest != nil {
		h.logDecision(x.ctx, x, decision, took)
	}
}

// metricKind bounds the kind label to the kinds plimsoll judges.
func metricKind(gvk metav1.GroupVersionKind) string {
	if judged(schema.GroupVersionKind(gvk)) {
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
func (h *Handler) logDecision(ctx context.Context, x *exchange, decision admission.Decision, took time.Duration) {
	level := decisionLevel(x, decision)
	if !h.Log.Enabled(ctx, level) {
		return
	}
	// The request's uid, endpoint and mode are what x.logger() carries;
	// they are written directly here rather than through a derived logger,
	// which would format them once more per request.
	attrs := make([]slog.Attr, 0, 16)
	attrs = append(attrs,
		slog.String("uid", string(x.uid)),
		slog.String("endpoint", x.endpoint),
		slog.String("mode", string(x.mode)),
		slog.String("decision", decision),
		slog.String("namespace", x.Namespace),
		slog.String("kind", x.Kind.Kind),
		slog.String("name", x.Name),
		slog.String("operation", string(x.Operation)),
		slog.String("user", x.UserInfo.Username),
		slog.Float64("latency_ms", float64(took.Microseconds())/1000),
	)
	if x.SubResource != "" {
		attrs = append(attrs, slog.String("subresource", x.SubResource))
	}
	if len(x.violations) > 0 {
		ids := make([]string, 0, len(x.violations))
		for _, v := range x.violations {
			if !slices.Contains(ids, v.Rule.ID) {
				ids = append(ids, v.Rule.ID)
			}
		}
		attrs = append(attrs, slog.Any("rules", ids))
		if x.mode != admission.Enforce {
			var would []string
			for _, v := range x.violations {
				if v.Denies() && !slices.Contains(would, v.Rule.ID) {
					would = append(would, v.Rule.ID)
				}
			}
			if len(would) > 0 {
				attrs = append(attrs, slog.Any("would_deny", would))
			}
		}
	}
	if fams := x.defaulted.Families(); len(fams) > 0 {
		attrs = append(attrs, slog.Any("defaulted", fams))
	}
	if x.contextSkipped != "" {
		attrs = append(attrs, slog.String("context", "skipped"), slog.String("context_reason", x.contextSkipped))
	}
	if id := x.trace.traceID(); id != "" {
		attrs = append(attrs, slog.String("trace_id", id))
	}
	msg := "admission decision"
	if x.mode == admission.Audit {
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
func decisionLevel(x *exchange, decision admission.Decision) slog.Level {
	switch {
	case decision != admission.Allowed && decision != admission.Warned:
		return slog.LevelInfo
	case x.mode == admission.Audit && (len(x.violations) > 0 || len(x.defaulted) > 0):
		return slog.LevelInfo
	case x.mode == admission.Warn && slices.ContainsFunc(x.violations, validate.Violation.Denies):
		return slog.LevelInfo
	}
	return slog.LevelDebug
}
