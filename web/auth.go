package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/session"
)

// adminHome is where administrators land after signing in.
const adminHome = "/admin/"

// adminAuth is the signed-in administrator of a request.
type adminAuth struct {
	SessionID string
	Session   lanyard.Session
	User      lanyard.User
	Tenant    lanyard.Tenant
}

type adminAuthKey struct{}

// errNotAdmin refuses a signed-in user who does not hold the admin role.
var errNotAdmin = &lanyard.Error{
	Kind:    lanyard.KindForbidden,
	Message: "Your account does not hold the administrator role, so it may not use the administration pages. Ask an administrator if you need access.",
}

// authenticateAdmin finds the administrator signed in on r. It returns
// session.ErrNoSession when nobody is (or the account may no longer sign in,
// in which case the session is ended), errNotAdmin for other users.
func (s *Server) authenticateAdmin(r *http.Request) (adminAuth, error) {
	ctx := r.Context()
	id, sess, err := s.currentSession(r)
	if err != nil {
		return adminAuth{}, err
	}
	user, err := s.store.User(ctx, sess.UserID)
	if errors.Is(err, lanyard.ErrNotFound) {
		s.endSession(ctx, id, "account deleted")
		return adminAuth{}, session.ErrNoSession
	}
	if err != nil {
		return adminAuth{}, fmt.Errorf("web: load user %d of session: %w", sess.UserID, err)
	}
	// The account is read on every request, so deactivating or locking it
	// takes effect at once, not at the session's expiry.
	if user.Status != lanyard.StatusActive || user.Locked {
		s.endSession(ctx, id, "account inactive or locked")
		return adminAuth{}, session.ErrNoSession
	}
	if !user.HasRole(lanyard.RoleAdmin) {
		return adminAuth{}, errNotAdmin
	}
	tenant, err := s.store.TenantByID(ctx, user.TenantID)
	if err != nil {
		return adminAuth{}, fmt.Errorf("web: load tenant %d of user %d: %w", user.TenantID, user.ID, err)
	}
	return adminAuth{SessionID: id, Session: sess, User: user, Tenant: tenant}, nil
}

// requireAdmin lets only signed-in administrators through. Others are sent
// to the sign-in page, coming back here afterwards; signed-in users without
// the role get a 403 page.
func (s *Server) requireAdmin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth, err := s.authenticateAdmin(r)
		switch {
		case errors.Is(err, session.ErrNoSession):
			if sessionID(r) != "" {
				s.clearSessionCookie(w)
			}
			redirect(w, r, loginURL(r.URL.RequestURI()))
			return
		case err != nil:
			s.renderError(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), adminAuthKey{}, auth)))
	})
}

// adminFrom returns the administrator that requireAdmin put in the context.
func adminFrom(ctx context.Context) adminAuth {
	auth, _ := ctx.Value(adminAuthKey{}).(adminAuth)
	return auth
}

// endSession ends a session the server no longer honours, logging failures
// (the session then still expires on its own).
func (s *Server) endSession(ctx context.Context, id, why string) {
	if err := s.sessions.End(ctx, id); err != nil {
		s.logger.Error("could not end session", "why", why, "err", err)
	}
}

// audit appends an event to the audit trail. A failure to record is logged
// and does not change the answer: the request log still has the facts.
func (s *Server) audit(ctx context.Context, e lanyard.AuditEvent) {
	if e.Time.IsZero() {
		e.Time = s.now().UTC()
	}
	if err := s.store.AppendAudit(ctx, &e); err != nil {
		s.logger.Error("audit event not recorded", "action", e.Action, "outcome", e.Outcome, "reason", e.Reason, "subject", e.Subject, "err", err)
	}
}
