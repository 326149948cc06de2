package admin

import (
	"fmt"
	"net/http"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/web/internal/ui"
)

// dashboardView is the data of the admin home page.
type dashboardView struct {
	adminPage
	FullName string
	// HomeTenant is the tenant of the administrator's account.
	HomeTenant  lanyard.Tenant
	Tenants     []lanyard.Tenant
	SessionEnds time.Time
}

// handleAdminDashboard shows who is signed in and the tenants, with links to
// their SP metadata. Each administrator sees the tenants they manage.
func handleAdminDashboard(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := ui.AdminFrom(r.Context())
		tenants, err := d.Admin.Tenants(r.Context())
		if err != nil {
			d.Kit.RenderError(w, r, fmt.Errorf("web: dashboard: list tenants: %w", err))
			return
		}
		d.Kit.Render(w, r, http.StatusOK, "admin_dashboard", dashboardView{
			adminPage:   newAdminPage(r, "Administration"),
			FullName:    auth.User.FullName(),
			HomeTenant:  auth.Tenant,
			Tenants:     tenants,
			SessionEnds: auth.Session.AbsExpiresAt,
		})
	})
}
