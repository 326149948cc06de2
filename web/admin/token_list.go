package admin

import (
	"net/http"
	"time"

	"github.com/lanyard-sso/lanyard"
)

type tokensView struct {
	adminPage
	Tokens []lanyard.APIToken
	// Tenants are those the administrator manages; TenantSlugs names them
	// by ID, for the tokens' column.
	Tenants     []lanyard.Tenant
	TenantSlugs map[int64]string
	Secret      string // a token just created, shown once
	Now         time.Time
}

// handleAdminTokens lists the API tokens with the form to create one.
func handleAdminTokens(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.renderTokens(w, r, newAdminPage(r, "API tokens"), "")
	})
}

func (d *Deps) renderTokens(w http.ResponseWriter, r *http.Request, page adminPage, secret string) {
	toks, err := d.Admin.APITokens(r.Context())
	if err != nil {
		d.Kit.RenderError(w, r, err)
		return
	}
	tenants, err := d.Admin.Tenants(r.Context())
	if err != nil {
		d.Kit.RenderError(w, r, err)
		return
	}
	slugs := map[int64]string{}
	for _, t := range tenants {
		slugs[t.ID] = t.Slug
	}
	d.Kit.Render(w, r, http.StatusOK, "admin_tokens", tokensView{adminPage: page, Tokens: toks, Tenants: tenants, TenantSlugs: slugs, Secret: secret, Now: d.Kit.Now()})
}
