package tracing

import (
	"context"
	"net/http"
	"testing"

	"go.opentelemetry.io/otel/trace"
)

// TestOffCostsNothing: with tracing off (no endpoint configured), starting
// a span allocates nothing and headers pass unchanged, a client's
// traceparent included.
func TestOffCostsNothing(t *testing.T) {
	if On() {
		t.Fatal("tracing is on before Enable")
	}
	ctx := context.Background()
	allocs := testing.AllocsPerRun(1000, func() {
		c, span := Start(ctx, "x", trace.SpanKindServer)
		span.End()
		_ = Extract(c, nil)
	})
	if allocs != 0 {
		t.Errorf("a span with tracing off allocates %.0f times", allocs)
	}
	h := http.Header{"Traceparent": {"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}}
	Inject(ctx, h)
	if h.Get("Traceparent") != "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" || len(h) != 1 {
		t.Errorf("headers changed with tracing off: %v", h)
	}
}
