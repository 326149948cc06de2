package admin

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/lanyard-sso/lanyard"
)

// handleAdminUserCreate adds one user from the form of the users page.
func handleAdminUserCreate(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := d.adminForm(w, r); err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		slug := r.PathValue("tenant")
		f := r.PostForm
		u := lanyard.User{Login: strings.TrimSpace(f.Get("login")), Email: strings.TrimSpace(f.Get("email")),
			FirstName: strings.TrimSpace(f.Get("firstname")), LastName: strings.TrimSpace(f.Get("lastname")),
			LoginMethod: lanyard.LoginMethod(f.Get("login_method")), WebAccess: f.Get("web_access") != "false", Source: lanyard.SourceLocal}
		u.SetRoles(lanyard.RoleManual, lanyard.ParseRoles(f.Get("roles")))
		created, err := d.Admin.AddUser(r.Context(), actor(r), slug, u)
		if err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		done(w, r, tenantURL(slug, "/users/"+url.PathEscape(created.Login)), "Added user "+created.Login+".")
	})
}
