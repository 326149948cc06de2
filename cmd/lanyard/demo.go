package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/admin"
	"github.com/lanyard-sso/lanyard/devidp"
	"github.com/lanyard-sso/lanyard/sqlstore"
	"github.com/lanyard-sso/lanyard/tenantcfg"
)

// The demo: "lanyard demo" is "lanyard serve" with a development IdP
// mounted under /devidp/ on the same port, a tenant wired to it, and a
// sample application page at /demo/ behind sign-in.
const (
	demoTenantSlug = "demo"
	demoIdPPath    = "/devidp"
	demoPagePath   = "/demo/"
	// demoDataDir is the default --data of the demo, apart from serve's.
	demoDataDir = "./demo-data"
)

// demoSettings are the demo tenant's settings: SSO on, accounts created on
// first sign-in, the dev IdP's groups as roles, IdP-initiated sign-in
// allowed (the dev IdP's start page offers it), a re-check every minute so
// that it can be watched, and the sample page as the landing page.
var demoSettings = []string{
	"enabled=true", "jit=true", "idp_initiated=true",
	"group_roles.staff=staff", "group_roles.admins=admin;" + lanyard.RoleTenantAdmin,
	"refresh_interval=60s", "default_landing=" + demoPagePath,
}

// demoRun is the state of a running demo. Its methods do nothing on a nil
// receiver, which is what serve has when it is not running the demo.
type demoRun struct {
	idp *devidp.IdP
	// err is a failure to build the IdP, reported by setup (the handler
	// is built where errors cannot be returned).
	err     error
	dataDir string
}

// demo runs "lanyard demo": serve, plus the development IdP and the demo
// tenant.
func (a *app) demo(ctx context.Context, path string, args []string) error {
	a.demoRun = &demoRun{}
	defer func() { a.demoRun = nil }()
	return a.serve(ctx, path, args)
}

// configDefaults are the demo's defaults of the serve flags.
func (d *demoRun) configDefaults() map[string]string {
	if d == nil {
		return nil
	}
	return map[string]string{"data": demoDataDir}
}

// demoSummary is the first line of the demo's help.
const demoSummary = "run a whole SSO demo on one port: Lanyard, a development IdP and a sample page, ready to sign in to"

// usage is added to serve's help text.
func (d *demoRun) usage() string {
	if d == nil {
		return ""
	}
	return "The demo runs a development IdP (never for real accounts) at /devidp/ with the users\n" +
		"alice and bob (password " + devidp.DemoPassword + "), a tenant \"demo\" connected to it, and a sample\n" +
		"page at /demo/ behind sign-in. Its data lives in " + demoDataDir + " unless --data says otherwise.\n"
}

// tenant is the web server's DemoTenant.
func (d *demoRun) tenant() string {
	if d == nil {
		return ""
	}
	return demoTenantSlug
}

// mount serves the development IdP under /devidp/ beside Lanyard.
func (d *demoRun) mount(base *url.URL, data string, logger *slog.Logger, lanyardHandler http.Handler) http.Handler {
	if d == nil {
		return lanyardHandler
	}
	d.dataDir = data
	key, cert, _, err := devIdPKeyPair("", "", data)
	if err != nil {
		d.err = fmt.Errorf("demo: development IdP key: %w", err)
		return lanyardHandler
	}
	d.idp, err = devidp.New(devidp.Config{
		BaseURL: base.String() + demoIdPPath,
		Key:     key,
		Cert:    cert,
		Logger:  logger.With("component", "devidp"),
	})
	if err != nil {
		d.err = fmt.Errorf("demo: development IdP: %w", err)
		return lanyardHandler
	}
	mux := http.NewServeMux()
	mux.Handle(demoIdPPath+"/", d.idp)
	mux.Handle(demoIdPPath, http.RedirectHandler(demoIdPPath+"/", http.StatusMovedPermanently))
	mux.Handle("/", lanyardHandler)
	return mux
}

// setup creates the demo tenant (once), connects it to the development IdP
// (again at every start: the IdP's metadata holds its URL), makes the IdP
// trust the tenant's SP.
func (d *demoRun) setup(ctx context.Context, base *url.URL, db *sqlstore.DB, svc *admin.Service) error {
	if d == nil {
		return nil
	}
	if d.err != nil {
		return d.err
	}
	if _, err := svc.Tenant(ctx, demoTenantSlug); errors.Is(err, lanyard.ErrNotFound) {
		if _, err := svc.CreateTenant(ctx, "demo", demoTenantSlug, "Demo", []string{"example.com"}); err != nil {
			return fmt.Errorf("demo: create tenant: %w", err)
		}
	} else if err != nil {
		return fmt.Errorf("demo: tenant: %w", err)
	}
	if _, _, err := svc.SetTenant(ctx, "demo", demoTenantSlug, demoSettings); err != nil {
		return fmt.Errorf("demo: tenant settings: %w", err)
	}
	if _, _, err := svc.ImportIdP(ctx, "demo", demoTenantSlug, admin.IdPSource{Metadata: d.idp.Metadata()}); err != nil {
		return fmt.Errorf("demo: connect the development IdP: %w", err)
	}
	snap, err := tenantcfg.New(db, tenantcfg.Options{BaseURL: base}).Snapshot(ctx, demoTenantSlug)
	if err != nil {
		return fmt.Errorf("demo: SP metadata: %w", err)
	}
	if err := d.idp.TrustSPMetadata(snap.Metadata); err != nil {
		return fmt.Errorf("demo: trust the SP in the development IdP: %w", err)
	}
	return nil
}

// announce prints where to go, once the server is ready.
func (d *demoRun) announce(out io.Writer, base *url.URL, prog string) {
	if d == nil {
		return
	}
	fmt.Fprintf(out, `
Lanyard demo
  Open %[1]s%[2]s and sign in at the development IdP as
    alice / %[3]s   (groups staff and admins: roles staff, admin; administrator of tenant demo only)
    bob   / %[3]s   (group staff: role staff)
  Username-first sign-in:   %[1]s/login  (type alice@example.com)
  Admin UI:                 %[1]s/admin/  (signed in as alice: the demo tenant's pages)
  Development IdP:          %[1]s%[4]s/
  Data:                     %[5]s
  An operator (all of Lanyard) with a password, in another terminal while the demo runs:
    %[6]s admin create root --generate --data %[5]s
  Stop with Ctrl-C.

`, base, demoPagePath, devidp.DemoPassword, demoIdPPath, absPath(d.dataDir), prog)
}

// absPath is p made absolute when possible, for messages.
func absPath(p string) string {
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}
