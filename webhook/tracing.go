package webhook

import (
	"context"
	"net/http"
	"slices"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/plimsoll/plimsoll/admission"
)

// Tracing, when Handler.Tracer is set: each admission request is one server
// span, a child of the trace context the API server sends (traceparent),
// with one child span per step of the request's story:
//
//	decode   reading the AdmissionReview and decoding the object
//	default  defaulting a copy: on /mutate the Pod and its patch; on
//	         /validate the copy a workload is judged on, inside check,
//	         only when a rule needs it
//	check    running the rules and deciding by mode (/validate)
//	encode   writing the answer
//
// Spans carry what the decision log line carries — uid, kind, namespace,
// name, operation, endpoint, mode, decision, rule IDs — and never an
// object's body or any field value (env values, images, annotations).
//
// Tracing off (Tracer nil, the default) costs nothing: serve never creates
// a span or a context, and every method of a nil *spans does nothing.

// TracerName is the instrumentation scope of plimsoll's spans.
const TracerName = "github.com/plimsoll/plimsoll/webhook"

// Names of the step spans.
const (
	SpanDecode  = "decode"
	SpanDefault = "default"
	SpanCheck   = "check"
	SpanEncode  = "encode"
)

// Attributes of the server span.
const (
	AttrUID             = attribute.Key("plimsoll.admission.uid")
	AttrEndpoint        = attribute.Key("plimsoll.admission.endpoint")
	AttrMode            = attribute.Key("plimsoll.admission.mode")
	AttrOperation       = attribute.Key("plimsoll.admission.operation")
	AttrKind            = attribute.Key("plimsoll.admission.kind")
	AttrSubresource     = attribute.Key("plimsoll.admission.subresource")
	AttrNamespace       = attribute.Key("plimsoll.admission.namespace")
	AttrName            = attribute.Key("plimsoll.admission.name")
	AttrDryRun          = attribute.Key("plimsoll.admission.dry_run")
	AttrDecision        = attribute.Key("plimsoll.admission.decision")
	AttrViolations      = attribute.Key("plimsoll.admission.violations")
	AttrRules           = attribute.Key("plimsoll.admission.rules")
	AttrDefaulted       = attribute.Key("plimsoll.admission.defaulted")
	AttrPatchOperations = attribute.Key("plimsoll.admission.patch_operations")
)

// maxSpanRules bounds the rule IDs on a span.
const maxSpanRules = 20

// spanNames are the server spans' names, "{method} {route}" as OpenTelemetry's
// HTTP conventions name server spans; a method other than POST (refused
// anyway) is named HTTP, keeping names few.
var spanNames = map[string][2]string{
	EndpointMutate:   {"POST /mutate/{mode}", "HTTP /mutate/{mode}"},
	EndpointValidate: {"POST /validate/{mode}", "HTTP /validate/{mode}"},
}

// spans is one request's trace: the server span and the step in progress.
type spans struct {
	tracer trace.Tracer
	ctx    context.Context // carries server
	server trace.Span
	step   trace.Span // nil between steps
	// stepCtx carries step, for spans inside it (default inside check).
	stepCtx context.Context
	// failure is the first step failure, "" if none.
	failure string
}

// startSpans starts the server span of r, or returns nil when tracing is off.
func (h *Handler) startSpans(r *http.Request, endpoint string) *spans {
	if h.Tracer == nil {
		return nil
	}
	prop := h.Propagator
	if prop == nil {
		prop = propagation.TraceContext{}
	}
	ctx := prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
	names := spanNames[endpoint]
	name, method := names[0], r.Method
	if method != http.MethodPost {
		name = names[1]
		if !slices.Contains([]string{http.MethodGet, http.MethodHead, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace}, method) {
			method = "_OTHER"
		}
	}
	ctx, server := h.Tracer.Start(ctx, name,
		trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(
			attribute.String("http.request.method", method),
			attribute.String("http.route", "/"+endpoint+"/{mode}"),
			attribute.String("url.path", r.URL.Path),
		))
	return &spans{tracer: h.Tracer, ctx: ctx, server: server}
}

// begin ends the step in progress and starts the step name.
func (s *spans) begin(name string) {
	if s == nil {
		return
	}
	s.endStep()
	s.stepCtx, s.step = s.tracer.Start(s.ctx, name)
}

func (s *spans) endStep() {
	if s == nil || s.step == nil {
		return
	}
	s.step.End()
	s.step, s.stepCtx = nil, nil
}

// fail marks the step in progress, and the request, as failed with msg, a
// message fit for a log line: never a field value of the object.
func (s *spans) fail(msg string) {
	if s == nil {
		return
	}
	if s.step != nil {
		s.step.SetStatus(codes.Error, msg)
	}
	if s.failure == "" {
		s.failure = msg
	}
}

// aroundDefault runs the defaulting of a judged copy in a default span,
// a child of the step in progress (check). For pipeline.Request.
func (s *spans) aroundDefault(run func()) {
	_, span := s.tracer.Start(s.stepCtx, SpanDefault)
	defer span.End()
	run()
}

// traceID is the request's trace ID when its spans are recorded, for the
// log lines; "" otherwise.
func (s *spans) traceID() string {
	if s == nil {
		return ""
	}
	sc := s.server.SpanContext()
	if !sc.IsSampled() {
		return ""
	}
	return sc.TraceID().String()
}

// finish ends the step in progress and the server span, saying what x
// came to.
func (s *spans) finish(x *exchange, decision admission.Decision) {
	if s == nil {
		return
	}
	s.endStep()
	if s.server.IsRecording() {
		attrs := make([]attribute.KeyValue, 0, 16)
		attrs = append(attrs,
			attribute.Int("http.response.status_code", http.StatusOK),
			AttrEndpoint.String(x.endpoint),
			AttrMode.String(string(x.mode)),
			AttrDecision.String(decision),
		)
		if x.uid != "" {
			attrs = append(attrs, AttrUID.String(string(x.uid)))
		}
		if x.AdmissionRequest != nil {
			attrs = append(attrs,
				AttrOperation.String(string(x.Operation)),
				AttrKind.String(x.Kind.Kind),
				AttrNamespace.String(x.Namespace),
				AttrName.String(x.Name),
				AttrViolations.Int(len(x.violations)),
			)
			if x.SubResource != "" {
				attrs = append(attrs, AttrSubresource.String(x.SubResource))
			}
			if x.DryRun != nil && *x.DryRun {
				attrs = append(attrs, AttrDryRun.Bool(true))
			}
			if len(x.violations) > 0 {
				ids := make([]string, 0, min(len(x.violations), maxSpanRules))
				for _, v := range x.violations {
					if len(ids) == maxSpanRules {
						break
					}
					if !slices.Contains(ids, v.Rule.ID) {
						ids = append(ids, v.Rule.ID)
					}
				}
				attrs = append(attrs, AttrRules.StringSlice(ids))
			}
			if fams := x.defaulted.Families(); len(fams) > 0 {
				names := make([]string, len(fams))
				for i, f := range fams {
					names[i] = string(f)
				}
				attrs = append(attrs, AttrDefaulted.StringSlice(names))
			}
			if x.endpoint == EndpointMutate {
				attrs = append(attrs, AttrPatchOperations.Int(x.patchOps))
			}
		}
		s.server.SetAttributes(attrs...)
		// An internal error fails the span even when the request was
		// admitted (mutate admits unchanged; warn and audit admit).
		if decision == admission.Errored || s.failure != "" {
			msg := s.failure
			if msg == "" {
				msg = x.answer.Message
			}
			s.server.SetStatus(codes.Error, msg)
		}
	}
	s.server.End()
}
