package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/web/internal/ui"
)

// allowSessionFrames sets the Content-Security-Policy of a page that
// includes session.js: the site-wide policy, except that frames may load
// the IdPs of the signed-in user's tenant, where the hidden frame of the
// passive check is redirected. Without a session, or when the tenant
// cannot be read, the site-wide policy stays (the check then falls back to
// a window).
func (s *Server) allowSessionFrames(w http.ResponseWriter, r *http.Request) {
	id := s.kit.SessionID(r)
	if id == "" {
		return
	}
	ctx := r.Context()
	sess, err := s.store.Session(ctx, lanyard.HashSessionID(id), s.now())
	if err != nil || sess.Kind != lanyard.SessionSSO {
		return
	}
	tenant, err := s.store.TenantByID(ctx, sess.TenantID)
	if err != nil {
		return
	}
	snap, err := s.tenants.Snapshot(ctx, tenant.Slug)
	if err != nil {
		return
	}
	sources := []string{"'self'"}
	seen := map[string]bool{}
	for _, idp := range snap.IdPs {
		for _, ep := range idp.SSO {
			u, err := url.Parse(ep.Location)
			if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
				continue
			}
			if origin := u.Scheme + "://" + u.Host; !seen[origin] {
				seen[origin] = true
				sources = append(sources, origin)
			}
		}
	}
	w.Header().Set("Content-Security-Policy", ui.ContentSecurityPolicy+"; frame-src "+strings.Join(sources, " "))
}
