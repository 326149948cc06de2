package web

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/session"
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

// handleReadyz answers 200 when the server can complete logins, writes
// included: after SetReady, while the database answers, takes writes (the
// last write's outcome, which the periodic write probe refreshes) and, for
// SQLite, has free space left. Load balancers route on it.
func (s *Server) handleReadyz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.ready.Load() {
			w.Header().Set("Retry-After", "5")
			writeText(w, http.StatusServiceUnavailable, "starting: migrating database")
			return
		}
		if reason := s.notReadyReason(r.Context()); reason != "" {
			s.kit.Logger.Warn("readiness check failed", "reason", reason)
			w.Header().Set("Retry-After", "5")
			writeText(w, http.StatusServiceUnavailable, "not ready: "+reason)
			return
		}
		writeText(w, http.StatusOK, "ready")
	})
}

// homeView is the data of the home page; Login is empty when nobody is
// signed in.
type homeView struct {
	Title    string
	Login    string
	Name     string
	Tenant   string
	Roles    []string
	Method   string
	IdP      string
	SignedIn string
}

// handleHome is the landing page of the site root, and the default landing
// page after an SSO login: with a session it shows who is signed in, in
// which tenant, with which roles and through which IdP.
func (s *Server) handleHome() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		view := homeView{Title: "Single sign-on"}
		// Before SetReady the database may not be migrated: no lookups.
		if s.ready.Load() && s.kit.SessionID(r) != "" {
			if err := s.describeSession(r, &view); err != nil {
				s.kit.Logger.Warn("home page: session not shown", "err", err)
			}
			// The page includes session.js: its hidden frame goes to the IdP.
			s.allowSessionFrames(w, r)
		}
		s.kit.Render(w, r, http.StatusOK, "home", view)
	})
}

// describeSession fills the signed-in panel of the home page.
func (s *Server) describeSession(r *http.Request, view *homeView) error {
	ctx := r.Context()
	_, sess, err := s.kit.CurrentSession(r)
	if errors.Is(err, session.ErrNoSession) {
		return nil
	}
	if err != nil {
		return err
	}
	user, err := s.store.User(ctx, sess.UserID)
	if err != nil {
		return fmt.Errorf("user %d: %w", sess.UserID, err)
	}
	if user.Status != lanyard.StatusActive || user.Locked {
		return nil
	}
	tenant, err := s.store.TenantByID(ctx, sess.TenantID)
	if err != nil {
		return fmt.Errorf("tenant %d: %w", sess.TenantID, err)
	}
	view.Login, view.Name, view.Tenant = user.Login, user.FullName(), cmp.Or(tenant.DisplayName, tenant.Slug)
	view.Roles, view.Method, view.IdP = user.RoleNames(), string(sess.Kind), sess.IdPEntityID
	view.SignedIn = sess.CreatedAt.UTC().Format(time.RFC3339)
	return nil
}

// writeText answers a short plain-text body, for probes and scripts.
func writeText(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body + "\n"))
}
