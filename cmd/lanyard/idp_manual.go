package main

import (
	"context"
	"fmt"

	"github.com/lanyard-sso/lanyard/admin"
)

func (a *app) idpAdd(ctx context.Context, path string, args []string) error {
	fs := a.newFlagSet(path, "[--tenant SLUG] --entity-id ID --sso-url URL [--sso-binding redirect|post] [--slo-url URL] --cert FILE [--cert FILE...] [--legacy-sha1]",
		"connect a tenant to an IdP that publishes no metadata, from its entity ID, URLs and signing certificates; it then behaves exactly like an imported one (adding the same entity ID again replaces it)")
	tenant := tenantFlag(fs)
	entityID := fs.String("entity-id", "", "the IdP's entity `ID` (the Issuer of its responses)")
	ssoURL := fs.String("sso-url", "", "the IdP's single sign-on `URL`")
	binding := fs.String("sso-binding", "redirect", "`binding` of --sso-url: redirect (HTTP-Redirect) or post (HTTP-POST)")
	sloURL := fs.String("slo-url", "", "the IdP's single logout `URL` (HTTP-Redirect); none when empty")
	legacy := fs.Bool("legacy-sha1", false, "accept RSA-SHA1 signatures from this IdP (refused by default)")
	var certs []byte
	fs.Func("cert", "PEM `file` of a signing certificate of the IdP (repeat for several)", func(name string) error {
		data, err := readFileBounded(name, maxPinFile)
		if err != nil {
			return err
		}
		certs = append(append(certs, data...), '\n')
		return nil
	})
	fs.extra = "Example:\n  lanyard idp add --tenant acme --entity-id https://idp.example.com/ --sso-url https://idp.example.com/sso --cert idp-signing.pem\n"
	return a.storeCommand(ctx, fs, args, 0, 0, func(svc *admin.Service, _ []string) error {
		conn, warnings, err := svc.AddManualIdP(ctx, admin.ActorCLI, *tenant, admin.ManualIdP{
			EntityID: *entityID, SSOURL: *ssoURL, SSOBinding: *binding, SLOURL: *sloURL, SigningCertsPEM: certs, LegacySHA1: *legacy,
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "added IdP %s (configured by hand) in tenant %s\n", conn.EntityID, *tenant)
		printIdP(a.stdout, conn)
		printWarnings(a.stdout, warnings)
		return nil
	})
}
