package web

import (
	"cmp"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/login"
	"github.com/lanyard-sso/lanyard/saml"
	"github.com/lanyard-sso/lanyard/session"
	"github.com/lanyard-sso/lanyard/tenantcfg"
)

// maxACSBytes bounds the body posted to the ACS: package saml accepts up to
// saml.DefaultMaxSize of XML, which base64 makes a third larger.
const maxACSBytes = saml.DefaultMaxSize*4/3 + 64<<10

// handleSAMLMetadata serves a tenant's SP metadata, built once per
// configuration change. It is served even while SSO is off: administrators
// hand it to the IdP before turning SSO on.
func (s *Server) handleSAMLMetadata() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		slug := r.PathValue("tenant")
		if !lanyard.ValidSlug(slug) {
			s.handleNotFound().ServeHTTP(w, r)
			return
		}
		snap, err := s.tenants.Snapshot(r.Context(), slug)
		switch {
		case errors.Is(err, lanyard.ErrNotFound):
			s.renderError(w, r, lanyard.Errorf(lanyard.KindNotFound, "There is no organisation %q. Check the address.", slug))
			return
		case err != nil:
			s.renderError(w, r, err)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "application/samlmetadata+xml")
		h.Set("Content-Disposition", `inline; filename="`+slug+`-sp-metadata.xml"`)
		h.Set("Cache-Control", "no-cache")
		_, _ = w.Write(snap.Metadata)
	})
}

