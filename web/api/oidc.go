package api

import (
	"context"
	"net/http"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/apiv1"
)

// The OpenID Connect clients of a tenant (/api/v1/tenants/{t}/oidc/clients):
// the same use cases as 'lanyard oidc add|list|set|secret|remove'.

// OIDCClientAdmin registers and manages OpenID Connect clients.
type OIDCClientAdmin interface {
	OIDCClients(ctx context.Context, tenantSlug string) ([]lanyard.OIDCClient, error)
	OIDCClient(ctx context.Context, tenantSlug, clientID string) (lanyard.OIDCClient, error)
	CreateOIDCClient(ctx context.Context, actor, tenantSlug, clientID string, settings []string) (lanyard.OIDCClient, string, error)
	SetOIDCClient(ctx context.Context, actor, tenantSlug, clientID string, settings []string) (lanyard.OIDCClient, error)
	RotateOIDCClientSecret(ctx context.Context, actor, tenantSlug, clientID string) (string, error)
	DeleteOIDCClient(ctx context.Context, actor, tenantSlug, clientID string) error
}

// errNoOIDC answers when the server has no client administration.
var errNoOIDC = &lanyard.Error{Kind: lanyard.KindUnavailable, Message: "OpenID Connect clients are not available on this server"}

func handleOIDCClientList(d Deps) endpoint {
	return jsonCall(d, http.StatusOK, func(r *http.Request, _ none, _ none) (apiv1.OIDCClientList, error) {
		if d.OIDCClients == nil {
			return apiv1.OIDCClientList{}, errNoOIDC
		}
		list, err := d.OIDCClients.OIDCClients(r.Context(), r.PathValue("tenant"))
		if err != nil {
			return apiv1.OIDCClientList{}, err
		}
		return apiv1.OIDCClientList{Clients: listOf(list, toOIDCClient)}, nil
	})
}

func handleOIDCClientCreate(d Deps) endpoint {
	return jsonCall(d, http.StatusCreated, func(r *http.Request, _ none, in apiv1.OIDCClientCreate) (apiv1.OIDCClientCreated, error) {
		if d.OIDCClients == nil {
			return apiv1.OIDCClientCreated{}, errNoOIDC
		}
		c, secret, err := d.OIDCClients.CreateOIDCClient(r.Context(), actor(r), r.PathValue("tenant"), in.ClientID, settingsList(apiv1.Settings{Settings: in.Settings}))
		if err != nil {
			return apiv1.OIDCClientCreated{}, err
		}
		return apiv1.OIDCClientCreated{Client: toOIDCClient(c), Secret: secret}, nil
	})
}

func handleOIDCClientGet(d Deps) endpoint {
	return jsonCall(d, http.StatusOK, func(r *http.Request, _ none, _ none) (apiv1.OIDCClient, error) {
		if d.OIDCClients == nil {
			return apiv1.OIDCClient{}, errNoOIDC
		}
		c, err := d.OIDCClients.OIDCClient(r.Context(), r.PathValue("tenant"), r.PathValue("client"))
		if err != nil {
			return apiv1.OIDCClient{}, err
		}
		return toOIDCClient(c), nil
	})
}

func handleOIDCClientSet(d Deps) endpoint {
	return jsonCall(d, http.StatusOK, func(r *http.Request, _ none, in apiv1.Settings) (apiv1.OIDCClient, error) {
		if d.OIDCClients == nil {
			return apiv1.OIDCClient{}, errNoOIDC
		}
		c, err := d.OIDCClients.SetOIDCClient(r.Context(), actor(r), r.PathValue("tenant"), r.PathValue("client"), settingsList(in))
		if err != nil {
			return apiv1.OIDCClient{}, err
		}
		return toOIDCClient(c), nil
	})
}

func handleOIDCClientSecret(d Deps) endpoint {
	return jsonCall(d, http.StatusOK, func(r *http.Request, _ none, _ none) (apiv1.OIDCClientSecret, error) {
		if d.OIDCClients == nil {
			return apiv1.OIDCClientSecret{}, errNoOIDC
		}
		secret, err := d.OIDCClients.RotateOIDCClientSecret(r.Context(), actor(r), r.PathValue("tenant"), r.PathValue("client"))
		if err != nil {
			return apiv1.OIDCClientSecret{}, err
		}
		return apiv1.OIDCClientSecret{Secret: secret}, nil
	})
}

func handleOIDCClientDelete(d Deps) endpoint {
	return jsonCall(d, http.StatusOK, func(r *http.Request, _ none, _ none) (apiv1.Deleted, error) {
		if d.OIDCClients == nil {
			return apiv1.Deleted{}, errNoOIDC
		}
		id := r.PathValue("client")
		if err := d.OIDCClients.DeleteOIDCClient(r.Context(), actor(r), r.PathValue("tenant"), id); err != nil {
			return apiv1.Deleted{}, err
		}
		return apiv1.Deleted{Deleted: id}, nil
	})
}

func toOIDCClient(c lanyard.OIDCClient) apiv1.OIDCClient {
	return apiv1.OIDCClient{ClientID: c.ClientID, Name: c.Name, AuthMethod: c.AuthMethod, RedirectURIs: orEmpty(c.RedirectURIs),
		PostLogoutRedirectURIs: orEmpty(c.PostLogoutRedirectURIs), Scopes: orEmpty(c.Scopes), Roles: orEmpty(c.Roles),
		Claims: orEmpty(c.Claims), PairwiseSubject: c.PairwiseSubject, IDTokenAlg: c.IDTokenAlg,
		BackChannelLogoutURI: c.BackChannelLogoutURI, CreatedAt: c.CreatedAt}
}
