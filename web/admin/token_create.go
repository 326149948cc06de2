package admin

import (
	"net/http"
	"time"
)

// handleAdminTokenCreate creates a token and shows its secret once (no
// redirect: the secret must not go into a URL).
func handleAdminTokenCreate(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := d.adminForm(w, r); err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		page := newAdminPage(r, "API tokens")
		days, _ := queryIntValue(r.PostFormValue("expires_days"))
		scopes := r.PostForm["scopes"]
		tok, secret, err := d.Admin.CreateTenantAPIToken(r.Context(), actor(r), r.PostFormValue("tenant"), r.PostFormValue("name"), scopes, time.Duration(days)*24*time.Hour)
		if p := problems(err); p != nil {
			page.Problems = p
			d.renderTokens(w, r, page, "")
			return
		}
		if err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		page.Notice = "Created API token " + tok.Name + ". Copy it now: it is shown only once."
		d.renderTokens(w, r, page, secret)
	})
}
