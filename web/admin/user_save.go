package admin

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/lanyard-sso/lanyard/admin"
)

// handleAdminUserSave changes a user from its form, or runs one of the
// quick actions (lock, unlock, activate, deactivate) named by "action".
func handleAdminUserSave(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := d.adminForm(w, r); err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		slug, login := r.PathValue("tenant"), r.PathValue("login")
		u, err := d.Admin.User(r.Context(), slug, login)
		if err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		var settings []string
		switch r.PostFormValue("action") {
		case "lock":
			settings = []string{"locked=true"}
		case "unlock":
			settings = []string{"locked=false"}
		case "activate":
			settings = []string{"status=active"}
		case "deactivate":
			settings = []string{"status=inactive"}
		default:
			current := map[string]string{}
			for _, kv := range admin.UserSettingValues(u) {
				current[kv.Key] = kv.Value
			}
			for _, k := range userFormKeys {
				if nv, ok := r.PostForm[k]; ok && strings.TrimSpace(nv[0]) != current[k] {
					settings = append(settings, k+"="+strings.TrimSpace(nv[0]))
				}
			}
		}
		if len(settings) == 0 {
			done(w, r, tenantURL(slug, "/users/"+url.PathEscape(u.Login)), "Nothing changed.")
			return
		}
		updated, changes, err := d.Admin.SetUser(r.Context(), actor(r), slug, u.Login, settings)
		if p := problems(err); p != nil {
			page := newAdminPage(r, "")
			page.Notice, page.Problems = "", p
			d.renderUser(w, r, page)
			return
		}
		if err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		done(w, r, tenantURL(slug, "/users/"+url.PathEscape(updated.Login)), "Saved: "+strings.Join(changes, "; "))
	})
}
