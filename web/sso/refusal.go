package sso

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/login"
	"github.com/lanyard-sso/lanyard/saml"
	"github.com/lanyard-sso/lanyard/tenantcfg"
	"github.com/lanyard-sso/lanyard/web/internal/ui"
)

// Audit action, metrics label and the reason codes of SSO logins that
// neither package login nor package saml defines. Reason codes are stable:
// dashboards and alerts match them.
const (
	actionSSOLogin = "sso.login"
	loginMethodSSO = "sso"

	reasonInitialising    = "initialising"           // the server is not ready yet
	reasonUnknownTenant   = "unknown_tenant"         // no tenant with the slug
	reasonNotConfigured   = "sso_not_configured"     // the tenant has no usable IdP
	reasonBindingMissing  = "binding_cookie_missing" // the browser sent no binding cookie
	reasonInternal        = "internal"               // a store or configuration failure
	reasonFormUnreadable  = "form_unreadable"        // the POST body could not be read
	reasonMissingResponse = "missing_response"       // no SAMLResponse field
)

// ssoAttempt is one SSO login (at /saml/login or the ACS) and what was
// learnt about it so far: every field may still be empty.
type ssoAttempt struct {
	slug      string
	tenant    lanyard.Tenant
	idp       string // entity ID of the IdP
	nameID    string
	login     string
	userID    int64
	client    string
	userAgent string
	// severalIdPs: the tenant has more than one IdP, so the user may have
	// chosen the wrong one.
	severalIdPs bool
	// document is the decoded SAMLResponse posted, for the observations of
	// a successful login; "" when none (artifact binding).
	document string
}

// ssoRefusal is why an SSO login failed: the stable reason code, the detail
// for the administrator (log and audit trail), and what the user reads.
type ssoRefusal struct {
	status  int
	reason  string
	detail  string
	title   string
	message string // what happened, for the user
	advice  string // what to do
	// retry offers to start the login again (protocol refusals that a new
	// attempt cures); never an automatic redirect, so never a loop.
	retry bool
	// switchAccount offers to sign in as someone else: the IdP is asked
	// to authenticate again (ForceAuthn), for a user signed in there under
	// an account Lanyard refuses.
	switchAccount bool
	// outsideWindowBy and clockOffset are the two figures of a time-window
	// refusal (see saml.Error): how far outside the allowed window the
	// message was, and how far the IdP's clock is from ours (0: unknown).
	outsideWindowBy, clockOffset time.Duration
	// logOnly is detail for the administrator's log line alone, never the
	// audit trail, tracer, page or metrics (saml.Error.Detail: what would
	// make a decryption oracle).
	logOnly string
}

// ssoRefusedView is the data of the refusal page.
type ssoRefusedView struct {
	Title   string
	Message string
	Advice  string
	Retry   *ui.Link
	// SwitchAccount signs in again with the IdP asking for credentials.
	SwitchAccount *ui.Link
	// OtherIdP shows the IdP chooser, when the tenant has several IdPs.
	OtherIdP  *ui.Link
	Reference string
	Time      string
}

// adviceAdmin ends every refusal the user cannot cure alone.
const adviceAdmin = "Give your administrator the reference below: it lets them find exactly what happened."

// advicePolicy is the way on from a refusal of the account: another
// account at the IdP, the administrator, or the IdP's own sign-out.
const advicePolicy = "If your identity provider signed you in under another account than the one you use here, sign in as someone else below: your identity provider asks for your credentials again (or sign out at your identity provider, then start again). Otherwise ask your administrator to check your account, and give them the reference below; once they have, start the sign-in again."

// policyRefusal turns a refusal of package login into the page, with the
// message of package login (one neutral text for no account, inactive
// account and account not allowed to use SSO, so that the page does not
// tell which it was), and the ways on: start again, sign in as someone
// else, or the administrator with the reference.
func policyRefusal(r *login.Refusal) ssoRefusal {
	return ssoRefusal{
		status:        http.StatusForbidden,
		reason:        string(r.Reason),
		detail:        r.AdminMessage,
		title:         "Sign-in refused",
		message:       r.UserMessage,
		advice:        advicePolicy,
		retry:         true,
		switchAccount: true,
	}
}

