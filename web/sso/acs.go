package sso

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/internal/tracing"
	"github.com/lanyard-sso/lanyard/login"
	"github.com/lanyard-sso/lanyard/saml"
	"github.com/lanyard-sso/lanyard/session"
	"github.com/lanyard-sso/lanyard/tenantcfg"
	"github.com/lanyard-sso/lanyard/web/internal/relay"
	"github.com/lanyard-sso/lanyard/web/internal/ui"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// maxACSBytes bounds the body posted to the ACS: package saml accepts up to
// saml.DefaultMaxSize of XML, which base64 makes a third larger.
const maxACSBytes = saml.DefaultMaxSize*4/3 + 64<<10

// handleSAMLMetadata serves a tenant's SP metadata, built once per
// configuration change. It is served even while SSO is off: administrators
// hand it to the IdP before turning SSO on.
func handleSAMLMetadata(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		slug := r.PathValue("tenant")
		if !lanyard.ValidSlug(slug) {
			d.Kit.NotFound().ServeHTTP(w, r)
			return
		}
		snap, err := d.Tenants.Snapshot(r.Context(), slug)
		switch {
		case errors.Is(err, lanyard.ErrNotFound):
			d.Kit.RenderError(w, r, lanyard.Errorf(lanyard.KindNotFound, "There is no organisation %q. Check the address.", slug))
			return
		case err != nil:
			d.Kit.RenderError(w, r, err)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "application/samlmetadata+xml")
		h.Set("Content-Disposition", `inline; filename="`+slug+`-sp-metadata.xml"`)
		h.Set("Cache-Control", "no-cache")
		_, _ = w.Write(snap.Metadata)
		d.recordMetadataFetch(r, snap.Tenant.ID, snap.Version)
	})
}

// handleSAMLLogin starts an SP-initiated login: GET
// /t/{tenant}/saml/login?return_to=PATH[&idp=ENTITYID]. It sets the browser
// binding cookie, records the pending AuthnRequest with the return path
// (a path on this site, query included, kept exactly; anything else is
// dropped for the tenant's default landing page) and sends the browser to
// the IdP: a redirect (HTTP-Redirect binding), or an auto-posting form when
// the IdP offers only HTTP-POST.
// ?prompt=login asks the IdP to authenticate the user again (ForceAuthn),
// as "Sign in as someone else" on a refusal page does.
const (
	promptParam = "prompt"
	promptLogin = "login"
)

