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
	// Warnings are the certificates of the tenants shown that expire
	// within 30 days, urgent ones (7 days) first.
	Warnings []certWarning
}

// certWarning is a certificate expiry warning of the home page.
type certWarning struct {
	Tenant string
	Text   string
	Urgent bool
}

// certWarnings lists the expiry warnings of the tenants' certificates at
// now, urgent ones first.
func (d *Deps) certWarnings(r *http.Request, tenants []lanyard.Tenant) ([]certWarning, error) {
	now := d.Kit.Now()
	var urgent, notice []certWarning
	for _, t := range tenants {
		certs, err := d.Admin.Certificates(r.Context(), t.Slug)
		if err != nil {
			return nil, err
		}
		for _, c := range certs {
			w := c.Warning(now)
			switch {
			case w == "":
			case c.Urgent(now):
				urgent = append(urgent, certWarning{Tenant: t.Slug, Text: w, Urgent: true})
			default:
				notice = append(notice, certWarning{Tenant: t.Slug, Text: w})
			}
		}
	}
	return append(urgent, notice...), nil
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
		warnings, err := d.certWarnings(r, tenants)
		if err != nil {
			d.Kit.RenderError(w, r, fmt.Errorf("web: dashboard: certificates: %w", err))
			return
		}
		d.Kit.Render(w, r, http.StatusOK, "admin_dashboard", dashboardView{
			adminPage:   newAdminPage(r, "Administration"),
			FullName:    auth.User.FullName(),
			HomeTenant:  auth.Tenant,
			Tenants:     tenants,
			SessionEnds: auth.Session.AbsExpiresAt,
			Warnings:    warnings,
		})
	})
}
