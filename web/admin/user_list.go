package admin

import (
	"fmt"
	"net/http"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/web/internal/params"
)

type usersView struct {
	adminPage
	Users  []lanyard.User
	Filter lanyard.UserFilter
	Total  int
	Roles  []string
	// Sources are the account sources the filter offers.
	Sources []lanyard.UserSource
	More    bool
	Next    int // offset of the next page when More
}

// usersPageSize is how many users a page of the list shows.
const usersPageSize = 100

// handleAdminUsers lists and filters a tenant's users.
func handleAdminUsers(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		page, err := d.newTenantPage(r, "Users")
		if err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		q := r.URL.Query()
		f := lanyard.UserFilter{Query: q.Get("query"), Status: lanyard.UserStatus(q.Get("status")), Source: lanyard.UserSource(q.Get("source")),
			LoginMethod: lanyard.LoginMethod(q.Get("login_method")), Role: q.Get("role"), Limit: usersPageSize + 1}
		if n, err := params.QueryInt(r, "offset"); err == nil {
			f.Offset = int(n)
		}
		users, err := d.Admin.Users(ctx, page.Tenant.Slug, f)
		if err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		v := usersView{adminPage: page, Users: users, Filter: f}
		if len(users) > usersPageSize {
			v.Users, v.More, v.Next = users[:usersPageSize], true, f.Offset+usersPageSize
		}
		f.TenantID = page.Tenant.ID
		if v.Total, err = d.Store.CountUsers(ctx, f); err != nil {
			d.Kit.RenderError(w, r, fmt.Errorf("web: count users: %w", err))
			return
		}
		// The source filter offers the sources the tenant's accounts have
		// (and the one chosen): a choice that can only match nothing is noise.
		for _, src := range []lanyard.UserSource{lanyard.SourceLocal, lanyard.SourceIdP, lanyard.SourceLDAP, lanyard.SourceSCIM} {
			n, err := d.Store.CountUsers(ctx, lanyard.UserFilter{TenantID: page.Tenant.ID, Source: src})
			if err != nil {
				d.Kit.RenderError(w, r, fmt.Errorf("web: count users by source: %w", err))
				return
			}
			if n > 0 || src == f.Source {
				v.Sources = append(v.Sources, src)
			}
		}
		if v.Roles, err = d.Store.Roles(ctx, page.Tenant.ID); err != nil {
			d.Kit.RenderError(w, r, fmt.Errorf("web: roles: %w", err))
			return
		}
		d.Kit.Render(w, r, http.StatusOK, "admin_users", v)
	})
}