func handleSAMLLogin(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		// ?origin=: session.js on an application's host runs this check
		// or sign-in window, and is told the outcome.
		rawOrigin := r.URL.Query().Get(relay.OriginParam)
		origin, ok := d.Origins.Validate(rawOrigin)
		if !ok {
			relay.Refuse(d.Kit, w, r, rawOrigin)
			return
		}
		a := &ssoAttempt{slug: r.PathValue("tenant"), client: d.Kit.ClientAddress(r), userAgent: r.UserAgent()}
		snap, ok := d.ssoSnapshot(w, r, a)
		if !ok {
			return
		}
		sso := snap.Tenant.SSO
		if !sso.Enabled {
			d.refuseSSO(w, r, a, ssoRefusal{
				status: http.StatusForbidden, reason: string(login.ReasonSSODisabled), title: "Sign-in refused",
				detail:  fmt.Sprintf("tenant %q has SSO turned off; a login was started (turn it on with: lanyard tenant set %s enabled=true)", a.slug, a.slug),
				message: "Single sign-on is not enabled for this organisation.",
				advice:  adviceAdmin,
			})
			return
		}
		q := r.URL.Query()
		idp, answered := d.chooseIdP(w, r, snap, a.slug, q.Get("passive") != "")
		if answered {
			return
		}
		if idp == nil {
			d.refuseSSO(w, r, a, notConfigured(a.slug, snap.Problems))
			return
		}
		a.idp = idp.EntityID
		// ?passive=frame|popup: a session check by session.js.
		returnTo, passive, done := d.startPassiveCheck(w, r, snap, origin)
		if done {
			return
		}
		if origin != "" && returnTo == relay.PopupDonePath {
			returnTo += "?" + url.Values{relay.OriginParam: {origin}}.Encode()
		}
		if ui.IsSSOTest(returnTo) {
			// "Test SSO connection" is started from the admin pages: a
			// return path crafted by anyone else is an ordinary login.
			if _, err := d.Kit.AuthenticateAdmin(r); err != nil {
				d.Kit.Logger.Warn("SSO test return path without an administrator session: ordinary login", "tenant", a.slug, "client", a.client)
				returnTo = ""
			}
		}
		if !d.admitAuthnRequest(w, r) {
			return
		}
		secret, err := d.Kit.BindingSecret(w, r, a.slug)
		if err != nil {
			d.failSSO(w, r, a, err)
			return
		}
		binding := saml.BindingHTTPRedirect
		if !hasEndpoint(idp.SSO, binding) {
			binding = saml.BindingHTTPPOST
		}
		msg, err := snap.SP.MakeAuthnRequest(ctx, idp, saml.AuthnRequestOptions{
			Binding:               binding,
			ReturnTo:              returnTo,
			BrowserBinding:        tenantcfg.BrowserBinding(secret),
			ForceAuthn:            (sso.ForceAuthn || q.Get(promptParam) == promptLogin) && !passive,
			IsPassive:             passive,
			NameIDFormat:          sso.NameIDFormat,
			AuthnContextClassRefs: sso.AuthnContext,
			ResponseBinding:       responseBinding(sso, idp),
		})
		if err != nil {
			d.failSSO(w, r, a, fmt.Errorf("web: AuthnRequest to %q: %w", idp.EntityID, err))
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		if msg.Binding == saml.BindingHTTPRedirect {
			http.Redirect(w, r, msg.URL, http.StatusFound)
			return
		}
		d.Kit.WriteAutoPost(w, msg, origin)
	})
}

func hasEndpoint(eps []saml.Endpoint, binding string) bool {
	for _, ep := range eps {
		if ep.Binding == binding {
			return true
		}
	}
	return false
}

