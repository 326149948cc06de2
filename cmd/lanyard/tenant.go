package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/lanyard-sso/lanyard/admin"
)

func (a *app) tenantCreate(ctx context.Context, path string, args []string) error {
	fs := a.newFlagSet(path, "SLUG [--name NAME] [--domains a.com,b.com]", "create a tenant with its SP signing and encryption keys; SSO stays off until 'lanyard tenant set SLUG enabled=true'")
	name := fs.String("name", "", "display `name` of the tenant")
	domains := fs.String("domains", "", "comma-separated email `domains` whose users belong to the tenant")
	return a.storeCommand(ctx, fs, args, 1, 1, func(svc *admin.Service, pos []string) error {
		t, err := svc.CreateTenant(ctx, admin.ActorCLI, pos[0], *name, strings.Split(*domains, ","))
		if err != nil {
			return err
		}
		e := svc.Endpoints(t)
		fmt.Fprintf(a.stdout, "created tenant %s with a signing and an encryption key\n", t.Slug)
		fmt.Fprintf(a.stdout, "  SP metadata: %s\n  ACS URL:     %s\n", e.MetadataURL, e.ACSURL)
		base := a.storeConfig.BaseURL.String()
		if a.storeConfig.BaseURLDerived {
			fmt.Fprintf(a.stdout, "  (these URLs assume the base URL %s: none is configured here. If the server runs\n"+
				"  with another, give it the same --base-url, LANYARD_BASE_URL or --config, or read the URLs\n"+
				"  with 'lanyard tenant show %s --base-url URL')\n", base, t.Slug)
		}
		fmt.Fprintf(a.stdout, `next, for a first login:
  1. connect the IdP (and give it the SP metadata above):
       lanyard idp import --tenant %[1]s --metadata https://idp.example.com/metadata
  2. turn SSO on, creating accounts at their first login (JIT):
       lanyard tenant set %[1]s enabled=true jit=true
     (without jit=true only accounts added beforehand may sign in: lanyard user add --tenant %[1]s LOGIN)
  3. sign in at %[2]s/t/%[1]s/saml/login
`, t.Slug, base)
		return nil
	})
}

func (a *app) tenantList(ctx context.Context, path string, args []string) error {
	fs := a.newFlagSet(path, "", "list tenants")
	return a.storeCommand(ctx, fs, args, 0, 0, func(svc *admin.Service, _ []string) error {
		tenants, err := svc.Tenants(ctx)
		if err != nil {
			return err
		}
		tw := newTable(a.stdout)
		fmt.Fprintln(tw, "SLUG\tNAME\tSSO\tJIT\tIDPS\tUSERS\tEMAIL DOMAINS")
		for _, t := range tenants {
			info, err := svc.DescribeTenant(ctx, t.Slug)
			if err != nil {
				return err
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%s\n", t.Slug, orDash(t.DisplayName), onOff(t.SSO.Enabled), onOff(t.SSO.JIT),
				len(info.IdPs), info.Users, orDash(strings.Join(t.EmailDomains, ",")))
		}
		return tw.Flush()
	})
}

func (a *app) tenantShow(ctx context.Context, path string, args []string) error {
	fs := a.newFlagSet(path, "SLUG", "show a tenant's SP endpoints, keys, IdP connections and settings")
	return a.storeCommand(ctx, fs, args, 1, 1, func(svc *admin.Service, pos []string) error {
		info, err := svc.DescribeTenant(ctx, pos[0])
		if err != nil {
			return err
		}
		printTenant(a.stdout, info)
		return nil
	})
}

