package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/admin"
)

func (a *app) tokenCreate(ctx context.Context, path string, args []string) error {
	fs := a.newFlagSet(path, "NAME [--scopes read,write] [--expires 90d] [--tenant SLUG]", "create a bearer token of the JSON API (/api/v1/) and print it once")
	scopes := fs.String("scopes", lanyard.ScopeRead, "`scopes` separated by commas: read (GET calls) or write (every call); or scim alone, with --tenant, for a SCIM client")
	tenant := fs.String("tenant", "", "a token of this tenant `slug` only (default: a global token, an operator's)")
	expires := fs.String("expires", "90d", "validity: a `duration` such as 90d, 12h or 0 for until revoked")
	return a.storeCommand(ctx, fs, args, 1, 1, func(svc *admin.Service, pos []string) error {
		ttl, err := parseDays(*expires)
		if err != nil {
			return &usageError{cmd: path, msg: fmt.Sprintf("--expires %q: %v", *expires, err)}
		}
		tok, secret, err := svc.CreateTenantAPIToken(ctx, admin.ActorCLI, *tenant, pos[0], strings.Split(*scopes, ","), ttl)
		if err != nil {
			return err
		}
		fmt.Fprintln(a.stdout, secret)
		expiry := "never (revoke it with: lanyard token revoke " + tok.Name + ")"
		if !tok.ExpiresAt.IsZero() {
			expiry = formatTime(tok.ExpiresAt)
		}
		scope := "global (operator)"
		if *tenant != "" {
			scope = "tenant " + *tenant + " only"
		}
		fmt.Fprintf(a.stderr, "created API token %s (%s, scopes %s, expires %s); it is shown only once: send it as \"Authorization: Bearer <token>\"\n",
			tok.Name, scope, strings.Join(tok.Scopes, ","), expiry)
		return nil
	})
}

// parseDays reads a Go duration, also accepting a number of days ("90d").
func parseDays(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("want a number of days such as 90d")
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	if s == "0" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("want a duration such as 90d or 12h")
	}
	return d, nil
}

func (a *app) tokenList(ctx context.Context, path string, args []string) error {
	fs := a.newFlagSet(path, "", "list the API tokens")
	return a.storeCommand(ctx, fs, args, 0, 0, func(svc *admin.Service, _ []string) error {
		toks, err := svc.APITokens(ctx)
		if err != nil {
			return err
		}
		if len(toks) == 0 {
			fmt.Fprintln(a.stdout, "no API tokens; create one with: lanyard token create NAME --scopes read,write")
			return nil
		}
		tenants, err := svc.Tenants(ctx)
		if err != nil {
			return err
		}
		slugs := map[int64]string{0: "(global)"}
		for _, t := range tenants {
			slugs[t.ID] = t.Slug
		}
		tw := newTable(a.stdout)
		fmt.Fprintln(tw, "ID\tNAME\tPREFIX\tSCOPES\tSTATE\tCREATED\tBY\tEXPIRES\tLAST USED\tTENANT")
		now := time.Now()
		for _, t := range toks {
			state := "live"
			switch {
			case !t.RevokedAt.IsZero():
				state = "revoked " + formatTime(t.RevokedAt)
			case !t.Live(now):
				state = "expired"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s…\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.Prefix, strings.Join(t.Scopes, ","), state,
				formatTime(t.CreatedAt), t.CreatedBy, formatTime(t.ExpiresAt), formatTime(t.LastUsedAt), slugs[t.TenantID])
		}
		return tw.Flush()
	})
}

func (a *app) tokenRevoke(ctx context.Context, path string, args []string) error {
	fs := a.newFlagSet(path, "NAME|ID", "revoke an API token at once")
	return a.storeCommand(ctx, fs, args, 1, 1, func(svc *admin.Service, pos []string) error {
		tok, err := svc.RevokeAPIToken(ctx, admin.ActorCLI, pos[0])
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "revoked API token %s (%s…)\n", tok.Name, tok.Prefix)
		return nil
	})
}

func (a *app) traceList(ctx context.Context, path string, args []string) error {
	fs := a.newFlagSet(path, "[--tenant SLUG] [--reason CODE] [--limit N]", "list refused SSO logins kept by the SAML tracer")
	tenant := tenantFlag(fs)
	reason := fs.String("reason", "", "only refusals with this reason `code`")
	limit := fs.Int("limit", 50, "show at most `n` traces")
	return a.storeCommand(ctx, fs, args, 0, 0, func(svc *admin.Service, _ []string) error {
		traces, err := svc.LoginTraces(ctx, *tenant, *reason, *limit, 0)
		if err != nil {
			return err
		}
		if len(traces) == 0 {
			fmt.Fprintf(a.stdout, "no refused SSO login kept for tenant %s (kept %d per tenant, for %s)\n", *tenant, admin.TraceKeepPerTenant, admin.TraceRetention)
			return nil
		}
		tw := newTable(a.stdout)
		fmt.Fprintln(tw, "REF\tTIME\tREASON\tIDP\tSUBJECT\tIDP CLOCK OFFSET\tMESSAGE")
		for _, t := range traces {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", traceRef(t), formatTime(t.Time), printable(t.Reason), orDash(t.IdPEntityID), orDash(t.Subject), clockOffset(t.ClockSkew), oneLine(t.Message, 100))
		}
		return tw.Flush()
	})
}

