package web

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the server's Prometheus collectors.
type metrics struct {
	registry      *prometheus.Registry
	requests      *prometheus.CounterVec
	duration      *prometheus.HistogramVec
	loginAttempts *prometheus.CounterVec
}

// newMetrics registers the server's collectors, and the Go and process
// collectors, in reg (a new registry when nil). Where reg already holds
// one of them (an earlier server's), the server counts into that one.
func newMetrics(reg *prometheus.Registry, logger *slog.Logger) *metrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m := &metrics{
		registry: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lanyard_http_requests_total",
			Help: "HTTP requests answered, by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "lanyard_http_request_duration_seconds",
			Help:    "Time to answer HTTP requests, by route pattern and status code.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route", "code"}),
		loginAttempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lanyard_login_attempts_total",
			Help: "Login attempts, by login method, outcome and refusal reason (\"none\" for successes).",
		}, []string{"method", "outcome", "reason"}),
	}
	m.requests = register(reg, logger, m.requests)
	m.duration = register(reg, logger, m.duration)
	m.loginAttempts = register(reg, logger, m.loginAttempts)
	register(reg, logger, collectors.NewGoCollector())
	register(reg, logger, collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// register registers c in reg and returns the collector reg exposes under
// its name: c, or the one of the same kind registered before, so that
// what is counted is what /metrics shows.
func register[C prometheus.Collector](reg *prometheus.Registry, logger *slog.Logger, c C) C {
	err := reg.Register(c)
	if err == nil {
		return c
	}
	var already prometheus.AlreadyRegisteredError
	if errors.As(err, &already) {
		if existing, ok := already.ExistingCollector.(C); ok {
			return existing
		}
	}
	logger.Error("metric not registered", "err", err)
	return c
}

// replace registers c in reg in place of a collector of the same name
// registered before: for gauges that read a value from the object that
// registers them, the newest object is the one to read.
func replace(reg *prometheus.Registry, logger *slog.Logger, c prometheus.Collector) {
	err := reg.Register(c)
	var already prometheus.AlreadyRegisteredError
	if errors.As(err, &already) {
		reg.Unregister(already.ExistingCollector)
		err = reg.Register(c)
	}
	if err != nil {
		logger.Error("metric not registered", "err", err)
	}
}

// handler serves the registry in the Prometheus exposition format.
func (m *metrics) handler(logger *slog.Logger) http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(logger.Handler(), slog.LevelError),
		ErrorHandling: promhttp.ContinueOnError,
	})
}

// MetricsHandler answers GET /metrics in the Prometheus text format,
// behind the bearer token of Config.MetricsToken when there is one: for
// the main listener, or a listener of its own (Config.MetricsElsewhere).
func (s *Server) MetricsHandler() http.Handler {
	h := s.metrics.handler(s.logger)
	if s.metricsToken == "" {
		return h
	}
	want := sha256.Sum256([]byte(s.metricsToken))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		got := sha256.Sum256([]byte(strings.TrimSpace(token)))
		if !ok || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="lanyard metrics"`)
			http.Error(w, "metrics need the bearer token of metrics_token_file", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// observeRequest counts one answered request. Unmatched requests share one
// route label so that scanners cannot grow the label set.
func (m *metrics) observeRequest(pattern, method string, status int, took time.Duration) {
	route := pattern
	if route == "" {
		route = "unmatched"
	}
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
	default:
		method = "other"
	}
	code := strconv.Itoa(status)
	m.requests.WithLabelValues(route, method, code).Inc()
	m.duration.WithLabelValues(route, code).Observe(took.Seconds())
}

// LoginAttempt counts one login attempt; reason is empty for a success.
func (m *metrics) LoginAttempt(method, outcome, reason string) {
	if reason == "" {
		reason = "none"
	}
	m.loginAttempts.WithLabelValues(method, outcome, reason).Inc()
}

// backgroundFailureCounter is a store whose background work (the SQLite
// checkpointer, the PostgreSQL statistics keeper) counts its failures.
type backgroundFailureCounter interface {
	BackgroundFailures() uint64
}

// storeFailureCounters returns the metric of the store's background
// failures, when it counts them.
func storeFailureCounters(store any) []prometheus.Collector {
	var out []prometheus.Collector
	if c, ok := store.(backgroundFailureCounter); ok {
		out = append(out, prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "lanyard_store_background_failures_total",
			Help: "Failures of the store's background work (SQLite: WAL checkpoints; PostgreSQL: the statistics keeper), each also logged when it starts failing.",
		}, func() float64 { return float64(c.BackgroundFailures()) }))
	}
	if c, ok := store.(commitCounter); ok {
		out = append(out,
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "lanyard_store_transactions_total",
				Help: "Write transactions committed by a store whose transactions share commits (SQLite).",
			}, func() float64 { tx, _ := c.CommitCounts(); return float64(tx) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "lanyard_store_commits_total",
				Help: "Commits that carried them: transactions that waited for the single writer share one commit.",
			}, func() float64 { _, commits := c.CommitCounts(); return float64(commits) }))
	}
	return out
}

// commitCounter is a store that counts its transactions and the commits
// that carried them.
type commitCounter interface {
	CommitCounts() (transactions, commits uint64)
}
