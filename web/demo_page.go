package web

import (
	"cmp"
	"net/http"
	"net/url"
	"time"

	"github.com/lanyard-sso/lanyard/web/internal/ui"
)

// demoPagePath is the sample application page of "lanyard demo".
const demoPagePath = "/demo/"

// demoView is the data of the sample page.
type demoView struct {
	Title     string
	Login     string
	Name      string
	Email     string
	Tenant    string
	Roles     []string
	IdP       string
	SignedIn  string
	Refreshed string
	Interval  int
}

// handleDemoPage answers GET /demo/: a stand-in for an application behind
// Lanyard. Without a session of the demo tenant it sends the browser to
// the tenant's IdP (SP-initiated, coming back here); with one it shows who
// is signed in and includes session.js, which keeps the session checked.
func (s *Server) handleDemoPage() http.Handler {
	signIn := ui.SSOPath(s.demoTenant) + "login?" + url.Values{"return_to": {demoPagePath}}.Encode()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		_, sess, err := s.kit.CurrentSession(r)
		if err != nil {
			ui.Redirect(w, r, signIn)
			return
		}
		user, err := s.store.User(ctx, sess.UserID)
		if err != nil {
			ui.Redirect(w, r, signIn)
			return
		}
		tenant, err := s.store.TenantByID(ctx, sess.TenantID)
		if err != nil || tenant.Slug != s.demoTenant {
			ui.Redirect(w, r, signIn)
			return
		}
		tenant.SSO.Normalize()
		v := demoView{
			Title: "Demo application", Login: user.Login, Name: user.FullName(), Email: user.Email,
			Tenant: cmp.Or(tenant.DisplayName, tenant.Slug), Roles: user.RoleNames(), IdP: sess.IdPEntityID,
			SignedIn: sess.CreatedAt.UTC().Format(time.RFC1123),
			Interval: int(time.Duration(tenant.SSO.RefreshInterval).Seconds()),
		}
		if !sess.LastRefreshAt.IsZero() {
			v.Refreshed = sess.LastRefreshAt.UTC().Format(time.RFC1123)
		}
		s.allowSessionFrames(w, r)
		s.kit.Render(w, r, http.StatusOK, "demo", v)
	})
}