// handleSAMLACS is the Assertion Consumer Service: POST
// /t/{tenant}/saml/acs (HTTP-POST binding; a posted SAMLart goes to the
// HTTP-Artifact binding, acsArtifact). In order:
//
//  1. the tenant's runtime configuration (built once per change);
//  2. the IdP that answered (the only one, or by the response's Issuer);
//  3. saml.ServiceProvider.ValidateResponse: signature, addressing, time
//     windows, the pending request taken once and tied to this browser by
//     the binding cookie (SP-initiated) or IdP-initiated allowed, replay;
//  4. login.Service.Resolve: attribute mapping, link or just-in-time
//     account, the refusal rules of account states, fields and roles synchronised;
//  5. a new session (the old one of this browser, if any, ends), its cookie,
//     and a redirect: to the return path of the request (SP-initiated), to
//     a RelayState that is a path on this site (IdP-initiated), else to the
//     tenant's default landing page.
//
// Every attempt becomes an sso.login audit event with its reason code; a
// refusal answers 4xx with a page that says what to do, and sets no session
// cookie.
func handleSAMLACS(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r, span := traceStep(r, "saml.acs", attribute.String("lanyard.tenant", r.PathValue("tenant")))
		defer span.End()
		a := &ssoAttempt{slug: r.PathValue("tenant"), client: d.Kit.ClientAddress(r), userAgent: r.UserAgent()}
		snap, ok := d.ssoSnapshot(w, r, a)
		if !ok {
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxACSBytes)
		if err := readACSForm(r); err != nil {
			d.refuseSSO(w, r, a, ssoRefusal{
				status: http.StatusBadRequest, reason: reasonFormUnreadable, title: "Sign-in failed",
				detail:  "the posted form could not be read: " + err.Error(),
				message: "The sign-in answer could not be read.",
				advice:  "Start the sign-in again. If it keeps failing, tell your administrator and give them the reference below.",
				retry:   true,
			})
			return
		}
		samlResponse := r.PostForm.Get("SAMLResponse")
		if samlResponse == "" && r.PostForm.Has("SAMLart") {
			d.acsArtifact(w, r, a, snap, r.PostForm.Get("SAMLart"), r.PostForm.Get("RelayState"))
			return
		}
		if samlResponse == "" {
			d.refuseSSO(w, r, a, ssoRefusal{
				status: http.StatusBadRequest, reason: reasonMissingResponse, title: "Sign-in failed",
				detail:  "the POST to the ACS carries no SAMLResponse field",
				message: "This address receives sign-in answers from your identity provider, and this request carried none.",
				advice:  "Start the sign-in again from the application or this site.",
				retry:   true,
			})
			return
		}
		idp, err := snap.IdPForResponse(samlResponse)
		if errors.Is(err, tenantcfg.ErrNoIdP) {
			d.refuseSSO(w, r, a, notConfigured(a.slug, snap.Problems))
			return
		}
		if err != nil {
			d.refuseProtocol(w, r, a, err, false)
			return
		}
		a.idp = idp.EntityID
		secret := ui.BindingCookie(r)
		in := saml.ResponseInput{
			SAMLResponse:   samlResponse,
			RelayState:     r.PostForm.Get("RelayState"),
			BrowserBinding: tenantcfg.BrowserBinding(secret),
		}
		refuse := func(err error) {
			if d.passiveCheckRefused(w, r, a, snap, err, secret) {
				return
			}
			d.refuseProtocol(w, r, a, err, secret != "")
		}
		// The signatures and every rule that reads only the message are
		// checked before the login's transaction: no lock or connection is
		// held for that work, whoever posted the message.
		// The message is decoded once, for the validation and for what the
		// login records of it (observeDocument).
		vctx, vspan := tracing.Start(r.Context(), "saml.validate", trace.SpanKindInternal, attribute.String("lanyard.idp", idp.EntityID))
		document, err := snap.SP.DecodeResponse(samlResponse)
		var verified *saml.VerifiedResponse
		if err == nil {
			verified, err = snap.SP.VerifyDecodedResponse(vctx, idp, document, in)
		}
		tracing.Fail(vspan, err)
		vspan.End()
		if err != nil {
			refuse(err)
			return
		}
		a.document = document
		d.completeACS(w, r, a, snap, idp, verified.Consume, refuse)
	})
}

// errNotValidated ends the transaction of a login whose response was
// refused when consumed (its request unknown, its assertion used): the
// refusal is answered once nothing is held.
var errNotValidated = errors.New("sso: response not validated")

// acsLogin is what a login's transaction did, for the answer given after it.
type acsLogin struct {
	assertion  *saml.Assertion
	invalid    error // the response was refused (consume's error)
	res        login.Result
	resolveErr error // Resolve refused (a *login.Refusal) or failed
	refusal    recordedRefusal
	sessionID  string
	session    lanyard.Session
	ref        string // the success audit event's ID
	landing    string
	landingWhy string
}