// protocolRefusal turns a refused SAML message into the page. cookieSent
// tells whether the browser presented a binding cookie, to tell a missing
// cookie (blocked cookies, plain http) from another browser's response.
func protocolRefusal(e *saml.Error, cookieSent bool) ssoRefusal {
	f := ssoRefusal{
		status:  http.StatusBadRequest,
		reason:  string(e.Reason),
		detail:  e.Message,
		title:   "Sign-in failed",
		logOnly: e.Detail,
	}
	if e.Err != nil {
		f.detail += ": " + e.Err.Error()
	}
	switch e.Reason {
	case saml.ReasonExpired, saml.ReasonNotYetValid:
		f.outsideWindowBy, f.clockOffset = e.OutsideWindowBy, e.ClockOffset
		f.message = fmt.Sprintf("The sign-in answer from your identity provider arrived outside its validity period by %s, beyond the clock difference tolerated.", RoundDiff(e.OutsideWindowBy)) + clockOffsetSentence(e.ClockOffset)
		f.advice = "Try again once. If it fails again, tell your administrator that the clocks disagree (clock drift) and give them the reference below; you can compare your own clock with https://time.is."
		f.retry = true
		f.detail += fmt.Sprintf(" (outside_window_by %s, clock_offset %s)", e.OutsideWindowBy, e.ClockOffset)
	case saml.ReasonReplay:
		f.message = "This sign-in answer has already been used. This happens when the browser's Back button returns to the identity provider's page after signing in."
		f.advice = "Start the sign-in again."
		f.retry = true
	case saml.ReasonInResponseToUnknown:
		f.message = "This sign-in took too long, was already completed, or was started on another server."
		f.advice = "Start the sign-in again."
		f.retry = true
	case saml.ReasonBrowserMismatch:
		if !cookieSent {
			f.reason = reasonBindingMissing
			f.detail += "; the browser sent no binding cookie (cookies blocked, a private window, a sign-in started under another address of this site, or plain http where the browser drops the cross-site cookie)"
			f.message = "Your browser did not send back the cookie that ties this sign-in to it, so the sign-in cannot be completed safely."
			f.advice = "Allow cookies for this site, open it at the address your administrator gave you (https), and start the sign-in again in the same browser window. If it keeps failing, give your administrator the reference below."
		} else {
			f.message = "This sign-in was started in another browser or window than the one that brought the answer back."
			f.advice = "Start the sign-in again in this browser."
		}
		f.retry = true
	case saml.ReasonUnsolicitedNotAllowed:
		f.status = http.StatusForbidden
		f.message = "Signing in from your identity provider's portal is not enabled for this organisation."
		f.advice = "Start the sign-in from this site instead (the link below), or ask your administrator to allow sign-ins started at the identity provider."
		f.retry = true
	case saml.ReasonArtifactResolutionFailed:
		f.status = http.StatusBadGateway
		f.message = "Your identity provider could not be reached to complete the sign-in."
		f.advice = "Try again in a moment. If it keeps failing, tell your administrator and give them the reference below."
		f.retry = true
	case saml.ReasonStatusNotSuccess:
		f.status = http.StatusForbidden
		f.message = "Your identity provider did not sign you in."
		// Only a message the IdP's signature covers is shown, cleaned
		// and cut short: an unsigned one could be anyone's words.
		if msg := displayableStatusMessage(e.StatusMessage); e.StatusSigned && msg != "" {
			f.message += " It said: " + msg
		}
		f.advice = "Try again. If your identity provider keeps refusing, tell your administrator and give them the reference below."
		f.retry = true
		f.detail += fmt.Sprintf(" (status %s, second-level %s, message %q)", e.StatusCode, e.SubStatusCode, e.StatusMessage)
	default:
		f.message = "The sign-in answer from your identity provider could not be accepted."
		f.advice = adviceAdmin
	}
	if e.Expected != "" || e.Got != "" {
		f.detail += fmt.Sprintf(" (expected %q, got %q)", e.Expected, e.Got)
	}
	return f
}

