package ldapsync

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/lanyard-sso/lanyard"
)

// Metrics are the sync's Prometheus collectors. A nil *Metrics measures
// nothing.
type Metrics struct {
	duration *prometheus.HistogramVec
	seen     *prometheus.CounterVec
	changes  *prometheus.CounterVec
	errors   *prometheus.CounterVec
}

// NewMetrics makes the collectors; register them with Collectors.
func NewMetrics() *Metrics {
	return &Metrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "lanyard_ldap_sync_duration_seconds",
			Help:    "Time an LDAP directory sync took, by kind (full, incremental) and status (ok, failed, stopped).",
			Buckets: []float64{0.1, 0.5, 1, 5, 15, 60, 300, 900},
		}, []string{"kind", "status"}),
		seen: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lanyard_ldap_sync_entries_seen_total",
			Help: "Directory entries read by LDAP syncs, by kind.",
		}, []string{"kind"}),
		changes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lanyard_ldap_sync_changes_total",
			Help: "Account changes applied by LDAP syncs, by kind (create, update, reactivate, deactivate).",
		}, []string{"change"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lanyard_ldap_sync_errors_total",
			Help: "LDAP syncs that did not apply, by status (failed: directory or database; stopped: the safety stop).",
		}, []string{"status"}),
	}
}

// Collectors lists the collectors to register.
func (m *Metrics) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.duration, m.seen, m.changes, m.errors}
}

func (m *Metrics) observe(run lanyard.LDAPSyncRun, _ error) {
	if m == nil {
		return
	}
	m.duration.WithLabelValues(run.Kind, run.Status).Observe(run.FinishedAt.Sub(run.StartedAt).Seconds())
	m.seen.WithLabelValues(run.Kind).Add(float64(run.Seen))
	if run.Status != lanyard.SyncOK {
		m.errors.WithLabelValues(run.Status).Inc()
	}
}

func (m *Metrics) change(kind string) {
	if m == nil {
		return
	}
	m.changes.WithLabelValues(kind).Inc()
}