// completeACS takes a verified response (either binding) to its end: a
// passive check's answer, a test login, or a login resolved into an
// account and a session. The login's writes are one transaction (the rule
// "one commit per login"): the pending request taken and the assertion
// marked used by consume, the account created or updated, its link, the
// session and the audit event commit together or not at all, so that a
// failure leaves nothing partial and the user can retry with the same
// response. A policy refusal commits what was written (a just-in-time
// account created inactive, the replay mark) and is recorded as before.
func (d *Deps) completeACS(w http.ResponseWriter, r *http.Request, a *ssoAttempt, snap *tenantcfg.Snapshot, idp *saml.IdentityProvider,
	consume func(ctx context.Context) (*saml.Assertion, error), refuse func(error)) {
	ctx, storeSpan := tracing.Start(r.Context(), "store.login", trace.SpanKindInternal)
	// What the message shows is read before the transaction: nothing is
	// held while it is scanned.
	observed := observeDocument(a.document, d.Kit.Now())
	var out acsLogin
	var refusalsDue []summary // written once the transaction is over
	err := d.Store.Atomic(ctx, func(tx lanyard.Store) error {
		out = acsLogin{} // a retried transaction starts over
		txCtx := lanyard.ContextWithTx(ctx, tx)
		assertion, err := consume(txCtx)
		if err != nil {
			out.invalid = err
			return errNotValidated
		}
		out.assertion = assertion
		if _, ok := d.passiveReturn(assertion.ReturnTo); ok || ui.IsSSOTest(assertion.ReturnTo) {
			return nil // the request taken, the assertion used; no login
		}
		out.res, err = d.Logins.Resolve(txCtx, snap.Tenant, loginAssertion(idp.EntityID, assertion),
			login.Options{In: tx, Directory: snap.Directory, DirectoryKnown: snap.DirectoryKnown})
		var refusal *login.Refusal
		if errors.As(err, &refusal) {
			out.resolveErr = err
			refused := *a
			refused.nameID, refused.login, refused.userID = assertion.NameID.Value, refusal.Login, refusal.UserID
			out.refusal, err = d.recordRefusal(txCtx, tx, refused, policyRefusal(refusal), &refusalsDue)
			return err
		}
		if err != nil {
			out.resolveErr = err
			return err
		}
		return d.openSession(txCtx, tx, a, snap, assertion, observed, &out)
	})
	tracing.Fail(storeSpan, err)
	storeSpan.End()
	d.Refusals.writeDue(ctx, refusalsDue)
	if errors.Is(err, lanyard.ErrReplayed) && out.assertion != nil {
		// The store made the replay mark after consume, with a later
		// statement (lanyard.ReplayCache): nothing of the login was kept.
		out.invalid = saml.ReplayedAssertion(out.assertion)
	}
	if out.invalid != nil {
		refuse(out.invalid)
		return
	}
	if out.assertion != nil {
		a.nameID = out.assertion.NameID.Value
	}
	var refusal *login.Refusal
	switch {
	case errors.As(out.resolveErr, &refusal) && err == nil:
		a.login, a.userID = refusal.Login, refusal.UserID
		d.refuseRecorded(w, r, a, policyRefusal(refusal), out.refusal)
		return
	case err != nil:
		a.login = out.res.Profile.Login
		d.failSSO(w, r, a, err)
		return
	}
	assertion := out.assertion
	if check, ok := d.passiveReturn(assertion.ReturnTo); ok {
		d.completePassiveCheck(w, r, a, snap, assertion, check)
		return
	}
	if ui.IsSSOTest(assertion.ReturnTo) {
		d.completeSSOTest(w, r, a, snap, idp.EntityID, assertion)
		return
	}
	a.login, a.userID = out.res.User.Login, out.res.User.ID
	d.acceptSSO(w, r, a, out)
}

// handleSAMLACSGet answers a GET of the ACS address that carries no
// SAMLart (a bookmark, a reload after signing in): answers come by POST,
// or by GET with an artifact (handleSAMLACSGetArtifact), so the page
// offers to start the sign-in instead.
func handleSAMLACSGet(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		slug := r.PathValue("tenant")
		var next *ui.Link
		if lanyard.ValidSlug(slug) {
			next = &ui.Link{Href: ui.SSOPath(slug) + "login", Text: "Start the sign-in"}
		}
		w.Header().Set("Allow", http.MethodPost)
		d.Kit.Render(w, r, http.StatusMethodNotAllowed, "error", ui.ErrorView{
			Title:   "Nothing to see here",
			Message: "This address receives sign-in answers from your identity provider; it cannot be opened directly.",
			Link:    next,
		})
	})
}

