package web

import (
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lanyard-sso/lanyard/gateway"
)

// proxyMetrics count what the reverse proxy's routes answer; forward-auth
// (/auth/verify) is counted with the other routes of the server.
type proxyMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	// series holds the counter and histogram of each route and status
	// seen, so that a request does not hash its labels: few entries
	// (routes times the statuses they answer).
	series sync.Map // routeStatus -> *proxySeries
}

type routeStatus struct {
	route  string
	status int
}

type proxySeries struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

var _ gateway.Observer = (*proxyMetrics)(nil)

// observeGateway registers the proxy's metrics and makes the gateway
// report to them, which it returns.
func (s *Server) observeGateway(g *gateway.Gateway) *proxyMetrics {
	m := &proxyMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lanyard_proxy_requests_total",
			Help: "Requests answered by reverse proxy routes, by route and status code (302 and 401: sent to sign in; 403: a role missing; 502: the application did not answer).",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "lanyard_proxy_request_duration_seconds",
			Help:    "Time to answer requests through reverse proxy routes (WebSockets: the connection's life), by route.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route"}),
	}
	cacheEntries := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "lanyard_session_cache_entries",
		Help: "Sessions held in the session cache of forward-auth and the proxy (expired ones are swept every TTL).",
	}, func() float64 { return float64(g.SessionCacheStats().Entries) })
	cacheBytes := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "lanyard_session_cache_bytes",
		Help: "Estimated memory held by the session cache of forward-auth and the proxy; bounded by session_cache_mb.",
	}, func() float64 { return float64(g.SessionCacheStats().Bytes) })
	identities := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "lanyard_gateway_identities",
		Help: "Identities (headers and tokens) derived from cached sessions, held for reuse.",
	}, func() float64 { return float64(g.IdentityCount()) })
	keptTokens := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "lanyard_gateway_kept_token_bytes",
		Help: "Estimated memory held by the identity tokens (X-Lanyard-JWT) kept for reuse after their session's snapshot; bounded by a quarter of session_cache_mb.",
	}, func() float64 { _, b := g.TokenKeepStats(); return float64(b) })
	m.requests = register(s.metrics.registry, s.logger, m.requests)
	m.duration = register(s.metrics.registry, s.logger, m.duration)
	for _, c := range []prometheus.Collector{cacheEntries, cacheBytes, identities, keptTokens} {
		replace(s.metrics.registry, s.logger, c)
	}
	g.SetObserver(m)
	return m
}

// ObserveProxy counts one answer of a route.
func (m *proxyMetrics) ObserveProxy(route string, status int, took time.Duration) {
	key := routeStatus{route, status}
	v, ok := m.series.Load(key)
	if !ok {
		v, _ = m.series.LoadOrStore(key, &proxySeries{
			requests: m.requests.WithLabelValues(route, strconv.Itoa(status)),
			duration: m.duration.WithLabelValues(route),
		})
	}
	s := v.(*proxySeries)
	s.requests.Inc()
	s.duration.Observe(took.Seconds())
}
