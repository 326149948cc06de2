package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/admin"
)

// OpenID Connect clients of a tenant's provider (issuer {base}/t/SLUG).

// oidcCommands is the "oidc" command group.
var oidcCommands = &command{name: "oidc", summary: "manage the OpenID Connect clients of a tenant's provider", sub: []*command{
	{name: "add", synopsis: "CLIENT_ID [--tenant SLUG] redirect_uris=URL[,URL] [key=value...]", summary: "register a client and print its secret once", exec: (*app).oidcAdd},
	{name: "list", synopsis: "[--tenant SLUG]", summary: "list the clients", exec: (*app).oidcList},
	{name: "set", synopsis: "CLIENT_ID [--tenant SLUG] key=value...", summary: "change settings of a client", exec: (*app).oidcSet},
	{name: "secret", synopsis: "CLIENT_ID [--tenant SLUG]", summary: "give a client a new secret and print it once", exec: (*app).oidcSecret},
	{name: "remove", synopsis: "CLIENT_ID [--tenant SLUG]", summary: "remove a client (its tokens stop working)", exec: (*app).oidcRemove},
}}

const oidcSettingsHelp = "settings: " + "name, auth (client_secret_basic|client_secret_post|private_key_jwt|none), redirect_uris, " +
	"post_logout_redirect_uris, scopes, roles, claims, pairwise (true|false), id_token_alg (RS256|ES256), backchannel_logout_uri, jwks"

func (a *app) oidcAdd(ctx context.Context, path string, args []string) error {
	fs := a.newFlagSet(path, "CLIENT_ID [--tenant SLUG] redirect_uris=URL[,URL] [key=value...]",
		"register an OpenID Connect client with the tenant's provider; "+oidcSettingsHelp)
	tenant := fs.String("tenant", lanyard.DefaultTenantSlug, "`slug` of the tenant")
	return a.storeCommand(ctx, fs, args, 1, -1, func(svc *admin.Service, pos []string) error {
		c, secret, err := svc.CreateOIDCClient(ctx, admin.ActorCLI, *tenant, pos[0], pos[1:])
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "client %s registered with tenant %s (%s)\n", c.ClientID, *tenant, c.AuthMethod)
		if secret != "" {
			fmt.Fprintf(a.stdout, "client secret (shown once, stored only as a hash): %s\n", secret)
		}
		return nil
	})
}

func (a *app) oidcList(ctx context.Context, path string, args []string) error {
	fs := a.newFlagSet(path, "[--tenant SLUG]", "list the OpenID Connect clients of a tenant")
	tenant := fs.String("tenant", lanyard.DefaultTenantSlug, "`slug` of the tenant")
	return a.storeCommand(ctx, fs, args, 0, 0, func(svc *admin.Service, _ []string) error {
		list, err := svc.OIDCClients(ctx, *tenant)
		if err != nil {
			return err
		}
		tw := newTable(a.stdout)
		fmt.Fprintln(tw, "CLIENT_ID\tAUTH\tREDIRECT_URIS\tSCOPES\tALG\tBACKCHANNEL")
		for _, c := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.ClientID, c.AuthMethod, strings.Join(c.RedirectURIs, ","),
				strings.Join(c.Scopes, ","), c.IDTokenAlg, orDash(c.BackChannelLogoutURI))
		}
		return tw.Flush()
	})
}

func (a *app) oidcSet(ctx context.Context, path string, args []string) error {
	fs := a.newFlagSet(path, "CLIENT_ID [--tenant SLUG] key=value...", "change settings of an OpenID Connect client; "+oidcSettingsHelp)
	tenant := fs.String("tenant", lanyard.DefaultTenantSlug, "`slug` of the tenant")
	return a.storeCommand(ctx, fs, args, 2, -1, func(svc *admin.Service, pos []string) error {
		c, err := svc.SetOIDCClient(ctx, admin.ActorCLI, *tenant, pos[0], pos[1:])
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "client %s updated\n", c.ClientID)
		return nil
	})
}

func (a *app) oidcSecret(ctx context.Context, path string, args []string) error {
	fs := a.newFlagSet(path, "CLIENT_ID [--tenant SLUG]", "give an OpenID Connect client a new secret; the old one stops working at once")
	tenant := fs.String("tenant", lanyard.DefaultTenantSlug, "`slug` of the tenant")
	return a.storeCommand(ctx, fs, args, 1, 1, func(svc *admin.Service, pos []string) error {
		secret, err := svc.RotateOIDCClientSecret(ctx, admin.ActorCLI, *tenant, pos[0])
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "client secret (shown once, stored only as a hash): %s\n", secret)
		return nil
	})
}

func (a *app) oidcRemove(ctx context.Context, path string, args []string) error {
	fs := a.newFlagSet(path, "CLIENT_ID [--tenant SLUG]", "remove an OpenID Connect client")
	tenant := fs.String("tenant", lanyard.DefaultTenantSlug, "`slug` of the tenant")
	return a.storeCommand(ctx, fs, args, 1, 1, func(svc *admin.Service, pos []string) error {
		if err := svc.DeleteOIDCClient(ctx, admin.ActorCLI, *tenant, pos[0]); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "client %s removed\n", pos[0])
		return nil
	})
}
