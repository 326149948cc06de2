package gateway

import (
	"net/http"

	"github.com/lanyard-sso/lanyard/internal/tracing"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// traceRoute starts the span of a request for a route, continuing the
// client's trace, and returns the request carrying it; end ends it. Off,
// it returns r itself.
func traceRoute(r *http.Request, rt *route) (*http.Request, func()) {
	if !tracing.On() {
		return r, func() {}
	}
	ctx, span := tracing.Start(tracing.Extract(r.Context(), r.Header), "proxy "+rt.Name, trace.SpanKindServer,
		attribute.String("http.request.method", r.Method),
		attribute.String("lanyard.route", rt.Name),
		attribute.String("server.address", r.Host),
		attribute.String("url.path", r.URL.Path))
	return r.WithContext(ctx), func() { span.End() }
}
