package sso

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/saml"
	"github.com/lanyard-sso/lanyard/tenantcfg"
	"github.com/lanyard-sso/lanyard/web/internal/ui"
)

// Single Logout (SAML Profiles 4.4), both directions:
//
//   - SP-initiated: POST /logout ends the Lanyard session, then, when the
//     session came from an IdP that publishes a SingleLogoutService, sends
//     the browser there with a signed LogoutRequest naming the session's
//     NameID and SessionIndex. The IdP's LogoutResponse comes back to
//     /t/{t}/saml/slo and the user reads "You are signed out".
//   - IdP-initiated: a LogoutRequest at /t/{t}/saml/slo ends every session of
//     the identity it names (by NameID, and SessionIndex when given) in the
//     shared store, hence on every node, and is answered with a signed
//     LogoutResponse.

// Audit action of Single Logout events.
const actionSLO = "sso.logout"

// startSingleLogout continues a sign-out whose Lanyard session has ended:
// to the IdP with a LogoutRequest when the session came from one that
// supports Single Logout, else straight to the signed-out page.
func (d *Deps) startSingleLogout(w http.ResponseWriter, r *http.Request, sess lanyard.Session, returnTo string) {
	ctx := r.Context()
	msg, slug, err := d.makeLogoutRequest(ctx, w, r, sess, returnTo)
	if err != nil {
		// The Lanyard session has ended; only the IdP's is left.
		d.Kit.Logger.Error("Single Logout request not sent; the IdP session stays open", "idp", sess.IdPEntityID, "err", err)
		d.Kit.RenderSignedOut(w, r, ui.SignedOutIdPUnconfirmed)
		return
	}
	if msg == nil {
		if returnTo != "" {
			w.Header().Set("Cache-Control", "no-store")
			http.Redirect(w, r, returnTo, http.StatusFound)
			return
		}
		d.Kit.RenderSignedOut(w, r, "")
		return
	}
	if d.Kit.SessionID(r) != "" {
		d.Kit.ClearSessionCookie(w)
	}
	d.Kit.Logger.Info("Single Logout: LogoutRequest sent", "tenant", slug, "idp", sess.IdPEntityID, "nameid", sess.NameID, "binding", msg.Binding)
	w.Header().Set("Cache-Control", "no-store")
	if msg.Binding == saml.BindingHTTPRedirect {
		// The answer to the sign-out form: no cross-site redirect (see
		// writeContinue).
		d.Kit.WriteContinue(w, msg.URL, "Signing out", "Signing you out of your identity provider.")
		return
	}
	d.Kit.WriteAutoPost(w, msg, "")
}

// makeLogoutRequest builds the LogoutRequest for an ended SSO session, or
// returns nil when there is none to send (password session, IdP without a
// SingleLogoutService, identity unknown).
func (d *Deps) makeLogoutRequest(ctx context.Context, w http.ResponseWriter, r *http.Request, sess lanyard.Session, returnTo string) (*saml.Message, string, error) {
	if sess.Kind != lanyard.SessionSSO || sess.NameID == "" || sess.IdPEntityID == "" {
		return nil, "", nil
	}
	tenant, err := d.Store.TenantByID(ctx, sess.TenantID)
	if err != nil {
		return nil, "", fmt.Errorf("web: single logout: tenant %d: %w", sess.TenantID, err)
	}
	snap, err := d.Tenants.Snapshot(ctx, tenant.Slug)
	if err != nil {
		return nil, tenant.Slug, fmt.Errorf("web: single logout: %w", err)
	}
	idp := snap.IdP(sess.IdPEntityID)
	if idp == nil || len(idp.SLO) == 0 {
		return nil, tenant.Slug, nil
	}
	binding := saml.BindingHTTPRedirect
	if !hasEndpoint(idp.SLO, binding) {
		binding = saml.BindingHTTPPOST
	}
	secret, err := d.Kit.BindingSecret(w, r, tenant.Slug)
	if err != nil {
		return nil, tenant.Slug, err
	}
	msg, err := snap.SP.MakeLogoutRequest(ctx, idp, saml.LogoutRequestOptions{
		Binding:        binding,
		NameID:         saml.NameID{Value: sess.NameID, Format: sess.NameIDFormat},
		SessionIndex:   sess.SessionIndex,
		ReturnTo:       returnTo,
		BrowserBinding: tenantcfg.BrowserBinding(secret),
	})
	if err != nil {
		return nil, tenant.Slug, fmt.Errorf("web: single logout: LogoutRequest to %q: %w", idp.EntityID, err)
	}
	return msg, tenant.Slug, nil
}

