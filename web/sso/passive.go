package sso

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/login"
	"github.com/lanyard-sso/lanyard/saml"
	"github.com/lanyard-sso/lanyard/session"
	"github.com/lanyard-sso/lanyard/tenantcfg"
	"github.com/lanyard-sso/lanyard/web/internal/relay"
	"github.com/lanyard-sso/lanyard/web/internal/ui"
)

// A passive check (SAML Core 3.4.1, IsPassive="true") asks the IdP whether
// the user it signed in is still signed in there, without any interaction.
// Its pending request returns to passiveCheckPath, which names the Lanyard
// session being checked (the SHA-256 of its ID, as stored) and the window
// the check runs in: the ACS needs no session cookie, which a browser may
// not send on the IdP's cross-site POST inside a frame.
const passiveCheckPath = "/lanyard/checked"

// Modes of a passive check: where session.js runs it.
const (
	checkInFrame = "frame"
	checkInPopup = "popup"
)

// Audit action of a passive re-check that ended a session.
const actionSessionCheck = "sso.session_check"

// passiveCheck is a parsed passive-check return path.
type passiveCheck struct {
	mode string
	hash []byte // session hash
	// key is session.CheckKey of the session: a return path made up by
	// someone who only knows the hash ends nothing.
	key string
	// origin is the application page that runs the check, validated when
	// the check started; "": Lanyard's own page.
	origin string
}

// passiveReturnPath is the return path recorded with a passive check.
func passiveReturnPath(mode string, sess lanyard.Session, origin string) string {
	q := url.Values{"mode": {mode}, "s": {hex.EncodeToString(sess.Hash)}, "k": {session.CheckKey(sess)}}
	if origin != "" {
		q.Set(relay.OriginParam, origin)
	}
	return passiveCheckPath + "?" + q.Encode()
}

// passiveReturn recognises the return path of a passive check. Its origin
// was validated when the check started and is checked again, in case the
// route or trusted host has gone since: then only Lanyard's origin hears.
func (d *Deps) passiveReturn(returnTo string) (passiveCheck, bool) {
	check, ok := parsePassiveReturn(returnTo)
	if ok {
		check.origin, _ = d.Origins.Validate(check.origin)
	}
	return check, ok
}

// parsePassiveReturn recognises the return path of a passive check.
func parsePassiveReturn(returnTo string) (passiveCheck, bool) {
	path, query, _ := strings.Cut(returnTo, "?")
	if path != passiveCheckPath {
		return passiveCheck{}, false
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return passiveCheck{}, false
	}
	hash, err := hex.DecodeString(q.Get("s"))
	if err != nil || len(hash) != 32 {
		return passiveCheck{}, false
	}
	mode := q.Get("mode")
	if mode != checkInPopup {
		mode = checkInFrame
	}
	return passiveCheck{mode: mode, hash: hash, key: q.Get("k"), origin: q.Get(relay.OriginParam)}, true
}

// startPassiveCheck handles ?passive=frame|popup on the login endpoint. It
// returns the return path and whether the request is passive; done means it
// already answered (no session to check: the relay page says so at once).
// Without ?passive, the return path is the return_to parameter when it is a
// path on this site. origin is the validated origin of the application page
// running the check ("": Lanyard's own).
func (d *Deps) startPassiveCheck(w http.ResponseWriter, r *http.Request, snap *tenantcfg.Snapshot, origin string) (returnTo string, passive, done bool) {
	q := r.URL.Query()
	mode := q.Get("passive")
	if mode == "" {
		return ui.SafeNext(q.Get("return_to")), false, false
	}
	if mode != checkInPopup {
		mode = checkInFrame
	}
	id := d.Kit.SessionID(r)
	var sess lanyard.Session
	err := error(lanyard.ErrNotFound)
	if id != "" {
		sess, err = d.Store.Session(r.Context(), lanyard.HashSessionID(id), d.Kit.Now())
	}
	switch {
	case errors.Is(err, lanyard.ErrNotFound) || (err == nil && (sess.TenantID != snap.Tenant.ID || sess.Kind != lanyard.SessionSSO || sess.Origin != "")):
		relay.Write(d.Kit.Logger, w, http.StatusOK, expiredRelay(passiveCheck{mode: mode, origin: origin}, "Your session has ended."))
		return "", false, true
	case err != nil:
		d.Kit.RenderError(w, r, fmt.Errorf("web: passive check: %w", err))
		return "", false, true
	}
	return passiveReturnPath(mode, sess, origin), true, false
}

// expiredRelay is the relay page of a check that found the session over.
func expiredRelay(check passiveCheck, why string) relay.View {
	return relay.View{
		Title: "Session expired", Heading: "Your session has expired",
		Text:    why + " Go back to the application and press Log in.",
		Message: relay.MsgExpired, Mode: check.mode, Origin: check.origin,
	}
}

