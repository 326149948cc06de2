package web

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lanyard-sso/lanyard/gateway"
	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/session"
)

// TestMetricsOnASharedRegistry: a server given a registry that already
// holds its collectors (an earlier server's) counts into the registered
// ones, which /metrics exposes.
func TestMetricsOnASharedRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	logger := slog.New(slog.DiscardHandler)
	base, _ := url.Parse("https://sso.example.com")
	store := testdb.SQLite(t)
	var later *Server
	var proxy *proxyMetrics
	for range 2 {
		sessions := session.NewCache(session.NewManager(store, session.Options{}), store, session.CacheOptions{})
		t.Cleanup(func() { sessions.Close(context.Background()) })
		g, err := gateway.New(gateway.Config{BaseURL: base, Sessions: sessions})
		if err != nil {
			t.Fatal(err)
		}
		later = &Server{logger: logger, metrics: newMetrics(reg, logger)}
		proxy = later.observeGateway(g)
	}
	later.metrics.requests.WithLabelValues("GET /healthz", "GET", "200").Inc()
	later.metrics.duration.WithLabelValues("GET /healthz", "200").Observe(0.01)
	later.metrics.loginAttempts.WithLabelValues("password", "success", "none").Inc()
	proxy.ObserveProxy("app", 200, time.Millisecond)

	text := exposition(t, later.metrics)
	for _, want := range []string{
		`lanyard_http_requests_total{code="200",method="GET",route="GET /healthz"} 1`,
		`lanyard_http_request_duration_seconds_count{code="200",route="GET /healthz"} 1`,
		`lanyard_login_attempts_total{method="password",outcome="success",reason="none"} 1`,
		`lanyard_proxy_requests_total{code="200",route="app"} 1`,
		`lanyard_proxy_request_duration_seconds_count{route="app"} 1`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the registry lacks %s:\n%s", want, text)
		}
	}
}

// TestReplaceGaugeReadsTheNewest: a gauge that reads its value from the
// object that registers it reads the newest such object.
func TestReplaceGaugeReadsTheNewest(t *testing.T) {
	reg := prometheus.NewRegistry()
	logger := slog.New(slog.DiscardHandler)
	for _, v := range []float64{1, 2} {
		replace(reg, logger, prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "lanyard_test_gauge", Help: "A test gauge."},
			func() float64 { return v }))
	}
	if text := exposition(t, &metrics{registry: reg}); !strings.Contains(text, "lanyard_test_gauge 2\n") {
		t.Fatalf("the gauge does not read the newest object's 2:\n%s", text)
	}
}

// exposition returns what /metrics serves from m's registry.
func exposition(t *testing.T, m *metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.handler(slog.New(slog.DiscardHandler)).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("/metrics: status %d", rec.Code)
	}
	return rec.Body.String()
}