// refuseSSO records a refused SSO login (metrics, a Warn log naming the
// tenant, user, IdP, reason and detail, an audit event) and answers with
// the refusal page, whose reference is the audit event's ID. It sets no
// session cookie.
func (d *Deps) refuseSSO(w http.ResponseWriter, r *http.Request, a *ssoAttempt, f ssoRefusal) {
	ctx := r.Context()
	d.Metrics.LoginAttempt(loginMethodSSO, string(lanyard.OutcomeFailure), f.reason)
	if ok, ref := d.Refusals.admit(ctx, a, f.reason); !ok {
		d.refuseUnrecorded(w, r, a, f, ref)
		return
	}
	d.refused(w, r, a, f, d.Kit.AuditRef(ctx, refusalEvent(a, f)))
}

// recordedRefusal is a refusal whose audit event was written in the
// login's transaction (recordRefusal).
type recordedRefusal struct {
	admitted bool   // recorded in full; else counted for a summary
	ref      string // the audit event's ID, or the summary's time reference
}

// recordRefusal writes the audit event of a login refused by policy in its
// transaction tx, so that it commits with what the refused login wrote (the
// replay mark, an account created just in time but inactive), or nothing
// does: no account without its event (the rule "one commit per login").
// The refusal summaries that fell due are added to due, for the caller to
// write once the transaction is over, whatever its outcome.
func (d *Deps) recordRefusal(ctx context.Context, tx lanyard.Store, a ssoAttempt, f ssoRefusal, due *[]summary) (recordedRefusal, error) {
	var rec recordedRefusal
	var fell []summary
	rec.admitted, rec.ref, fell = d.Refusals.admitInTx(&a, f.reason)
	*due = append(*due, fell...)
	if !rec.admitted {
		return rec, nil
	}
	e := refusalEvent(&a, f)
	e.Time = d.Kit.Now().UTC()
	if err := tx.AppendAudit(ctx, &e); err != nil {
		return rec, fmt.Errorf("web: SSO login refused: audit event: %w", err)
	}
	rec.ref = strconv.FormatInt(e.ID, 10)
	return rec, nil
}

// refuseRecorded answers a refusal recordRefusal wrote in the login's
// transaction.
func (d *Deps) refuseRecorded(w http.ResponseWriter, r *http.Request, a *ssoAttempt, f ssoRefusal, rec recordedRefusal) {
	d.Metrics.LoginAttempt(loginMethodSSO, string(lanyard.OutcomeFailure), f.reason)
	if !rec.admitted {
		d.refuseUnrecorded(w, r, a, f, rec.ref)
		return
	}
	d.refused(w, r, a, f, rec.ref)
}

// refusalEvent is the audit event of refusal f.
func refusalEvent(a *ssoAttempt, f ssoRefusal) lanyard.AuditEvent {
	detail := map[string]string{}
	if a.idp != "" {
		detail["idp"] = a.idp
	}
	if a.nameID != "" {
		detail["nameid"] = a.nameID
	}
	if f.outsideWindowBy != 0 {
		detail["outside_window_by"] = f.outsideWindowBy.String()
		detail["clock_offset"] = f.clockOffset.String()
	}
	subject := cmp.Or(a.login, a.nameID)
	return lanyard.AuditEvent{
		TenantID: a.tenant.ID,
		Actor:    cmp.Or(subject, "anonymous"),
		Action:   actionSSOLogin,
		Outcome:  lanyard.OutcomeFailure,
		Reason:   f.reason,
		UserID:   a.userID,
		Subject:  subject,
		ClientIP: a.client,
		Message:  f.detail,
		Detail:   detail,
	}
}

