package admin

import "net/http"

// handleAdminTokenRevoke revokes a token.
func handleAdminTokenRevoke(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := d.adminForm(w, r); err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		tok, err := d.Admin.RevokeAPIToken(r.Context(), actor(r), r.PostFormValue("token"))
		if err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		done(w, r, "/admin/tokens", "Revoked API token "+tok.Name+".")
	})
}
