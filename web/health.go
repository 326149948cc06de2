package web

import (
	"context"
	"net/http"
	"time"

	"github.com/lanyard-sso/lanyard"
)

// readyPingTimeout bounds the database check of /readyz, so a hung database
// makes the probe fail instead of piling up.
const readyPingTimeout = 2 * time.Second

// handleHealthz answers 200 while the process runs: the liveness probe.
func handleHealthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeText(w, http.StatusOK, "ok")
	})
}

// handleReadyz answers 200 when the server can serve logins: after SetReady
// and while the database answers. Load balancers route on it.
func (s *Server) handleReadyz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.ready.Load() {
			w.Header().Set("Retry-After", "5")
			writeText(w, http.StatusServiceUnavailable, "starting: migrating database")
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), readyPingTimeout)
		defer cancel()
		if err := s.store.Ping(ctx); err != nil {
			s.logger.Warn("readiness check failed: database does not answer", "err", err)
			writeText(w, http.StatusServiceUnavailable, "not ready: database does not answer")
			return
		}
		writeText(w, http.StatusOK, "ready")
	})
}

// handleHome is the landing page of the site root.
func (s *Server) handleHome() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.render(w, r, http.StatusOK, "home", pageTitle{Title: "Single sign-on"})
	})
}

// handleNotFound answers every path no route claims.
func (s *Server) handleNotFound() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.renderError(w, r, lanyard.Errorf(lanyard.KindNotFound, "There is nothing at this address. Check the link, or start again from the home page."))
	})
}

// handleNotBuiltYet holds the place of an endpoint of the published contract
// that this version does not serve yet, so that it already sits behind the
// readiness gate and answers a clear page rather than a bare 404.
func (s *Server) handleNotBuiltYet(what string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.renderError(w, r, lanyard.Errorf(lanyard.KindNotFound, "%s is not available in this version of Lanyard. Administrators can sign in at /admin/login.", what))
	})
}

// writeText answers a short plain-text body, for probes and scripts.
func writeText(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body + "\n"))
}
