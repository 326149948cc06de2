package admin

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/web/internal/ui"
)

// deleteView is the confirmation step of a deletion: what goes, and the
// form that deletes. TypeToConfirm, when set, is what the administrator
// must type (a tenant's slug) before the button works.
type deleteView struct {
	adminPage
	Heading       string
	Removes       []string
	Action        string
	Button        string
	Cancel        string
	TypeToConfirm string
}

// handleAdminUserDeleteConfirm shows what deleting a user removes, with the
// button that does it.
func handleAdminUserDeleteConfirm(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info, err := d.Admin.DescribeUser(r.Context(), r.PathValue("tenant"), r.PathValue("login"))
		if err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		page := newAdminPage(r, "Delete user "+info.User.Login)
		page.Tenant = info.Tenant
		u := info.User
		v := deleteView{
			adminPage: page,
			Heading:   fmt.Sprintf("Delete the account %s?", u.Login),
			Removes: []string{
				fmt.Sprintf("The account %s (%s) of tenant %s, with its roles (%s).", u.Login, cmpOr(u.Email, "no email"), info.Tenant.Slug, cmpOr(joinRoles(u.RoleNames()), "none")),
				fmt.Sprintf("Its %d IdP identity link(s): a later SSO login of the same person creates a new account only if just-in-time provisioning is on.", len(info.Links)),
				fmt.Sprintf("Its %d live session(s), which end at once, and its password reset and automatic login links.", len(info.Sessions)),
				"The audit trail keeps its history and records that you deleted it. This cannot be undone.",
			},
			Action: tenantURL(info.Tenant.Slug, "/users/"+url.PathEscape(u.Login)+"/delete"),
			Button: "Delete " + u.Login,
			Cancel: tenantURL(info.Tenant.Slug, "/users/"+url.PathEscape(u.Login)),
		}
		d.Kit.Render(w, r, http.StatusOK, "admin_delete", v)
	})
}

// handleAdminUserDelete deletes a user. An administrator cannot delete the
// account they are signed in with.
func handleAdminUserDelete(d *Deps) http.Handler {
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
		if u.ID == ui.AdminFrom(r.Context()).User.ID {
			d.Kit.RenderError(w, r, &lanyard.Error{Kind: lanyard.KindInvalid,
				Message: "You cannot delete the account you are signed in with. Ask another administrator, or use: lanyard user delete --tenant " + slug + " " + u.Login + " --yes"})
			return
		}
		if _, err := d.Admin.DeleteUser(r.Context(), actor(r), slug, login); err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		done(w, r, tenantURL(slug, "/users"), "Deleted the account "+u.Login+" with its links and sessions.")
	})
}

// handleAdminTenantDeleteConfirm shows what deleting a tenant removes; the
// administrator types the slug to confirm.
func handleAdminTenantDeleteConfirm(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info, err := d.Admin.DescribeTenant(r.Context(), r.PathValue("tenant"))
		if err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		t := info.Tenant
		users, err := d.Store.CountUsers(r.Context(), lanyard.UserFilter{TenantID: t.ID})
		if err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		page := newAdminPage(r, "Delete tenant "+t.Slug)
		page.Tenant = t
		d.Kit.Render(w, r, http.StatusOK, "admin_delete", deleteView{
			adminPage: page,
			Heading:   fmt.Sprintf("Delete the tenant %s (%s)?", t.Slug, t.DisplayName),
			Removes: []string{
				fmt.Sprintf("Its %d account(s), with their roles, IdP links, sessions and tokens: every user of %s is signed out.", users, t.Slug),
				fmt.Sprintf("Its %d IdP connection(s), its SP signing and encryption keys, its email domains and settings.", len(info.IdPs)),
				"The audit trail and the SAML traces keep its history and record that you deleted it. This cannot be undone.",
			},
			Action:        tenantURL(t.Slug, "/delete"),
			Button:        "Delete " + t.Slug,
			Cancel:        tenantURL(t.Slug, ""),
			TypeToConfirm: t.Slug,
		})
	})
}

// handleAdminTenantDelete deletes a tenant once its slug was typed.
func handleAdminTenantDelete(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := d.adminForm(w, r); err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		slug := r.PathValue("tenant")
		del, err := d.Admin.DeleteTenant(r.Context(), actor(r), slug, r.PostFormValue("confirm"))
		if err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		done(w, r, ui.AdminHome, fmt.Sprintf("Deleted the tenant %s with %d account(s) and %d IdP connection(s).", del.Tenant.Slug, del.Users, del.IdPs))
	})
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func joinRoles(roles []string) string {
	out := ""
	for i, r := range roles {
		if i > 0 {
			out += ", "
		}
		out += r
	}
	return out
}
