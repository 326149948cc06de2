package web

import (
	"net/http"

	"github.com/lanyard-sso/lanyard/internal/tracing"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// traced gives every request a server span, continuing the caller's trace
// (traceparent), named by its route pattern once the mux has routed it.
// The span records the route and the status, never the query, cookies or
// form values. Off, it adds nothing but one check.
func (s *Server) traced(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !tracing.On() {
			next.ServeHTTP(w, r)
			return
		}
		ctx, span := tracing.Start(tracing.Extract(r.Context(), r.Header), r.Method, trace.SpanKindServer,
			attribute.String("http.request.method", r.Method),
			attribute.String("url.path", r.URL.Path),
			attribute.String("client.address", s.kit.ClientAddress(r)))
		defer span.End()
		r = r.WithContext(ctx)
		rec := &responseRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		// ServeMux sets r.Pattern on this very request when it routes it.
		if r.Pattern != "" {
			span.SetName(r.Pattern)
			span.SetAttributes(attribute.String("http.route", r.Pattern))
		}
		span.SetAttributes(attribute.Int("http.response.status_code", rec.status))
	})
}