// handleSAMLSLO is the Single Logout endpoint: GET (HTTP-Redirect) and POST
// (HTTP-POST) /t/{tenant}/saml/slo, receiving either the IdP's
// LogoutResponse to our request or its own LogoutRequest.
func handleSAMLSLO(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		slug := r.PathValue("tenant")
		if !lanyard.ValidSlug(slug) {
			d.Kit.NotFound().ServeHTTP(w, r)
			return
		}
		snap, err := d.Tenants.Snapshot(ctx, slug)
		switch {
		case errors.Is(err, lanyard.ErrNotFound):
			d.Kit.RenderError(w, r, lanyard.Errorf(lanyard.KindNotFound, "There is no organisation %q. Check the address.", slug))
			return
		case err != nil:
			d.Kit.RenderError(w, r, err)
			return
		}
		var in saml.InboundMessage
		if r.Method == http.MethodGet {
			q := r.URL.Query()
			in.RawQuery = r.URL.RawQuery
			in.SAMLRequest, in.SAMLResponse = q.Get("SAMLRequest"), q.Get("SAMLResponse")
		} else {
			if err := r.ParseForm(); err != nil {
				d.Kit.RenderError(w, r, &lanyard.Error{Kind: lanyard.KindInvalid, Message: "The sign-out message could not be read. Close the browser to end every sign-in.", Err: err})
				return
			}
			in.SAMLRequest, in.SAMLResponse, in.RelayState = r.PostForm.Get("SAMLRequest"), r.PostForm.Get("SAMLResponse"), r.PostForm.Get("RelayState")
		}
		switch {
		case in.SAMLResponse != "":
			d.receiveLogoutResponse(w, r, snap, in)
		case in.SAMLRequest != "":
			d.receiveLogoutRequest(w, r, snap, in)
		default:
			d.Kit.RenderError(w, r, lanyard.Errorf(lanyard.KindInvalid, "This address receives sign-out messages from your identity provider, and this request carried none. To sign out, use the Sign out link."))
		}
	})
}

// receiveLogoutResponse completes an SP-initiated logout. The Lanyard
// session ended before the request left; a refused or failed answer only
// means the IdP's session may still be open, which the page says.
func (d *Deps) receiveLogoutResponse(w http.ResponseWriter, r *http.Request, snap *tenantcfg.Snapshot, in saml.InboundMessage) {
	ctx := r.Context()
	binding := tenantcfg.BrowserBinding(ui.BindingCookie(r))
	var lastErr error
	for _, idp := range snap.IdPs {
		res, err := snap.SP.ValidateLogoutResponse(ctx, idp, in, binding)
		if err == nil {
			d.Kit.Logger.Info("Single Logout completed", "tenant", snap.Tenant.Slug, "idp", idp.EntityID, "request", res.InResponseTo)
			if res.ReturnTo != "" {
				// An application's sign-out (StartReturning): back to the
				// address it registered, kept with the request.
				w.Header().Set("Cache-Control", "no-store")
				http.Redirect(w, r, res.ReturnTo, http.StatusSeeOther)
				return
			}
			d.Kit.RenderSignedOut(w, r, ui.SignedOutIdP)
			return
		}
		lastErr = err
		if saml.ReasonOf(err) != saml.ReasonIssuerMismatch {
			break
		}
	}
	notice, fix := ui.SignedOutIdPUnconfirmed, ""
	if saml.ReasonOf(lastErr) == saml.ReasonUnsigned {
		// Lanyard is right to require the signature; the fix is the IdP's.
		notice, fix = ui.SignedOutIdPUnsigned, ". "+ui.UnsignedLogoutFix
	}
	d.recordSLORefusal(ctx, r, snap, lastErr, "Single Logout: the IdP's LogoutResponse was refused; its session may still be open", "LogoutResponse refused", fix)
	d.Kit.RenderSignedOut(w, r, notice)
}