// traceRef is how trace list names a trace: the reference of its refusal
// page (the audit event's ID), or #ID for a trace without one.
func traceRef(t lanyard.LoginTrace) string {
	if t.AuditID != 0 {
		return strconv.FormatInt(t.AuditID, 10)
	}
	return "#" + strconv.FormatInt(t.ID, 10)
}

func (a *app) traceShow(ctx context.Context, path string, args []string) error {
	fs := a.newFlagSet(path, "REF | --tenant SLUG #ID", "show a refused SSO login by the reference its page showed (also the REF of trace list and the ID of its audit event): reason, hint, clock difference and the decoded SAML message")
	tenant := tenantFlag(fs)
	return a.storeCommand(ctx, fs, args, 1, 1, func(svc *admin.Service, pos []string) error {
		var (
			t    lanyard.LoginTrace
			slug string
		)
		if n, ok := strings.CutPrefix(pos[0], "#"); ok {
			// A trace without a reference, by its own ID, in --tenant.
			id, err := strconv.ParseInt(n, 10, 64)
			if err != nil {
				return &usageError{cmd: path, msg: fmt.Sprintf("trace %q: give the REF shown by lanyard trace list", pos[0])}
			}
			if t, err = svc.LoginTrace(ctx, *tenant, id); err != nil {
				return err
			}
			slug = *tenant
		} else {
			ref, err := strconv.ParseInt(pos[0], 10, 64)
			if err != nil {
				return &usageError{cmd: path, msg: fmt.Sprintf("reference %q: give the number shown on the refusal page or by lanyard trace list", pos[0])}
			}
			if t, slug, err = svc.LoginTraceByRef(ctx, ref); err != nil {
				return err
			}
		}
		tw := newTable(a.stdout)
		row := func(k, v string) { fmt.Fprintf(tw, "%s:\t%s\n", k, v) }
		row("Reference", traceRef(t))
		row("Tenant", slug)
		row("Time", formatTime(t.Time))
		row("Reason", t.Reason)
		row("Message", t.Message)
		row("IdP", orDash(t.IdPEntityID))
		row("Subject", orDash(t.Subject))
		row("Client", orDash(t.ClientIP))
		row("IdP clock offset", clockOffset(t.ClockSkew))
		tw.Flush()
		fmt.Fprintf(a.stdout, "\nHint: %s\n\n%s\n", t.Hint, orDash(t.Document))
		return nil
	})
}

// clockOffset describes how far the IdP's clock is from Lanyard's (not how
// far outside the allowed window a message was: the message says that).
func clockOffset(d time.Duration) string {
	switch {
	case d == 0:
		return "-"
	case d > 0:
		return "IdP ahead by " + d.String()
	}
	return "IdP behind by " + (-d).String()
}

// oneLine returns s on one line, cut to n characters.
func oneLine(s string, n int) string {
	s = printable(strings.Join(strings.Fields(s), " "))
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func (a *app) auditList(ctx context.Context, path string, args []string) error {
	fs := a.newFlagSet(path, "[--id REF] [--tenant SLUG] [--user LOGIN] [--action A] [--outcome success|failure] [--reason CODE] [--since 24h] [--limit N]", "list audit events, newest first")
	id := fs.Int64("id", 0, "only the event with this `ID` (the reference a refusal page shows)")
	tenant := fs.String("tenant", "", "`slug` of the tenant (default: every tenant)")
	user := fs.String("user", "", "only events about this `login` (needs --tenant)")
	action := fs.String("action", "", "only this `action`, e.g. user.merge or sso.login")
	outcome := fs.String("outcome", "", "only this `outcome`: success or failure")
	reason := fs.String("reason", "", "only this reason `code`")
	since := fs.String("since", "", "only events of the last `duration` (e.g. 24h, 7d)")
	limit := fs.Int("limit", 100, "show at most `n` events (up to 1000)")
	return a.storeCommand(ctx, fs, args, 0, 0, func(svc *admin.Service, _ []string) error {
		f := lanyard.AuditFilter{ID: *id, Action: *action, Outcome: lanyard.Outcome(*outcome), Reason: *reason, Limit: *limit}
		if *since != "" {
			d, err := parseDays(*since)
			if err != nil {
				return &usageError{cmd: path, msg: fmt.Sprintf("--since %q: %v", *since, err)}
			}
			f.Since = time.Now().Add(-d)
		}
		evs, err := svc.AuditLog(ctx, admin.AuditQuery{Tenant: *tenant, User: *user, Filter: f})
		if err != nil {
			return err
		}
		tw := newTable(a.stdout)
		fmt.Fprintln(tw, "ID\tTIME\tACTOR\tACTION\tOUTCOME\tREASON\tSUBJECT\tCLIENT\tMESSAGE")
		for _, e := range evs {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.ID, formatTime(e.Time), printable(e.Actor), printable(e.Action), e.Outcome, orDash(e.Reason), orDash(e.Subject), orDash(e.ClientIP), oneLine(e.Message, 120))
		}
		return tw.Flush()
	})
}