// refreshedRelay is the relay page of a check that refreshed the session.
func refreshedRelay(check passiveCheck) relay.View {
	return relay.View{
		Title: "Session kept", Heading: "Keeping your session up to date",
		Text:    "Lanyard checks your sign-in with your identity provider in this window every few minutes, because the identity provider does not allow it in the background. Keep this window open; it closes when you sign out.",
		Message: relay.MsgRefreshed, Mode: check.mode, Origin: check.origin,
	}
}

// completePassiveCheck finishes a passive check the IdP answered with an
// assertion: the session must still exist and belong to the identity the
// IdP vouched for; the account is refreshed (attributes, roles, state) as
// at sign-in, and the session's LastRefreshAt set. Anything else ends the
// session and tells the page it has expired.
func (d *Deps) completePassiveCheck(w http.ResponseWriter, r *http.Request, a *ssoAttempt, snap *tenantcfg.Snapshot, as *saml.Assertion, check passiveCheck) {
	ctx := r.Context()
	now := d.Kit.Now()
	sess, err := d.Store.Session(ctx, check.hash, now)
	if errors.Is(err, lanyard.ErrNotFound) {
		d.Kit.Logger.Info("passive check: the Lanyard session had already ended", "tenant", a.slug, "nameid", a.nameID)
		relay.Write(d.Kit.Logger, w, http.StatusOK, expiredRelay(check, "Your session has ended."))
		return
	}
	if err != nil {
		d.failSSO(w, r, a, fmt.Errorf("web: passive check: %w", err))
		return
	}
	if !session.ValidCheckKey(sess, check.key) {
		// Not a check this session's holder started: someone who saw the
		// session's hash. The session is left alone.
		d.Kit.Logger.Warn("passive check: the return path does not carry the session's key; nothing ended", "tenant", a.slug, "nameid", a.nameID)
		d.Kit.RenderError(w, r, &lanyard.Error{Kind: lanyard.KindInvalid, Message: "This session check does not belong to your session. Open the application again."})
		return
	}
	end := func(why, shown string) {
		d.endCheckedSession(ctx, check.hash, &sess)
		d.Kit.Logger.Warn("passive check ended the session", "tenant", a.slug, "idp", a.idp, "nameid", a.nameID, "why", why)
		d.Kit.Audit(ctx, lanyard.AuditEvent{
			TenantID: snap.Tenant.ID, Actor: "system", Action: actionSessionCheck, Outcome: lanyard.OutcomeFailure,
			UserID: sess.UserID, ClientIP: a.client, Message: "session ended by the periodic check with the IdP: " + why,
		})
		relay.Write(d.Kit.Logger, w, http.StatusOK, expiredRelay(check, shown))
	}
	if sess.TenantID != snap.Tenant.ID || sess.IdPEntityID != a.idp || sess.NameID != as.NameID.Value {
		end(fmt.Sprintf("the IdP answered for %q of %q, the session belongs to %q of %q", as.NameID.Value, a.idp, sess.NameID, sess.IdPEntityID),
			"Your identity provider now signs in someone else in this browser.")
		return
	}
	res, err := d.Logins.Resolve(ctx, snap.Tenant, loginAssertion(a.idp, as), login.Options{})
	var refusal *login.Refusal
	if errors.As(err, &refusal) {
		end("the account may no longer sign in: "+refusal.Error(), "Your account may no longer sign in here.")
		return
	}
	if err != nil {
		d.failSSO(w, r, a, fmt.Errorf("web: passive check: %w", err))
		return
	}
	if res.User.ID != sess.UserID {
		end(fmt.Sprintf("the identity now resolves to account %d, the session belongs to account %d", res.User.ID, sess.UserID),
			"Your identity provider now signs in someone else in this browser.")
		return
	}
	if _, err := d.Store.UpdateSession(ctx, check.hash, func(ss *lanyard.Session) error {
		ss.LastRefreshAt = now.UTC()
		if as.SessionIndex != "" {
			ss.SessionIndex = as.SessionIndex
		}
		return nil
	}); err != nil {
		d.failSSO(w, r, a, fmt.Errorf("web: passive check: record refresh: %w", err))
		return
	}
	d.Kit.Logger.LogAttrs(ctx, slog.LevelInfo, "passive check refreshed the session",
		slog.String("tenant", a.slug), slog.String("user", res.User.Login), slog.String("idp", a.idp),
		slog.String("mode", check.mode), slog.Int("changes", len(res.Changes)))
	relay.Write(d.Kit.Logger, w, http.StatusOK, refreshedRelay(check))
}

