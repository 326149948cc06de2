package sso

import (
	"cmp"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/login"
	"github.com/lanyard-sso/lanyard/saml"
	"github.com/lanyard-sso/lanyard/tenantcfg"
	"github.com/lanyard-sso/lanyard/web/internal/ui"
)

// The SAML tracer: every refused SSO login of a known tenant is kept
// (bounded, see admin.RecordLoginTrace) with its decoded message, for the
// admin pages under /admin/tenants/{tenant}/traces. "Test SSO connection"
// runs a login whose return path is ui.SSOTestPath: the ACS then records what
// the login would do as a trace, opens no session, and shows the trace.

// Reason codes of the traces of "Test SSO connection".
const (
	reasonTestAllowed = "sso_test_allowed" // the test login would be accepted
	reasonTestRefused = "sso_test_refused" // the test login would be refused by policy
)

// decodedSAMLResponse returns the XML of the SAMLResponse form field of an
// ACS request, "" when there is none or it is not base64.
func decodedSAMLResponse(r *http.Request) string {
	if r.PostForm == nil {
		return ""
	}
	raw := r.PostForm.Get("SAMLResponse")
	if raw == "" {
		return ""
	}
	// The decoder skips line breaks itself; other spaces are taken out
	// only when there are any (every login decodes the message here).
	b, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		b, err = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(raw), ""))
	}
	if err != nil {
		return fmt.Sprintf("(the SAMLResponse field is not base64: %v)", err)
	}
	return string(b)
}

// clockSkewOf measures how far the IdP's clock is ahead of ours from the
// IssueInstant of doc (the assertion's when there is one), 0 when unknown.
func clockSkewOf(doc string, now time.Time) time.Duration {
	var when string
	issueInstants(doc, func(element, value string) {
		if when == "" || element == "Assertion" {
			when = value
		}
	})
	t, err := time.Parse(time.RFC3339Nano, when)
	if err != nil {
		return 0
	}
	return t.Sub(now).Round(time.Second)
}

// traceRefusal keeps a refused SSO login for the SAML tracer. Failures are
// logged: the refusal itself is already in the audit trail and the log.
func (d *Deps) traceRefusal(r *http.Request, a *ssoAttempt, f ssoRefusal, ref string) {
	if d.Traces == nil || a.tenant.ID == 0 {
		return
	}
	doc := decodedSAMLResponse(r)
	skew := clockSkewOf(doc, d.Kit.Now())
	if skew == 0 {
		// The clock offset, never the distance outside the window.
		skew = f.clockOffset
	}
	// The page's reference is the audit event's ID, or a time when the
	// event could not be written (then the trace has none).
	auditID, _ := strconv.ParseInt(ref, 10, 64)
	_, err := d.Traces.RecordLoginTrace(r.Context(), lanyard.LoginTrace{
		TenantID:    a.tenant.ID,
		AuditID:     auditID,
		IdPEntityID: a.idp,
		Subject:     cmp.Or(a.login, a.nameID),
		Reason:      f.reason,
		Message:     f.detail,
		ClockSkew:   skew,
		ClientIP:    a.client,
		Document:    doc,
	})
	if err != nil {
		d.Kit.Logger.Error("SAML tracer: refused login not kept", "tenant", a.slug, "reason", f.reason, "err", err)
	}
}

// completeSSOTest finishes a test login at the ACS: the assertion was
// accepted; the login is resolved without writing anything (login.Options
// DryRun), the outcome kept as a trace, and the browser sent to it. No
// session is opened and no account changes.
func (d *Deps) completeSSOTest(w http.ResponseWriter, r *http.Request, a *ssoAttempt, snap *tenantcfg.Snapshot, idp string, as *saml.Assertion) {
	ctx := r.Context()
	if d.Traces == nil {
		d.Kit.RenderError(w, r, errNoTracer)
		return
	}
	res, err := d.Logins.Resolve(ctx, snap.Tenant, loginAssertion(idp, as), login.Options{DryRun: true})
	var (
		refusal *login.Refusal
		report  strings.Builder
		reason  = reasonTestAllowed
		message string
	)
	fmt.Fprintf(&report, "NameID: %s (%s)\n", as.NameID.Value, cmp.Or(as.NameID.Format, "no format"))
	fmt.Fprintf(&report, "Session index: %s\n\nAttributes:\n", cmp.Or(as.SessionIndex, "-"))
	for _, at := range as.Attributes {
		fmt.Fprintf(&report, "  %s = %s\n", at.Name, strings.Join(at.Values, "; "))
	}
	switch {
	case errors.As(err, &refusal):
		reason = reasonTestRefused
		message = fmt.Sprintf("The login would be refused (%s): %s", refusal.Reason, refusal.AdminMessage)
		a.login = refusal.Login
	case err != nil:
		d.Kit.RenderError(w, r, fmt.Errorf("web: SSO test of %s: %w", a.slug, err))
		return
	default:
		a.login = res.User.Login
		p := res.Profile
		fmt.Fprintf(&report, "\nAttribute mapping:\n  login: %s%s\n  firstname: %s\n  lastname: %s\n  email: %s\n  groups: %s\n",
			p.Login, map[bool]string{true: " (from the NameID)"}[p.LoginFromNameID], p.FirstName, p.LastName, p.Email, strings.Join(p.Groups, "; "))
		how := map[string]string{login.ByLink: "the account already linked to this identity", login.ByLogin: "the account with this login",
			login.ByEmail: "the account with this email", login.ByCreated: "a NEW account (just-in-time provisioning)"}[res.FoundBy]
		fmt.Fprintf(&report, "\nAccount: %s, %s\n", res.User.Login, cmp.Or(how, res.FoundBy))
		if len(res.Changes) > 0 {
			fmt.Fprintf(&report, "Changes the login would make:\n  %s\n", strings.Join(res.Changes, "\n  "))
		} else {
			report.WriteString("Changes the login would make: none\n")
		}
		fmt.Fprintf(&report, "Roles after the login: %s\n", cmp.Or(strings.Join(res.User.RoleNames(), ","), "none"))
		message = fmt.Sprintf("The login would be allowed: %s would be signed in.", res.User.Login)
	}
	report.WriteString("\nDecoded response:\n")
	report.WriteString(decodedSAMLResponse(r))
	tr, err := d.Traces.RecordLoginTrace(ctx, lanyard.LoginTrace{
		TenantID: snap.Tenant.ID, IdPEntityID: idp, Subject: cmp.Or(a.login, a.nameID), Reason: reason,
		Message: message, Hint: "This was a test started by an administrator: no session was opened and no account was changed.",
		ClockSkew: clockSkewOf(decodedSAMLResponse(r), d.Kit.Now()), ClientIP: a.client, Document: report.String(),
	})
	if err != nil {
		d.Kit.RenderError(w, r, fmt.Errorf("web: SSO test of %s: keep the report: %w", a.slug, err))
		return
	}
	d.Kit.Audit(ctx, lanyard.AuditEvent{TenantID: snap.Tenant.ID, Actor: cmp.Or(a.login, a.nameID, "anonymous"), Action: "sso.test",
		Outcome: lanyard.OutcomeSuccess, Reason: reason, Subject: cmp.Or(a.login, a.nameID), ClientIP: a.client, Message: message})
	ui.Redirect(w, r, fmt.Sprintf("/admin/tenants/%s/traces/%d", url.PathEscape(snap.Tenant.Slug), tr.ID))
}
