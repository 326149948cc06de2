package admin

import (
	"net/http"
	"net/url"

	"github.com/lanyard-sso/lanyard/web/internal/ui"
)

// handleAdminSSOTest starts "Test SSO connection": an SP-initiated login
// whose return path makes the ACS report instead of signing in.
func handleAdminSSOTest(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		slug := r.PathValue("tenant")
		if _, err := d.Admin.Tenant(r.Context(), slug); err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		ui.Redirect(w, r, ui.SSOPath(slug)+"login?"+url.Values{"return_to": {ui.SSOTestReturn(slug)}}.Encode())
	})
}