// passiveCheckRefused handles a refused Response to a passive check: the
// IdP's "no" (usually NoPassive: the user is not signed in there any more)
// ends the session it was about, when the check ran in a window. In a
// hidden frame the IdP may simply not have seen its own session cookie
// (browsers that block third-party cookies: Safari, Firefox), so the page
// is asked to confirm in a window, where the IdP is the first party. It
// reports false when err is not the answer to a passive check of this
// browser, for the normal refusal page.
//
// Error responses are usually unsigned: the InResponseTo only finds the
// pending request, which must have been started by this browser (the
// binding cookie). At worst a forged answer signs this browser's own user
// out.
func (d *Deps) passiveCheckRefused(w http.ResponseWriter, r *http.Request, a *ssoAttempt, snap *tenantcfg.Snapshot, err error, secret string) bool {
	var e *saml.Error
	if !errors.As(err, &e) || e.Reason != saml.ReasonStatusNotSuccess || e.InResponseTo == "" || secret == "" {
		return false
	}
	ctx := r.Context()
	pr, terr := d.Store.TakePendingRequest(ctx, e.InResponseTo, d.Kit.Now())
	if terr != nil || pr.TenantID != snap.Tenant.ID {
		return false
	}
	binding, _ := hex.DecodeString(tenantcfg.BrowserBinding(secret))
	check, ok := d.passiveReturn(pr.ReturnTo)
	if !ok || !bytes.Equal(binding, pr.Binding) {
		return false
	}
	checked, cerr := d.Store.Session(ctx, check.hash, d.Kit.Now())
	if cerr == nil && !session.ValidCheckKey(checked, check.key) {
		return false // not a check this session's holder started
	}
	if check.mode == checkInFrame {
		d.Kit.Logger.Info("passive check in a frame: the IdP did not vouch for the user; asking the page to confirm in a window",
			"tenant", a.slug, "idp", pr.IdPEntityID, "status", e.StatusCode, "sub_status", e.SubStatusCode)
		relay.Write(d.Kit.Logger, w, http.StatusOK, relay.View{
			Title: "Checking your session", Heading: "Checking your session",
			Text:    "Your identity provider did not recognise you in the background; Lanyard checks again in a small window.",
			Message: relay.MsgUnconfirmed, Mode: check.mode, Origin: check.origin,
		})
		return true
	}
	sess, serr := d.Store.Session(ctx, check.hash, d.Kit.Now())
	if serr != nil {
		d.endCheckedSession(ctx, check.hash, nil)
	} else {
		d.endCheckedSession(ctx, check.hash, &sess)
	}
	d.Kit.Logger.Info("passive check: the IdP no longer signs the user in; session ended",
		"tenant", a.slug, "idp", pr.IdPEntityID, "status", e.StatusCode, "sub_status", e.SubStatusCode, "mode", check.mode)
	if serr == nil {
		d.Kit.Audit(ctx, lanyard.AuditEvent{
			TenantID: snap.Tenant.ID, Actor: "system", Action: actionSessionCheck, Outcome: lanyard.OutcomeSuccess,
			UserID: sess.UserID, ClientIP: a.client,
			Message: fmt.Sprintf("session ended: the IdP %q answered the periodic check with %s", pr.IdPEntityID, lastURNPart(e.SubStatusCode, e.StatusCode)),
		})
	}
	relay.Write(d.Kit.Logger, w, http.StatusOK, expiredRelay(check, "Your identity provider says you are no longer signed in."))
	return true
}

// endCheckedSession ends the session a check found over, and with it the
// copies the gateway made of it for applications' hosts (sign-in hand-off):
// they carry the same IdP session (NameID and SessionIndex), which the IdP
// has just said is over. Without a SessionIndex only the session itself
// ends, so the user's sessions in other browsers are left alone.
func (d *Deps) endCheckedSession(ctx context.Context, hash []byte, sess *lanyard.Session) {
	if err := d.Store.DeleteSession(ctx, hash); err != nil {
		d.Kit.Logger.Error("passive check: session not ended", "err", err)
	}
	if sess == nil || sess.SessionIndex == "" || sess.NameID == "" {
		return
	}
	n, err := d.Store.DeleteSessionsByNameID(ctx, sess.TenantID, sess.IdPEntityID, sess.NameID, sess.SessionIndex)
	if err != nil {
		d.Kit.Logger.Error("passive check: the session's copies on applications' hosts not ended", "err", err)
	} else if n > 0 {
		d.Kit.Logger.Info("passive check: ended the session's copies on applications' hosts", "sessions", n)
	}
}

// lastURNPart is the last colon-separated part of the first non-empty URN.
func lastURNPart(urns ...string) string {
	for _, u := range urns {
		if u != "" {
			return u[strings.LastIndexByte(u, ':')+1:]
		}
	}
	return "an error status"
}