// printTenant writes what "tenant show" shows.
func printTenant(w io.Writer, info admin.TenantInfo) {
	t, e := info.Tenant, info.Endpoints
	fmt.Fprintf(w, "Tenant %s", t.Slug)
	if t.DisplayName != "" {
		fmt.Fprintf(w, " (%s)", t.DisplayName)
	}
	fmt.Fprintf(w, "\n  SSO:        %s\n  Users:      %d\n  Created:    %s\n  Updated:    %s\n",
		onOff(t.SSO.Enabled), info.Users, formatTime(t.CreatedAt), formatTime(t.UpdatedAt))

	fmt.Fprintln(w, "\nService Provider (give these to the IdP administrator)")
	tw := newTable(w)
	fmt.Fprintf(tw, "  Entity ID:\t%s\n", e.EntityID)
	fmt.Fprintf(tw, "  Metadata URL:\t%s\n", e.MetadataURL)
	fmt.Fprintf(tw, "  ACS URL:\t%s (HTTP-POST)\n", e.ACSURL)
	fmt.Fprintf(tw, "  SLO URL:\t%s (HTTP-Redirect, HTTP-POST)\n", e.SLOURL)
	fmt.Fprintf(tw, "  Login URL:\t%s\n", e.LoginURL)
	tw.Flush()

	fmt.Fprintln(w, "\nSP keys")
	if len(info.Keys) == 0 {
		fmt.Fprintln(w, "  (none)")
	}
	tw = newTable(w)
	for _, k := range info.Keys {
		state := "active"
		if !k.Active {
			state = "retired"
		}
		if k.Problem != "" {
			fmt.Fprintf(tw, "  %s\t%s\tunusable: %s\n", k.Use, state, k.Problem)
			continue
		}
		fmt.Fprintf(tw, "  %s\t%s\texpires %s\tSHA-256 %s\n", k.Use, state, k.NotAfter.UTC().Format("2006-01-02"), k.Fingerprint)
	}
	tw.Flush()

	fmt.Fprintln(w, "\nIdP connections")
	if len(info.IdPs) == 0 {
		fmt.Fprintln(w, "  (none)")
	}
	for _, c := range info.IdPs {
		fmt.Fprintf(w, "  %s (%d signing certificate(s)", c.EntityID, len(c.SigningCerts))
		if c.SourceURL != "" {
			fmt.Fprintf(w, ", from %s", c.SourceURL)
		}
		if c.RefreshError != "" {
			fmt.Fprintf(w, "; last refresh failed: %s", c.RefreshError)
		}
		fmt.Fprintln(w, ")")
	}

	fmt.Fprintf(w, "\nSettings (change with: lanyard tenant set %s key=value...)\n", t.Slug)
	tw = newTable(w)
	for _, kv := range admin.TenantSettingValues(t) {
		fmt.Fprintf(tw, "  %s\t%s\n", kv.Key, orDash(kv.Value))
	}
	tw.Flush()
}

func (a *app) tenantSet(ctx context.Context, path string, args []string) error {
	fs := a.newFlagSet(path, "SLUG key=value...", "change tenant settings; all are checked before any is written")
	var b strings.Builder
	b.WriteString("Keys:\n")
	tw := newTable(&b)
	for _, kv := range admin.TenantSettingKeys() {
		fmt.Fprintf(tw, "  %s\t%s\n", kv.Key, kv.Values)
	}
	tw.Flush()
	b.WriteString("\nBooleans accept true/false, yes/no, on/off, 1/0; durations 90s, 3m, 8h or seconds.\n" +
		"Example: lanyard tenant set acme enabled=true jit=true 'group_roles.Domain Admins=admin'\n")
	fs.extra = b.String()
	return a.storeCommand(ctx, fs, args, 2, -1, func(svc *admin.Service, pos []string) error {
		a.warnRoleSettings(pos[1:])
		t, changes, err := svc.SetTenant(ctx, admin.ActorCLI, pos[0], pos[1:])
		if err != nil {
			return err
		}
		printChanges(a.stdout, "tenant "+t.Slug, changes)
		return nil
	})
}

// printChanges reports the changes made to a record, or that there were none.
func printChanges(w io.Writer, what string, changes []string) {
	if len(changes) == 0 {
		fmt.Fprintf(w, "%s: nothing changed\n", what)
		return
	}
	fmt.Fprintf(w, "updated %s:\n", what)
	for _, c := range changes {
		fmt.Fprintf(w, "  %s\n", c)
	}
}

// newTable returns a writer that aligns tab-separated columns.
func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// orDash is the value escaped for the terminal (printable), or "-" when empty.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return printable(s)
}

// formatTime prints an instant in UTC to the minute; "never" for zero.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}
