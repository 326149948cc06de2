package admin

import (
	"net/http"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/admin"
)

type userView struct {
	adminPage
	Info admin.UserInfo
	U    *lanyard.User // Info.User, addressable for its methods in templates
	Form map[string]string
}

// handleAdminUser shows a user with its state and the form to change it.
func handleAdminUser(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.renderUser(w, r, newAdminPage(r, ""))
	})
}

func (d *Deps) renderUser(w http.ResponseWriter, r *http.Request, page adminPage) {
	info, err := d.Admin.DescribeUser(r.Context(), r.PathValue("tenant"), r.PathValue("login"))
	if err != nil {
		d.Kit.RenderError(w, r, err)
		return
	}
	page.Tenant, page.Title = info.Tenant, "User "+info.User.Login
	v := userView{adminPage: page, Info: info, U: &info.User, Form: map[string]string{}}
	for _, kv := range admin.UserSettingValues(info.User) {
		v.Form[kv.Key] = kv.Value
	}
	status := http.StatusOK
	if len(page.Problems) > 0 {
		status = http.StatusBadRequest
	}
	d.Kit.Render(w, r, status, "admin_user", v)
}

// userFormKeys are the fields of the user form, as SetUser keys.
var userFormKeys = []string{"email", "firstname", "lastname", "status", "locked", "login_method", "web_access", "auto_login", "roles"}
