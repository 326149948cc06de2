// Package tracing holds Lanyard's OpenTelemetry traces: spans of requests,
// logins, IdP metadata fetches and proxied requests, and the W3C
// traceparent of requests sent on. It is off until Enable: then every
// function here returns at once, without allocating, and headers pass
// untouched.
package tracing

import (
	"context"
	"net/http"
	"sync/atomic"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// instrumentation is the name of Lanyard's tracer.
const instrumentation = "github.com/lanyard-sso/lanyard"

var (
	enabled atomic.Bool
	tracer  atomic.Pointer[trace.Tracer]
)

// propagator reads and writes W3C traceparent and tracestate.
var propagator = propagation.TraceContext{}

// Enable sends spans to tp from now on (serve calls it once, when an OTLP
// endpoint is configured).
func Enable(tp trace.TracerProvider) {
	t := tp.Tracer(instrumentation)
	tracer.Store(&t)
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagator)
	enabled.Store(true)
}

// Disable stops making spans (tests; serve's shutdown).
func Disable() { enabled.Store(false) }

// On reports whether traces are made.
func On() bool { return enabled.Load() }

// Start starts a span named name as a child of the span in ctx. Off, it
// returns ctx and the span already there (a no-op one when none).
func Start(ctx context.Context, name string, kind trace.SpanKind, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	if !enabled.Load() {
		return ctx, trace.SpanFromContext(ctx)
	}
	return (*tracer.Load()).Start(ctx, name, trace.WithSpanKind(kind), trace.WithAttributes(attrs...))
}

// Extract continues the trace of an incoming request's traceparent.
func Extract(ctx context.Context, h http.Header) context.Context {
	if !enabled.Load() {
		return ctx
	}
	return propagator.Extract(ctx, propagation.HeaderCarrier(h))
}

// Inject writes the traceparent of the span in ctx into h, replacing any
// traceparent and tracestate the client sent: the upstream sees Lanyard's
// span as the parent. Off, h is left as it is.
func Inject(ctx context.Context, h http.Header) {
	if !enabled.Load() {
		return
	}
	h.Del("Traceparent")
	h.Del("Tracestate")
	propagator.Inject(ctx, propagation.HeaderCarrier(h))
}

// Fail marks span as failed with err (nil: nothing).
func Fail(span trace.Span, err error) {
	if err == nil || !span.IsRecording() {
		return
	}
	span.RecordError(err)
	span.SetStatus(codes.Error, err.Error())
}