// handleSAMLLogin starts an SP-initiated login: GET
// /t/{tenant}/saml/login?return_to=PATH[&idp=ENTITYID]. It sets the browser
// binding cookie, records the pending AuthnRequest with the return path
// (a path on this site, query included, kept exactly; anything else is
// dropped for the tenant's default landing page) and sends the browser to
// the IdP: a redirect (HTTP-Redirect binding), or an auto-posting form when
// the IdP offers only HTTP-POST.
func (s *Server) handleSAMLLogin() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		// ?origin=: session.js on an application's host runs this check
		// or sign-in window, and is told the outcome.
		rawOrigin := r.URL.Query().Get(originParam)
		origin, ok := s.pageOrigin(rawOrigin)
		if !ok {
			s.refuseOrigin(w, r, rawOrigin)
			return
		}
		a := &ssoAttempt{slug: r.PathValue("tenant"), client: s.clientAddress(r), userAgent: r.UserAgent()}
		snap, ok := s.ssoSnapshot(w, r, a)
		if !ok {
			return
		}
		sso := snap.Tenant.SSO
		if !sso.Enabled {
			s.refuseSSO(w, r, a, ssoRefusal{
				status: http.StatusForbidden, reason: string(login.ReasonSSODisabled), title: "Sign-in refused",
				detail:  fmt.Sprintf("tenant %q has SSO turned off; a login was started (turn it on with: lanyard tenant set %s enabled=true)", a.slug, a.slug),
				message: "Single sign-on is not enabled for this organisation.",
				advice:  adviceAdmin,
			})
			return
		}
		q := r.URL.Query()
		idp := snap.IdP(q.Get("idp"))
		if idp == nil && len(snap.IdPs) > 0 {
			idp = snap.IdPs[0]
		}
		if idp == nil {
			s.refuseSSO(w, r, a, notConfigured(a.slug, snap.Problems))
			return
		}
		a.idp = idp.EntityID
		// ?passive=frame|popup: a session check by session.js.
		returnTo, passive, done := s.startPassiveCheck(w, r, snap, origin)
		if done {
			return
		}
		if origin != "" && returnTo == popupDonePath {
			returnTo += "?" + url.Values{originParam: {origin}}.Encode()
		}
		secret, err := s.bindingSecret(w, r, a.slug)
		if err != nil {
			s.failSSO(w, r, a, err)
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
			ForceAuthn:            sso.ForceAuthn && !passive,
			IsPassive:             passive,
			NameIDFormat:          sso.NameIDFormat,
			AuthnContextClassRefs: sso.AuthnContext,
		})
		if err != nil {
			s.failSSO(w, r, a, fmt.Errorf("web: AuthnRequest to %q: %w", idp.EntityID, err))
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		if msg.Binding == saml.BindingHTTPRedirect {
			http.Redirect(w, r, msg.URL, http.StatusFound)
			return
		}
		s.writeAutoPost(w, r, msg, origin)
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

// autoPostPage posts a SAML message to the IdP (HTTP-POST binding). The
// form submits itself with a script allowed by a per-response nonce; without
// script, the user presses Continue.
var autoPostPage = template.Must(template.New("post").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Signing in · Lanyard</title></head>
<body>
<form id="saml" method="post" action="{{.URL}}">
<input type="hidden" name="{{.Param}}" value="{{.Value}}">
{{with .RelayState}}<input type="hidden" name="RelayState" value="{{.}}">{{end}}
<noscript><p>Your browser does not run scripts: press Continue to go on to your identity provider.</p></noscript>
<button type="submit">Continue</button>
</form>
<script nonce="{{.Nonce}}">document.getElementById("saml").submit();</script>
</body></html>
`))

// writeAutoPost answers with the auto-posting form of msg. Its
// Content-Security-Policy allows only the nonce's script and a post to the
// IdP's endpoint; only Lanyard's own pages, and the validated origin of the
// application page that runs a check, may frame it (the hidden frame of a
// passive session check).
func (s *Server) writeAutoPost(w http.ResponseWriter, r *http.Request, msg *saml.Message, frameOrigin string) {
	var b [16]byte
	_, _ = rand.Read(b[:])
	nonce := base64.RawURLEncoding.EncodeToString(b[:]) // no characters HTML escapes
	action := "'self'"
	if u, err := url.Parse(msg.URL); err == nil && u.Host != "" {
		action = u.Scheme + "://" + u.Host
	}
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'nonce-"+nonce+"'; form-action "+action+"; frame-ancestors "+frameAncestors(frameOrigin)+"; base-uri 'none'")
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	data := struct{ URL, Param, Value, RelayState, Nonce string }{msg.URL, msg.Param, msg.Value, msg.RelayState, nonce}
	if err := autoPostPage.Execute(w, data); err != nil {
		s.logger.Error("auto-post page failed", "err", err)
	}
}

// handleSAMLACS is the Assertion Consumer Service: POST
// /t/{tenant}/saml/acs (HTTP-POST binding). In order:
//
//  1. the tenant's runtime configuration (built once per change);
//  2. the IdP that answered (the only one, or by the response's Issuer);
//  3. saml.ServiceProvider.ValidateResponse: signature, addressing, time
//     windows, the pending request taken once and tied to this browser by
//     the binding cookie (SP-initiated) or IdP-initiated allowed, replay;
//  4. login.Service.Resolve: attribute mapping, link or just-in-time
//     account, the seeds' refusal rules, fields and roles synchronised;
//  5. a new session (the old one of this browser, if any, ends), its cookie,
//     and a redirect: to the return path of the request (SP-initiated), to
//     a RelayState that is a path on this site (IdP-initiated), else to the
//     tenant's default landing page.
//
// Every attempt becomes an sso.login audit event with its reason code; a
// refusal answers 4xx with a page that says what to do, and sets no session
// cookie.
func (s *Server) handleSAMLACS() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		a := &ssoAttempt{slug: r.PathValue("tenant"), client: s.clientAddress(r), userAgent: r.UserAgent()}
		snap, ok := s.ssoSnapshot(w, r, a)
		if !ok {
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxACSBytes)
		if err := r.ParseForm(); err != nil {
			s.refuseSSO(w, r, a, ssoRefusal{
				status: http.StatusBadRequest, reason: reasonFormUnreadable, title: "Sign-in failed",
				detail:  "the posted form could not be read: " + err.Error(),
				message: "The sign-in answer could not be read.",
				advice:  "Start the sign-in again. If it keeps failing, tell your administrator and give them the reference below.",
				retry:   true,
			})
			return
		}
		samlResponse := r.PostForm.Get("SAMLResponse")
		if samlResponse == "" {
			s.refuseSSO(w, r, a, ssoRefusal{
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
			s.refuseSSO(w, r, a, notConfigured(a.slug, snap.Problems))
			return
		}
		if err != nil {
			s.refuseProtocol(w, r, a, err, false)
			return
		}
		a.idp = idp.EntityID
		secret := bindingCookie(r)
		assertion, err := snap.SP.ValidateResponse(ctx, idp, saml.ResponseInput{
			SAMLResponse:   samlResponse,
			RelayState:     r.PostForm.Get("RelayState"),
			BrowserBinding: tenantcfg.BrowserBinding(secret),
		})
		if err != nil {
			if s.passiveCheckRefused(w, r, a, snap, err, secret) {
				return
			}
			s.refuseProtocol(w, r, a, err, secret != "")
			return
		}
		a.nameID = assertion.NameID.Value
		if check, ok := s.passiveReturn(assertion.ReturnTo); ok {
			s.completePassiveCheck(w, r, a, snap, assertion, check)
			return
		}
		if isSSOTest(assertion.ReturnTo) {
			s.completeSSOTest(w, r, a, snap, idp.EntityID, assertion)
			return
		}

		res, err := s.logins.Resolve(ctx, snap.Tenant, loginAssertion(idp.EntityID, assertion), login.Options{})
		var refusal *login.Refusal
		if errors.As(err, &refusal) {
			a.login, a.userID = refusal.Login, refusal.UserID
			s.refuseSSO(w, r, a, policyRefusal(refusal))
			return
		}
		if err != nil {
			a.login = res.Profile.Login
			s.failSSO(w, r, a, err)
			return
		}
		a.login, a.userID = res.User.Login, res.User.ID
		s.acceptSSO(w, r, a, snap, assertion, res)
	})
}

// handleSAMLACSGet answers a GET of the ACS address (a bookmark, a reload
// after signing in): it receives answers from the IdP by POST only, so the
// page offers to start the sign-in instead.
func (s *Server) handleSAMLACSGet() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		slug := r.PathValue("tenant")
		var next *link
		if lanyard.ValidSlug(slug) {
			next = &link{Href: ssoPath(slug) + "login", Text: "Start the sign-in"}
		}
		w.Header().Set("Allow", http.MethodPost)
		s.render(w, r, http.StatusMethodNotAllowed, "error", errorView{
			Title:   "Nothing to see here",
			Message: "This address receives sign-in answers from your identity provider; it cannot be opened directly.",
			Link:    next,
		})
	})
}

// refuseProtocol refuses a SAML message package saml did not accept. Store
// failures inside saml (ReasonInternal) are internal errors, not refusals.
func (s *Server) refuseProtocol(w http.ResponseWriter, r *http.Request, a *ssoAttempt, err error, cookieSent bool) {
	var e *saml.Error
	if !errors.As(err, &e) {
		s.failSSO(w, r, a, fmt.Errorf("web: validate response: %w", err))
		return
	}
	if e.Reason == saml.ReasonInternal {
		s.failSSO(w, r, a, fmt.Errorf("web: validate response: %w", err))
		return
	}
	s.refuseSSO(w, r, a, protocolRefusal(e, cookieSent))
}

// acceptSSO opens the session of an accepted login and sends the browser on.
func (s *Server) acceptSSO(w http.ResponseWriter, r *http.Request, a *ssoAttempt, snap *tenantcfg.Snapshot, as *saml.Assertion, res login.Result) {
	ctx := r.Context()
	// A fresh session ID at every sign-in defeats session fixation.
	if old := sessionID(r); old != "" {
		s.endSession(ctx, old, "replaced by a new sign-in")
	}
	id, sess, err := s.sessions.Open(ctx, snap.Tenant, res.User, lanyard.SessionSSO, session.Meta{
		ClientIP:     a.client,
		UserAgent:    a.userAgent,
		IdPEntityID:  a.idp,
		NameID:       as.NameID.Value,
		NameIDFormat: as.NameID.Format,
		SessionIndex: as.SessionIndex,
	})
	if err != nil {
		s.failSSO(w, r, a, fmt.Errorf("web: SSO login: %w", err))
		return
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
	msg := fmt.Sprintf("signed in through identity provider %q (account found by %s)", a.idp, res.FoundBy)
	if res.FoundBy == login.ByCreated {
		msg = fmt.Sprintf("signed in through identity provider %q; account created just in time", a.idp)
	}
	ref := s.auditRef(ctx, lanyard.AuditEvent{
		TenantID: snap.Tenant.ID,
		Actor:    res.User.Login,
		Action:   actionSSOLogin,
		Outcome:  lanyard.OutcomeSuccess,
		UserID:   res.User.ID,
		Subject:  res.User.Login,
		ClientIP: a.client,
		Message:  msg,
		Detail:   detail,
	})
	s.metrics.loginAttempt(loginMethodSSO, string(lanyard.OutcomeSuccess), "")
	s.logger.LogAttrs(ctx, slog.LevelInfo, "SSO login",
		slog.String("tenant", a.slug), slog.String("user", res.User.Login), slog.String("idp", a.idp),
		slog.String("found_by", res.FoundBy), slog.Int("changes", len(res.Changes)),
		slog.String("landing", landing), slog.String("landing_why", landingWhy),
		slog.String("reference", ref), slog.String("client", a.client))
	s.setSessionCookie(w, id, sess, s.now())
	w.Header().Set("Cache-Control", "no-store")
	redirect(w, r, landing)
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
	return def, "default landing (IdP-initiated RelayState " + strconv.Quote(truncateForLog(as.RelayState)) + " is not a path on this site)"
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
func (s *Server) requireReadySSO(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.ready.Load() {
			s.metrics.loginAttempt(loginMethodSSO, string(lanyard.OutcomeFailure), reasonInitialising)
			s.logger.Warn("SSO login refused", "tenant", r.PathValue("tenant"), "reason", reasonInitialising,
				"detail", "Lanyard is still initialising (database migration); the user was asked to try again later", "client", s.clientAddress(r))
			s.renderStarting(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}