// refuseProtocol refuses a SAML message package saml did not accept. Store
// failures inside saml (ReasonInternal) are internal errors, not refusals.
func (d *Deps) refuseProtocol(w http.ResponseWriter, r *http.Request, a *ssoAttempt, err error, cookieSent bool) {
	var e *saml.Error
	if !errors.As(err, &e) {
		d.failSSO(w, r, a, fmt.Errorf("web: validate response: %w", err))
		return
	}
	if e.Reason == saml.ReasonInternal {
		d.failSSO(w, r, a, fmt.Errorf("web: validate response: %w", err))
		return
	}
	d.refuseSSO(w, r, a, protocolRefusal(e, cookieSent))
}

// openSession opens the session of an accepted login and writes its
// audit event, both through tx.
func (d *Deps) openSession(ctx context.Context, tx lanyard.Store, a *ssoAttempt, snap *tenantcfg.Snapshot, as *saml.Assertion, observed documentObservations, out *acsLogin) error {
	res := out.res
	id, sess, err := d.Sessions.Prepare(snap.Tenant, res.User, lanyard.SessionSSO, session.Meta{
		ClientIP:     a.client,
		UserAgent:    a.userAgent,
		IdPEntityID:  a.idp,
		NameID:       as.NameID.Value,
		NameIDFormat: as.NameID.Format,
		SessionIndex: as.SessionIndex,
		AuthnContext: as.AuthnContextClassRef,
	})
	if err != nil {
		return fmt.Errorf("web: SSO login: %w", err)
	}
	landing, landingWhy := landingPath(snap.Tenant.SSO, as)
	detail := map[string]string{
		"idp":      a.idp,
		"nameid":   as.NameID.Value,
		"found_by": res.FoundBy,
		"landing":  landing,
	}
	if as.NameID.Format != "" {
		detail["nameid_format"] = as.NameID.Format
	}
	if res.NewLink {
		detail["new_link"] = "true"
	}
	if len(res.Changes) > 0 {
		detail["changes"] = strings.Join(res.Changes, "; ")
	}
	if as.InResponseTo == "" {
		detail["idp_initiated"] = "true"
	}
	if as.Encrypted {
		detail["encrypted"] = "true"
	}
	for k, v := range observed.with(as, snap.SP.EncryptionKeys) {
		detail[k] = v
	}
	msg := fmt.Sprintf("signed in through identity provider %q (account found by %s)", a.idp, res.FoundBy)
	if res.FoundBy == login.ByCreated {
		msg = fmt.Sprintf("signed in through identity provider %q; account created just in time", a.idp)
	}
	event := lanyard.AuditEvent{
		TenantID: snap.Tenant.ID,
		Time:     d.Kit.Now().UTC(),
		Actor:    res.User.Login,
		Action:   actionSSOLogin,
		Outcome:  lanyard.OutcomeSuccess,
		UserID:   res.User.ID,
		Subject:  res.User.Login,
		ClientIP: a.client,
		Message:  msg,
		Detail:   detail,
	}
	if err := createSessionWithAudit(ctx, tx, &sess, &event); err != nil {
		return fmt.Errorf("web: SSO login: %w", err)
	}
	out.sessionID, out.session, out.ref = id, sess, strconv.FormatInt(event.ID, 10)
	out.landing, out.landingWhy = landing, landingWhy
	return nil
}

