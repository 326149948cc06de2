package admin

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/lanyard-sso/lanyard"
)

// The pages and calls that give the admin UI and the API what the CLI has:
// adding one user ("lanyard user add") and refreshing an IdP's metadata from
// its URL now ("lanyard idp refresh").

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

// handleAdminIdPRefresh fetches an IdP's metadata from its URL now.
func handleAdminIdPRefresh(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := d.adminForm(w, r); err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		slug := r.PathValue("tenant")
		c, err := d.Admin.IdP(r.Context(), slug, r.PostFormValue("entity_id"))
		if err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		res, err := d.Admin.RefreshIdP(r.Context(), actor(r), c)
		if err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		msg := "Refreshed " + c.EntityID + ": " + res.Changes
		if len(res.Warnings) > 0 {
			msg += ". Warnings: " + strings.Join(res.Warnings, "; ")
		}
		done(w, r, tenantURL(slug, ""), msg)
	})
}
