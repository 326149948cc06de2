package ui

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/session"
)

// CurrentSession returns the live session of the request, if any. Errors
// other than session.ErrNoSession are internal (the store failed).
func (k *Kit) CurrentSession(r *http.Request) (id string, sess lanyard.Session, err error) {
	id = k.SessionID(r)
	if id == "" {
		return "", lanyard.Session{}, session.ErrNoSession
	}
	sess, err = k.sessions.Lookup(r.Context(), id)
	if err != nil {
		return "", lanyard.Session{}, err
	}
	if sess.Origin != "" {
		// A copy made for an application's host opens nothing here.
		return "", lanyard.Session{}, session.ErrNoSession
	}
	return id, sess, nil
}

// EndSession ends a session the server no longer honours, logging failures
// (the session then still expires on its own).
func (k *Kit) EndSession(ctx context.Context, id, why string) {
	if err := k.sessions.End(ctx, id); err != nil {
		k.Logger.Error("could not end session", "why", why, "err", err)
	}
}

// Audit appends an event to the audit trail. A failure to record is logged
// and does not change the answer: the request log still has the facts.
func (k *Kit) Audit(ctx context.Context, e lanyard.AuditEvent) {
	k.AuditRef(ctx, e)
}

// AuditRef appends an audit event and returns its ID as the reference shown
// to the user, or a time-based reference when the event could not be
// recorded (the log line carries the same one).
func (k *Kit) AuditRef(ctx context.Context, e lanyard.AuditEvent) string {
	if e.Time.IsZero() {
		e.Time = k.Now().UTC()
	}
	if err := k.audit.AppendAudit(ctx, &e); err != nil {
		k.Logger.Error("audit event not recorded", "action", e.Action, "outcome", e.Outcome, "reason", e.Reason, "subject", e.Subject, "err", err)
		return "T" + strconv.FormatInt(e.Time.UnixMilli(), 10)
	}
	return strconv.FormatInt(e.ID, 10)
}

// Admin is the signed-in administrator of a request.
type Admin struct {
	SessionID string
	Session   lanyard.Session
	User      lanyard.User
	Tenant    lanyard.Tenant
	// Principal is what the administrator may manage, read from the
	// account on every request.
	Principal lanyard.Principal
}

type adminKey struct{}

// ErrNotAdmin refuses a signed-in user who administers nothing.
var ErrNotAdmin = lanyard.ErrNotAdministrator

// AuthenticateAdmin finds the administrator signed in on r. It returns
// session.ErrNoSession when nobody is (or the account may no longer sign in,
// in which case the session is ended), ErrNotAdmin for other users.
func (k *Kit) AuthenticateAdmin(r *http.Request) (Admin, error) {
	ctx := r.Context()
	id, sess, err := k.CurrentSession(r)
	if err != nil {
		return Admin{}, err
	}
	user, err := k.users.User(ctx, sess.UserID)
	if errors.Is(err, lanyard.ErrNotFound) {
		k.EndSession(ctx, id, "account deleted")
		return Admin{}, session.ErrNoSession
	}
	if err != nil {
		return Admin{}, fmt.Errorf("web: load user %d of session: %w", sess.UserID, err)
	}
	// The account is read on every request, so deactivating or locking it
	// takes effect at once, not at the session's expiry.
	if user.Status != lanyard.StatusActive || user.Locked {
		k.EndSession(ctx, id, "account inactive or locked")
		return Admin{}, session.ErrNoSession
	}
	p := lanyard.PrincipalOfSession(user, sess.Kind)
	if !p.IsAdmin() {
		return Admin{}, ErrNotAdmin
	}
	tenant, err := k.tenants.TenantByID(ctx, user.TenantID)
	if err != nil {
		return Admin{}, fmt.Errorf("web: load tenant %d of user %d: %w", user.TenantID, user.ID, err)
	}
	return Admin{SessionID: id, Session: sess, User: user, Tenant: tenant, Principal: p}, nil
}

// RequireAdmin lets only signed-in administrators through
// (RequireAccess with lanyard.AccessAdmin).
func (k *Kit) RequireAdmin(next http.Handler) http.Handler {
	return k.RequireAccess(lanyard.AccessAdmin, nil, next)
}

