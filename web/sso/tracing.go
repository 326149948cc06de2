package sso

import (
	"net/http"

	"github.com/lanyard-sso/lanyard/internal/tracing"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// traceStep starts a span of a login step and returns the request carrying
// it (r itself when tracing is off).
func traceStep(r *http.Request, name string, attrs ...attribute.KeyValue) (*http.Request, trace.Span) {
	ctx, span := tracing.Start(r.Context(), name, trace.SpanKindInternal, attrs...)
	if !tracing.On() {
		return r, span
	}
	return r.WithContext(ctx), span
}