// refused logs, traces and answers a refusal recorded with reference ref.
func (d *Deps) refused(w http.ResponseWriter, r *http.Request, a *ssoAttempt, f ssoRefusal, ref string) {
	ctx := r.Context()
	logDetail := f.detail
	if f.logOnly != "" {
		logDetail += " (" + f.logOnly + ")"
	}
	attrs := []slog.Attr{
		slog.String("tenant", a.slug), slog.String("user", a.login), slog.String("idp", a.idp),
		slog.String("reason", f.reason), slog.String("detail", logDetail),
		slog.String("reference", ref), slog.String("client", a.client),
	}
	if a.nameID != "" {
		attrs = append(attrs, slog.String("nameid", a.nameID))
	}
	if f.outsideWindowBy != 0 {
		attrs = append(attrs, slog.String("outside_window_by", f.outsideWindowBy.String()), slog.String("clock_offset", f.clockOffset.String()))
	}
	d.Kit.Logger.LogAttrs(ctx, slog.LevelWarn, "SSO login refused", attrs...)
	d.traceRefusal(r, a, f, ref)
	d.renderRefusal(w, r, a, f, ref)
}

// refuseUnrecorded answers a refusal beyond the budget of records (see
// RefusalLimiter): no audit event, no trace, a Debug log line; the page's
// reference is the time, which the summary event's references enclose.
func (d *Deps) refuseUnrecorded(w http.ResponseWriter, r *http.Request, a *ssoAttempt, f ssoRefusal, ref string) {
	d.Kit.Logger.LogAttrs(r.Context(), slog.LevelDebug, "SSO login refused, counted for a summary",
		slog.String("tenant", a.slug), slog.String("user", a.login), slog.String("idp", a.idp),
		slog.String("reason", f.reason), slog.String("detail", f.detail),
		slog.String("reference", ref), slog.String("client", a.client))
	d.renderRefusal(w, r, a, f, ref)
}

// renderRefusal answers with the refusal page of f.
func (d *Deps) renderRefusal(w http.ResponseWriter, r *http.Request, a *ssoAttempt, f ssoRefusal, ref string) {
	view := ssoRefusedView{
		Title:     f.title,
		Message:   f.message,
		Advice:    f.advice,
		Reference: ref,
		Time:      d.Kit.Now().UTC().Format(time.RFC3339),
	}
	if f.retry && a.slug != "" && lanyard.ValidSlug(a.slug) {
		view.Retry = &ui.Link{Href: ui.SSOPath(a.slug) + "login", Text: "Start the sign-in again"}
	}
	if f.switchAccount && a.slug != "" && lanyard.ValidSlug(a.slug) {
		view.SwitchAccount = &ui.Link{Href: ui.SSOPath(a.slug) + "login?" + promptParam + "=" + promptLogin, Text: "Sign in as someone else"}
	}
	if a.severalIdPs && lanyard.ValidSlug(a.slug) {
		view.OtherIdP = &ui.Link{Href: ui.SSOPath(a.slug) + "login?" + chooseParam + "=1", Text: "Sign in through another identity provider"}
	}
	w.Header().Set("Cache-Control", "no-store")
	d.Kit.Render(w, r, f.status, "sso_refused", view)
}

// failSSO records an SSO login that failed on an internal error (the store,
// a broken configuration) and answers 500.
func (d *Deps) failSSO(w http.ResponseWriter, r *http.Request, a *ssoAttempt, err error) {
	d.Metrics.LoginAttempt(loginMethodSSO, string(lanyard.OutcomeFailure), reasonInternal)
	d.Kit.Logger.Error("SSO login failed", "tenant", a.slug, "user", a.login, "idp", a.idp, "reason", reasonInternal, "err", err)
	if ok, _ := d.Refusals.admit(r.Context(), a, reasonInternal); !ok {
		d.Kit.RenderError(w, r, err)
		return
	}
	d.Kit.Audit(r.Context(), lanyard.AuditEvent{
		TenantID: a.tenant.ID, Actor: cmp.Or(a.login, "anonymous"), Action: actionSSOLogin,
		Outcome: lanyard.OutcomeFailure, Reason: reasonInternal, UserID: a.userID,
		Subject: a.login, ClientIP: a.client, Message: err.Error(),
	})
	d.Kit.RenderError(w, r, err)
}