// RequireAccess lets through the signed-in administrators that
// lanyard.Authorize allows on a route requiring need; tenantOf gives the
// tenant the path names (for lanyard.AccessTenant; 0 when there is no such
// tenant). Others are sent to the sign-in page, coming back here
// afterwards; signed-in users who may not get a 403 page. The principal is
// in the context (lanyard.PrincipalFrom) for the administration service.
func (k *Kit) RequireAccess(need lanyard.Access, tenantOf func(*http.Request) (int64, error), next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if need == lanyard.AccessPublic {
			next.ServeHTTP(w, r)
			return
		}
		auth, err := k.AuthenticateAdmin(r)
		switch {
		case errors.Is(err, session.ErrNoSession):
			if k.SessionID(r) != "" {
				k.ClearSessionCookie(w)
			}
			Redirect(w, r, AdminLoginURL(r.URL.RequestURI()))
			return
		case err != nil:
			k.RenderError(w, r, err)
			return
		}
		var tenantID int64
		if need == lanyard.AccessTenant && tenantOf != nil {
			if tenantID, err = tenantOf(r); err != nil {
				k.RenderError(w, r, err)
				return
			}
		}
		ctx := lanyard.WithPrincipal(context.WithValue(r.Context(), adminKey{}, auth), auth.Principal)
		if err := lanyard.Authorize(auth.Principal, need, tenantID); err != nil {
			// The refusal page keeps the navigation to what they may manage.
			k.RenderError(w, r.WithContext(ctx), err)
			return
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// AdminFrom returns the administrator that RequireAdmin put in the context.
func AdminFrom(ctx context.Context) Admin {
	auth, _ := ctx.Value(adminKey{}).(Admin)
	return auth
}

// LoginCounter counts login attempts for the metrics.
type LoginCounter interface {
	// LoginAttempt counts one attempt; reason is "" for a success.
	LoginAttempt(method, outcome, reason string)
}

// SSOTestPath is the return path that marks an SSO login as a test started
// by an administrator ("Test SSO connection"): the ACS then reports what the
// login would do, and opens no session.
const SSOTestPath = "/admin/sso-test"

// SSOTestReturn is the return path of a test login of the tenant.
func SSOTestReturn(slug string) string {
	return SSOTestPath + "?" + url.Values{"tenant": {slug}}.Encode()
}

// IsSSOTest recognises the return path of a test login.
func IsSSOTest(returnTo string) bool {
	path, _, _ := strings.Cut(returnTo, "?")
	return path == SSOTestPath
}

// What the signed-out page adds about the IdP's session.
const (
	// SignedOutIdP: the IdP confirmed the Single Logout.
	SignedOutIdP = "idp"
	// SignedOutIdPUnconfirmed: the IdP's session may still be open.
	SignedOutIdPUnconfirmed = "idp-unconfirmed"
	// SignedOutIdPUnsigned: the IdP answered with an unsigned
	// LogoutResponse, which Lanyard refuses: a setting of the IdP.
	SignedOutIdPUnsigned = "idp-unsigned"
)

// UnsignedLogoutFix says which IdP setting makes it sign its
// LogoutResponse, for the signed-out page and the audit log.
const UnsignedLogoutFix = "Have the identity provider sign its LogoutResponse messages for this service provider: in SimpleSAMLphp, 'sign.logout' => true in the service provider's entry of metadata/saml20-sp-remote.php (or in saml20-idp-hosted.php for every service provider); in Keycloak, \"Sign documents\" on the client; in ADFS and Entra ID logout responses are signed by default."

// signedOutView is the data of the signed-out page.
type signedOutView struct {
	Title  string
	Notice string
	// Warning says the IdP's session may still be open.
	Warning string
	// AdminFix is what an administrator changes so that it does not
	// happen again.
	AdminFix string
}

// RenderSignedOut drops the session cookie and says the user is signed
// out; notice (SignedOutIdP, SignedOutIdPUnconfirmed or "") tells what
// happened at the IdP.
func (k *Kit) RenderSignedOut(w http.ResponseWriter, r *http.Request, notice string) {
	if k.SessionID(r) != "" {
		k.ClearSessionCookie(w)
	}
	v := signedOutView{Title: "Signed out"}
	switch notice {
	case SignedOutIdP:
		v.Notice = "You are also signed out of your identity provider."
	case SignedOutIdPUnconfirmed:
		v.Warning = "Your identity provider did not confirm the sign-out, so you may still be signed in there. Close the browser to end that sign-in."
	case SignedOutIdPUnsigned:
		v.Warning = "Your identity provider did not confirm the sign-out: its answer was not signed, and Lanyard accepts only signed answers. You may still be signed in there: close the browser to end that sign-in."
		v.AdminFix = UnsignedLogoutFix
	}
	k.Render(w, r, http.StatusOK, "signed_out", v)
}
