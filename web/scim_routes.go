package web

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lanyard-sso/lanyard/web/scim"
)

// scimRoutes mounts the SCIM 2.0 service of every tenant (web/scim):
// bearer tokens of scope scim, one tenant each.
func (s *Server) scimRoutes(mux *http.ServeMux) {
	deps := scim.Deps{
		Logger: s.logger, Now: s.now, Store: s.store, Ready: s.requireReady,
		ClientAddress: s.kit.ClientAddress, Metrics: newSCIMMetrics(s.metrics), BaseOrigin: s.origins.Self,
	}
	if s.admin != nil {
		deps.Tokens = s.admin
	}
	scim.Routes(mux, deps)
}

// scimMetrics counts SCIM operations by operation and status code.
type scimMetrics struct{ ops *prometheus.CounterVec }

func newSCIMMetrics(m *metrics) *scimMetrics {
	ops := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lanyard_scim_operations_total",
		Help: "SCIM requests answered, by operation (user.create, group.patch...) and status code.",
	}, []string{"operation", "code"})
	if err := m.registry.Register(ops); err != nil {
		var already prometheus.AlreadyRegisteredError
		if errors.As(err, &already) {
			ops = already.ExistingCollector.(*prometheus.CounterVec)
		}
	}
	return &scimMetrics{ops: ops}
}

func (m *scimMetrics) SCIMOperation(op string, status int) {
	m.ops.WithLabelValues(op, strconv.Itoa(status)).Inc()
}