// receiveLogoutRequest handles an IdP-initiated logout: validate, end the
// sessions of the identity everywhere, answer with a LogoutResponse.
func (d *Deps) receiveLogoutRequest(w http.ResponseWriter, r *http.Request, snap *tenantcfg.Snapshot, in saml.InboundMessage) {
	ctx := r.Context()
	var (
		req     *saml.LogoutRequest
		idp     *saml.IdentityProvider
		lastErr error
	)
	for _, candidate := range snap.IdPs {
		lr, err := snap.SP.ValidateLogoutRequest(ctx, candidate, in)
		if err == nil {
			req, idp = lr, candidate
			break
		}
		lastErr = err
		if saml.ReasonOf(err) != saml.ReasonIssuerMismatch {
			break
		}
	}
	if req == nil {
		if lastErr == nil {
			lastErr = tenantcfg.ErrNoIdP
		}
		d.recordSLORefusal(ctx, r, snap, lastErr, "Single Logout: LogoutRequest refused", "IdP-initiated LogoutRequest refused", "")
		d.Kit.RenderError(w, r, &lanyard.Error{Kind: lanyard.KindInvalid,
			Message: "The sign-out request from your identity provider could not be accepted, so Lanyard did not sign you out. Sign out with the Sign out link, or close the browser.", Err: lastErr})
		return
	}
	// Every session of the identity, or only those of the IdP sessions
	// named. Sessions live in the shared store: every node sees them end.
	indexes := req.SessionIndexes
	if len(indexes) == 0 {
		indexes = []string{""}
	}
	ended, status := 0, saml.StatusSuccess
	for _, idx := range indexes {
		n, err := d.Store.DeleteSessionsByNameID(ctx, snap.Tenant.ID, idp.EntityID, req.NameID.Value, idx)
		if err != nil {
			d.Kit.Logger.Error("Single Logout: sessions not ended", "tenant", snap.Tenant.Slug, "nameid", req.NameID.Value, "err", err)
			status = saml.StatusPartialLogout
			continue
		}
		ended += n
	}
	// This browser's own cookie goes too when its session was one of them.
	if id := d.Kit.SessionID(r); id != "" {
		if _, err := d.Store.Session(ctx, lanyard.HashSessionID(id), d.Kit.Now()); errors.Is(err, lanyard.ErrNotFound) {
			d.Kit.ClearSessionCookie(w)
		}
	}
	d.Kit.Logger.Info("Single Logout: IdP-initiated logout", "tenant", snap.Tenant.Slug, "idp", idp.EntityID, "nameid", req.NameID.Value, "sessions_ended", ended)
	d.Kit.Audit(ctx, lanyard.AuditEvent{
		TenantID: snap.Tenant.ID, Actor: idp.EntityID, Action: actionSLO, Outcome: lanyard.OutcomeSuccess,
		Subject: req.NameID.Value, ClientIP: d.Kit.ClientAddress(r),
		Message: fmt.Sprintf("IdP-initiated logout ended %d session(s)", ended),
	})
	msg, err := snap.SP.MakeLogoutResponse(idp, req, status, "")
	if err != nil {
		d.Kit.RenderError(w, r, fmt.Errorf("web: single logout: LogoutResponse to %q: %w", idp.EntityID, err))
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	if msg.Binding == saml.BindingHTTPRedirect {
		http.Redirect(w, r, msg.URL, http.StatusSeeOther)
		return
	}
	d.Kit.WriteAutoPost(w, msg, "")
}

// recordSLORefusal records a refused Single Logout message: a Warn log line
// and an audit event within the refusal budget of the ACS (junk posted to
// either endpoint costs the same bounded writes); beyond it, a Debug line,
// and the refusal counts in the client's summary as "slo.<reason>".
// fix, when not empty, follows the error in the audit message: what the
// administrator changes to end such refusals.
func (d *Deps) recordSLORefusal(ctx context.Context, r *http.Request, snap *tenantcfg.Snapshot, err error, logMsg, auditMsg, fix string) {
	reason := string(saml.ReasonOf(err))
	client := d.Kit.ClientAddress(r)
	if d.Refusals != nil {
		if ok, ref := d.Refusals.Admit(ctx, snap.Tenant.ID, snap.Tenant.Slug, client, "slo."+cmp.Or(reason, reasonInternal)); !ok {
			d.Kit.Logger.Debug(logMsg+" (not recorded individually: refusal budget spent)", "tenant", snap.Tenant.Slug, "err", err, "reference", ref, "client", client)
			return
		}
	}
	d.Kit.Logger.Warn(logMsg, "tenant", snap.Tenant.Slug, "err", err, "client", client, "fix", fix)
	d.Kit.Audit(ctx, lanyard.AuditEvent{
		TenantID: snap.Tenant.ID, Actor: "system", Action: actionSLO, Outcome: lanyard.OutcomeFailure,
		Reason: reason, ClientIP: client,
		Message: fmt.Sprintf("%s: %v%s", auditMsg, err, fix),
	})
}
