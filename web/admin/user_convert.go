package admin

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/lanyard-sso/lanyard/admin"
)

// handleAdminUsersConvert converts the accounts checked in the list (or
// one account from its page) to SSO accounts.
func handleAdminUsersConvert(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := d.adminForm(w, r); err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		slug := r.PathValue("tenant")
		logins := r.PostForm["login"]
		results, err := d.Admin.ConvertToSSO(r.Context(), actor(r), slug, logins, admin.ConvertOptions{Domain: r.PostFormValue("domain")})
		if err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		var names []string
		for _, c := range results {
			names = append(names, c.Login+" → "+c.NewLogin)
		}
		done(w, r, tenantURL(slug, "/users"), fmt.Sprintf("Converted %d account(s) to SSO: %s", len(results), strings.Join(names, ", ")))
	})
}