// createSessionWithAudit writes a login's session and its audit event
// through tx: in one statement where the store can.
func createSessionWithAudit(ctx context.Context, tx lanyard.Store, s *lanyard.Session, e *lanyard.AuditEvent) error {
	if both, ok := tx.(lanyard.SessionAuditCreator); ok {
		if err := both.CreateSessionWithAudit(ctx, s, e); err != nil {
			return fmt.Errorf("session and audit event: %w", err)
		}
		return nil
	}
	if err := tx.CreateSession(ctx, s); err != nil {
		return fmt.Errorf("session: %w", err)
	}
	if err := tx.AppendAudit(ctx, e); err != nil {
		return fmt.Errorf("audit event: %w", err)
	}
	return nil
}

// acceptSSO sends the browser of a committed login on with its session.
func (d *Deps) acceptSSO(w http.ResponseWriter, r *http.Request, a *ssoAttempt, out acsLogin) {
	ctx := r.Context()
	res := out.res
	// A fresh session ID at every sign-in defeats session fixation.
	if old := d.Kit.SessionID(r); old != "" {
		d.Kit.EndSession(ctx, old, "replaced by a new sign-in")
	}
	d.Metrics.LoginAttempt(loginMethodSSO, string(lanyard.OutcomeSuccess), "")
	d.Kit.Logger.LogAttrs(ctx, slog.LevelInfo, "SSO login",
		slog.String("tenant", a.slug), slog.String("user", res.User.Login), slog.String("idp", a.idp),
		slog.String("found_by", res.FoundBy), slog.Int("changes", len(res.Changes)),
		slog.String("landing", out.landing), slog.String("landing_why", out.landingWhy),
		slog.String("reference", out.ref), slog.String("client", a.client))
	d.Kit.SetSessionCookie(w, out.sessionID, out.session, d.Kit.Now())
	w.Header().Set("Cache-Control", "no-store")
	ui.Redirect(w, r, out.landing)
}

// landingPath chooses where an accepted login lands, and says why: the
// return path of an SP-initiated login, else the RelayState of an
// IdP-initiated one when it is a path on this site, else the tenant's
// default landing page. Nothing else is ever followed: no open redirects.
func landingPath(sso lanyard.SSOSettings, as *saml.Assertion) (path, why string) {
	def := cmp.Or(sso.DefaultLanding, "/")
	if as.InResponseTo != "" {
		if lanyard.IsLocalPath(as.ReturnTo) {
			return as.ReturnTo, "return path of the request"
		}
		return def, "default landing (no return path)"
	}
	switch {
	case as.RelayState == "":
		return def, "default landing (IdP-initiated, no RelayState)"
	case lanyard.IsLocalPath(as.RelayState):
		return as.RelayState, "RelayState (IdP-initiated)"
	}
	return def, "default landing (IdP-initiated RelayState " + strconv.Quote(ui.TruncateForLog(as.RelayState)) + " is not a path on this site)"
}

// loginAssertion hands package login what it needs of a validated assertion.
func loginAssertion(idp string, as *saml.Assertion) login.Assertion {
	la := login.Assertion{
		IdPEntityID:  idp,
		NameID:       as.NameID.Value,
		NameIDFormat: as.NameID.Format,
		SessionIndex: as.SessionIndex,
		Attributes:   make([]login.Attribute, len(as.Attributes)),
	}
	for i, at := range as.Attributes {
		la.Attributes[i] = login.Attribute{Name: at.Name, NameFormat: at.NameFormat, FriendlyName: at.FriendlyName, Values: at.Values}
	}
	return la
}

// requireReadySSO is requireReady for the ACS: a login that arrives while
// the server starts is a refusal the administrator may want to see, so it
// is logged and counted (the audit trail may not exist yet).
func (d *Deps) requireReadySSO(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !d.IsReady() {
			d.Metrics.LoginAttempt(loginMethodSSO, string(lanyard.OutcomeFailure), reasonInitialising)
			d.Kit.Logger.Warn("SSO login refused", "tenant", r.PathValue("tenant"), "reason", reasonInitialising,
				"detail", "Lanyard is still initialising (database migration); the user was asked to try again later", "client", d.Kit.ClientAddress(r))
			d.Kit.RenderStarting(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}