// ssoSnapshot returns the runtime configuration of the request's tenant,
// refusing (404) an unknown tenant and failing (500) on a store error.
func (d *Deps) ssoSnapshot(w http.ResponseWriter, r *http.Request, a *ssoAttempt) (*tenantcfg.Snapshot, bool) {
	if !lanyard.ValidSlug(a.slug) {
		d.refuseUnknownTenant(w, r, a)
		return nil, false
	}
	snap, err := d.Tenants.Snapshot(r.Context(), a.slug)
	switch {
	case errors.Is(err, lanyard.ErrNotFound):
		d.refuseUnknownTenant(w, r, a)
		return nil, false
	case err != nil:
		d.failSSO(w, r, a, fmt.Errorf("web: SSO configuration of tenant %q: %w", a.slug, err))
		return nil, false
	}
	a.tenant = snap.Tenant
	a.severalIdPs = len(snap.IdPs) > 1
	return snap, true
}

func (d *Deps) refuseUnknownTenant(w http.ResponseWriter, r *http.Request, a *ssoAttempt) {
	d.refuseSSO(w, r, &ssoAttempt{slug: "", client: a.client}, ssoRefusal{
		status:  http.StatusNotFound,
		reason:  reasonUnknownTenant,
		detail:  fmt.Sprintf("no tenant %q (path %s)", ui.TruncateForLog(a.slug), r.URL.Path),
		title:   "Unknown organisation",
		message: "There is no organisation at this address.",
		advice:  "Check the link you followed; your administrator can give you the right one.",
	})
}

// notConfigured refuses a login to a tenant without a usable IdP.
func notConfigured(slug string, problems []string) ssoRefusal {
	detail := fmt.Sprintf("tenant %q has no usable identity provider (import one with: lanyard idp import --tenant %s --metadata FILE|URL)", slug, slug)
	for _, p := range problems {
		detail += "; " + p
	}
	return ssoRefusal{
		status:  http.StatusServiceUnavailable,
		reason:  reasonNotConfigured,
		detail:  detail,
		title:   "Single sign-on is not set up",
		message: "Single sign-on is not set up for this organisation yet.",
		advice:  adviceAdmin,
	}
}

// clockOffsetSentence tells the user how far the identity provider's clock
// is from this server's, when it is known and large enough to matter.
func clockOffsetSentence(offset time.Duration) string {
	switch {
	case offset >= time.Minute:
		return fmt.Sprintf(" It was dated %s after this server's clock: the identity provider's clock is about %s ahead.", RoundDiff(offset), RoundDiff(offset))
	case offset <= -time.Minute:
		return fmt.Sprintf(" It was dated %s before this server's clock: the identity provider's clock is about %s behind, or the answer was held that long.", RoundDiff(offset), RoundDiff(offset))
	}
	return ""
}

// RoundDiff shows a clock difference the way people read it.
func RoundDiff(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	switch {
	case d >= time.Hour:
		return d.Round(time.Minute).String()
	case d >= time.Minute:
		return d.Round(time.Second).String()
	}
	return d.Round(time.Millisecond).String()
}

// maxStatusMessageRunes is how much of a signed StatusMessage the refusal
// page shows.
const maxStatusMessageRunes = 200

// displayableStatusMessage is the IdP's StatusMessage for the refusal page:
// control and format characters (line breaks, bidirectional overrides)
// become spaces, runs of spaces one, and it is cut to
// maxStatusMessageRunes.
func displayableStatusMessage(s string) string {
	var b strings.Builder
	n := 0
	space := false
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || unicode.IsSpace(r) || r == utf8.RuneError {
			space = b.Len() > 0
			continue
		}
		if n >= maxStatusMessageRunes {
			b.WriteString("…")
			break
		}
		if space {
			b.WriteByte(' ')
			n++
			space = false
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}
