package admin

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/lanyard-sso/lanyard"
)

// OIDCClientAdmin manages the OpenID Connect clients of tenants.
type OIDCClientAdmin interface {
	OIDCClients(ctx context.Context, tenantSlug string) ([]lanyard.OIDCClient, error)
	CreateOIDCClient(ctx context.Context, actor, tenantSlug, clientID string, settings []string) (lanyard.OIDCClient, string, error)
	RotateOIDCClientSecret(ctx context.Context, actor, tenantSlug, clientID string) (string, error)
	DeleteOIDCClient(ctx context.Context, actor, tenantSlug, clientID string) error
}

type oidcClientsView struct {
	adminPage
	Slug     string
	Issuer   string
	Clients  []lanyard.OIDCClient
	ClientID string // of a secret just made
	Secret   string // shown once
}

// oidcFormKeys are the settings the registration form carries, by field name.
var oidcFormKeys = []string{"auth", "redirect_uris", "post_logout_redirect_uris", "scopes", "roles", "claims", "id_token_alg", "backchannel_logout_uri", "jwks", "name"}

// handleAdminOIDCClients lists a tenant's OpenID Connect clients with the
// form to register one.
func handleAdminOIDCClients(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.renderOIDCClients(w, r, newAdminPage(r, "OpenID Connect clients"), "", "")
	})
}

func (d *Deps) renderOIDCClients(w http.ResponseWriter, r *http.Request, page adminPage, clientID, secret string) {
	slug := r.PathValue("tenant")
	clients, err := d.Admin.OIDCClients(r.Context(), slug)
	if err != nil {
		d.Kit.RenderError(w, r, err)
		return
	}
	issuer := "/t/" + url.PathEscape(slug)
	d.Kit.Render(w, r, http.StatusOK, "admin_oidc", oidcClientsView{adminPage: page, Slug: slug, Issuer: issuer, Clients: clients, ClientID: clientID, Secret: secret})
}

// handleAdminOIDCClientCreate registers a client and shows its secret once
// (no redirect: the secret must not go into a URL).
func handleAdminOIDCClientCreate(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := d.adminForm(w, r); err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		page := newAdminPage(r, "OpenID Connect clients")
		var settings []string
		for _, k := range oidcFormKeys {
			if v := strings.TrimSpace(r.PostFormValue(k)); v != "" {
				settings = append(settings, k+"="+v)
			}
		}
		if r.PostFormValue("pairwise") != "" {
			settings = append(settings, "pairwise=true")
		}
		c, secret, err := d.Admin.CreateOIDCClient(r.Context(), actor(r), r.PathValue("tenant"), r.PostFormValue("client_id"), settings)
		if p := problems(err); p != nil {
			page.Problems = p
			d.renderOIDCClients(w, r, page, "", "")
			return
		}
		if err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		page.Notice = "Registered client " + c.ClientID + "."
		if secret != "" {
			page.Notice += " Copy its secret now: it is shown only once."
		}
		d.renderOIDCClients(w, r, page, c.ClientID, secret)
	})
}

// handleAdminOIDCClientSecret gives a client a new secret, shown once.
func handleAdminOIDCClientSecret(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := d.adminForm(w, r); err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		page := newAdminPage(r, "OpenID Connect clients")
		id := r.PostFormValue("client_id")
		secret, err := d.Admin.RotateOIDCClientSecret(r.Context(), actor(r), r.PathValue("tenant"), id)
		if err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		page.Notice = "New secret for client " + id + ". Copy it now: it is shown only once; the old one no longer works."
		d.renderOIDCClients(w, r, page, id, secret)
	})
}

// handleAdminOIDCClientDelete removes a client.
func handleAdminOIDCClientDelete(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := d.adminForm(w, r); err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		slug, id := r.PathValue("tenant"), r.PostFormValue("client_id")
		if err := d.Admin.DeleteOIDCClient(r.Context(), actor(r), slug, id); err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		done(w, r, "/admin/tenants/"+url.PathEscape(slug)+"/oidc", "Removed client "+id+".")
	})
}
