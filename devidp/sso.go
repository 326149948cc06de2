package devidp

import (
	"bytes"
	"crypto/subtle"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Status codes (SAML Core 3.2.2.2).
const (
	statusSuccess             = "urn:oasis:names:tc:SAML:2.0:status:Success"
	statusRequester           = "urn:oasis:names:tc:SAML:2.0:status:Requester"
	statusResponder           = "urn:oasis:names:tc:SAML:2.0:status:Responder"
	statusNoPassive           = "urn:oasis:names:tc:SAML:2.0:status:NoPassive"
	statusAuthnFailed         = "urn:oasis:names:tc:SAML:2.0:status:AuthnFailed"
	statusInvalidNameIDPolicy = "urn:oasis:names:tc:SAML:2.0:status:InvalidNameIDPolicy"
	statusUnknownPrincipal    = "urn:oasis:names:tc:SAML:2.0:status:UnknownPrincipal"
	statusPartialLogout       = "urn:oasis:names:tc:SAML:2.0:status:PartialLogout"
)

// Bounds on the IssueInstant of requests: how old a request may be, and
// how far in the future (clock skew between SP and IdP).
const (
	maxRequestAge  = 10 * time.Minute
	maxClockAhead  = 3 * time.Minute
	maxRelayState  = 80 // SAML Bindings 3.4.3
	maxLoginFields = 1 << 10
)

// ServeHTTP implements http.Handler.
func (idp *IdP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	idp.handler.ServeHTTP(w, r)
}

var _ http.Handler = (*IdP)(nil)

// routes returns the IdP's endpoints under its base path.
func (idp *IdP) routes() http.Handler {
	mux := http.NewServeMux()
	p := idp.basePath
	mux.HandleFunc("GET "+p+"/{$}", idp.handleIndex)
	mux.HandleFunc("GET "+p+"/metadata", idp.handleMetadata)
	mux.HandleFunc("GET "+p+"/sso", idp.handleSSO)
	mux.HandleFunc("POST "+p+"/sso", idp.handleSSO)
	mux.HandleFunc("POST "+p+"/login", idp.handleLogin)
	mux.HandleFunc("GET "+p+"/init", idp.handleInit)
	mux.HandleFunc("GET "+p+"/slo", idp.handleSLO)
	mux.HandleFunc("POST "+p+"/slo", idp.handleSLO)
	mux.HandleFunc("GET "+p+"/logout", idp.handleLogoutPage)
	mux.HandleFunc("POST "+p+"/logout", idp.handleLogout)
	return mux
}

func (idp *IdP) handleMetadata(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/samlmetadata+xml")
	w.Write(idp.Metadata())
}

func (idp *IdP) handleIndex(w http.ResponseWriter, r *http.Request) {
	p := page{Title: "Development IdP", MetadataURL: idp.MetadataURL(), LogoutURL: idp.LogoutURL(), Users: idp.Users(), Demo: idp.demo}
	if s := idp.currentSession(r); s != nil {
		p.Username = s.user.Username
	}
	for _, sp := range idp.SPs() {
		p.SPs = append(p.SPs, indexSP{EntityID: sp.EntityID, InitURL: idp.InitURL(sp.EntityID, "")})
	}
	idp.render(w, http.StatusOK, "index", p)
}

// authnRequest is what the IdP reads of an AuthnRequest (SAML Core 3.4.1).
type authnRequest struct {
	ID              string `xml:"ID,attr"`
	Version         string `xml:"Version,attr"`
	IssueInstant    string `xml:"IssueInstant,attr"`
	Destination     string `xml:"Destination,attr"`
	ACSURL          string `xml:"AssertionConsumerServiceURL,attr"`
	ACSIndex        string `xml:"AssertionConsumerServiceIndex,attr"`
	ProtocolBinding string `xml:"ProtocolBinding,attr"`
	ForceAuthn      string `xml:"ForceAuthn,attr"`
	IsPassive       string `xml:"IsPassive,attr"`
	Issuer          string `xml:"urn:oasis:names:tc:SAML:2.0:assertion Issuer"`
	NameIDPolicy    *struct {
		Format string `xml:"Format,attr"`
	} `xml:"urn:oasis:names:tc:SAML:2.0:protocol NameIDPolicy"`
}

// decodeXML unmarshals a protocol message whose root element must be
// samlp:root. DTDs are refused: encoding/xml expands no entities, but a
// DTD has no business in a SAML message.
func decodeXML(data []byte, root string, v any) error {
	if bytes.Contains(data, []byte("<!DOCTYPE")) {
		return errors.New("the message contains a DTD, which SAML forbids")
	}
	dec := xml.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("the message is not well-formed XML: %w", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			if se.Name.Space != nsSAMLP || se.Name.Local != root {
				return fmt.Errorf("expected a samlp:%s, got {%s}%s", root, se.Name.Space, se.Name.Local)
			}
			break
		}
	}
	if err := xml.Unmarshal(data, v); err != nil {
		return fmt.Errorf("the message is not well-formed XML: %w", err)
	}
	return nil
}

func xmlBool(s string) bool { return s == "true" || s == "1" }

// handleSSO receives an AuthnRequest (SAML Profiles 4.1.4.1) through the
// HTTP-Redirect or HTTP-POST binding. The checks, in order:
//
//  1. the message decodes (base64, DEFLATE for Redirect) and is a
//     samlp:AuthnRequest, Version 2.0, with an ID;
//  2. the Issuer is a trusted SP;
//  3. the signature verifies with one of the SP's certificates: the
//     query-string signature over HTTP-Redirect (SAML Bindings 3.4.4.1),
//     the enveloped XML signature over HTTP-POST; it is required when the
//     SP wants its requests signed;
//  4. Destination, when present, is this SSO endpoint; IssueInstant is
//     neither older than 10 minutes nor more than 3 in the future;
//  5. AssertionConsumerServiceURL, when present, is one of the SP's
//     registered ACS URLs, and ProtocolBinding is HTTP-POST.
//
// A refusal at these steps shows an error page: the response cannot be
// sent to an ACS URL the request may have forged. Then, with an IdP
// session and no ForceAuthn, the response is sent at once; with IsPassive
// and no usable session, a NoPassive status is; otherwise the login form
// is shown.
func (idp *IdP) handleSSO(w http.ResponseWriter, r *http.Request) {
	const title = "This sign-in request was refused"
	// 1. Decode.
	m, err := readMessage(w, r)
	if err != nil {
		idp.refuse(w, title, "The request could not be read: "+err.Error()+".")
		return
	}
	if m.param != "SAMLRequest" {
		idp.refuse(w, title, "The SSO endpoint takes a SAMLRequest; it received a "+m.param+".")
		return
	}
	var req authnRequest
	if err := decodeXML(m.xml, "AuthnRequest", &req); err != nil {
		idp.refuse(w, title, "The SAMLRequest could not be read: "+err.Error()+".")
		return
	}
	if req.Version != "2.0" || req.ID == "" {
		idp.refuse(w, title, fmt.Sprintf("The AuthnRequest must have Version=\"2.0\" and an ID; it has Version=%q and ID=%q.", req.Version, req.ID))
		return
	}
	// 2. Issuer.
	req.Issuer = strings.TrimSpace(req.Issuer)
	sp := idp.sp(req.Issuer)
	if sp == nil {
		idp.refuse(w, title, fmt.Sprintf("The request comes from the service provider %q, which this IdP does not know.", req.Issuer),
			"Give the IdP the SP's metadata (lanyard devidp --sp-metadata FILE|URL), or check the SP's entity ID.")
		return
	}
	// 3. Signature.
	if err := idp.checkSignature(sp, m, "AuthnRequest", sp.WantRequestsSigned); err != nil {
		idp.refuse(w, title, fmt.Sprintf("The AuthnRequest from %q: %v.", sp.EntityID, err))
		return
	}
	// 4. Destination and IssueInstant.
	if req.Destination != "" && req.Destination != idp.SSOURL() {
		idp.refuse(w, title, fmt.Sprintf("The AuthnRequest's Destination is %q; this IdP's SSO endpoint is %q. Update the IdP metadata at the SP.", req.Destination, idp.SSOURL()))
		return
	}
	if msg := idp.checkIssueInstant(req.IssueInstant, "AuthnRequest"); msg != "" {
		idp.refuse(w, title, msg)
		return
	}
	// 5. ACS URL and binding.
	acs := sp.ACSURL
	if req.ACSURL != "" {
		if !sp.acceptsACS(req.ACSURL) {
			idp.refuse(w, title, fmt.Sprintf("The AuthnRequest asks for the response at %q, which is not an ACS URL registered for %q (%q).", req.ACSURL, sp.EntityID, sp.ACSURL),
				"Fix the SP's ACS URL, or give the IdP the SP's current metadata.")
			return
		}
		acs = req.ACSURL
	}
	if req.ProtocolBinding != "" && req.ProtocolBinding != BindingHTTPPOST {
		idp.refuse(w, title, fmt.Sprintf("The AuthnRequest asks for the response through %q; this IdP sends responses with HTTP-POST only.", req.ProtocolBinding))
		return
	}
	if len(m.relayState) > maxRelayState {
		idp.log.Warn("devidp: RelayState longer than SAML Bindings 3.4.3 allows", "sp", sp.EntityID, "bytes", len(m.relayState))
	}
	l := &pendingLogin{sp: sp, requestID: req.ID, acsURL: acs, relayState: m.relayState, forceAuthn: xmlBool(req.ForceAuthn)}
	if req.NameIDPolicy != nil {
		l.nameIDFormat = req.NameIDPolicy.Format
	}
	idp.log.Info("devidp: AuthnRequest", "sp", sp.EntityID, "id", req.ID, "binding", m.binding,
		"force_authn", l.forceAuthn, "is_passive", xmlBool(req.IsPassive))

	s := idp.currentSession(r)
	switch {
	case s != nil && !l.forceAuthn:
		idp.respond(w, s, l)
	case xmlBool(req.IsPassive):
		// SAML Core 3.4.1: with IsPassive the IdP must not interact with
		// the user; it answers NoPassive when it cannot sign in silently.
		idp.log.Info("devidp: passive request without a session: NoPassive", "sp", sp.EntityID, "id", req.ID)
		idp.respondStatus(w, l, statusResponder, statusNoPassive, "There is no session at the IdP and the request is passive.")
	default:
		idp.savePendingLogin(l)
		idp.loginForm(w, http.StatusOK, l, "", "")
	}
}

// checkIssueInstant returns a message when the IssueInstant of a request
// is missing, malformed, too old or too far in the future; else "".
func (idp *IdP) checkIssueInstant(v, what string) string {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return fmt.Sprintf("The %s's IssueInstant %q is not a UTC time such as 2026-01-02T15:04:05Z.", what, v)
	}
	now := idp.now()
	switch {
	case now.Sub(t) > maxRequestAge:
		return fmt.Sprintf("The %s was issued at %s, %s ago (at most %s is accepted): go back to the application and try again, or check the SP's clock.", what, t.UTC().Format(time.RFC3339), now.Sub(t).Round(time.Second), maxRequestAge)
	case t.Sub(now) > maxClockAhead:
		return fmt.Sprintf("The %s was issued at %s, %s in the future of the IdP's clock (%s): the SP's clock is ahead.", what, t.UTC().Format(time.RFC3339), t.Sub(now).Round(time.Second), now.Format(time.RFC3339))
	}
	return ""
}

// checkSignature checks the signature of a message from sp with the SP's
// signing certificates: the query-string signature over HTTP-Redirect
// (SAML Bindings 3.4.4.1), the enveloped XML signature over HTTP-POST
// (see verify.go). required says an unsigned message is refused. A
// signature that cannot be checked because the SP has no certificate is
// logged and let through.
func (idp *IdP) checkSignature(sp *SP, m *inbound, what string, required bool) error {
	if m.binding == BindingHTTPPOST {
		if len(sp.SigningCertificates) == 0 {
			if required {
				return errors.New("the SP has no signing certificate to check it with")
			}
			if bytes.Contains(m.xml, []byte("SignatureValue")) {
				idp.log.Warn("devidp: a signed request was not checked: the SP has no signing certificate", "sp", sp.EntityID, "message", what)
			}
			return nil
		}
		err := verifyEnveloped(m.xml, sp.SigningCertificates)
		if errors.Is(err, errNoSignature) {
			if required {
				return errors.New("it arrived through HTTP-POST without a signature, and the SP's requests must be signed")
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("its XML signature is refused: %w", err)
		}
		return nil
	}
	if m.signature == nil {
		if required {
			return errors.New("it arrived through HTTP-Redirect without a Signature parameter, and the SP's requests must be signed")
		}
		return nil
	}
	if len(sp.SigningCertificates) == 0 {
		idp.log.Warn("devidp: a signed request was not checked: the SP has no signing certificate", "sp", sp.EntityID, "message", what)
		return nil
	}
	return verifySignature(m.sigAlg, []byte(m.signed), m.signature, sp.SigningCertificates)
}

// refuse shows an error page for a request that cannot be answered to the
// SP. The page says what happened and what to do.
func (idp *IdP) refuse(w http.ResponseWriter, title string, paragraphs ...string) {
	idp.log.Warn("devidp: request refused", "reason", paragraphs[0])
	idp.message(w, http.StatusBadRequest, title, paragraphs...)
}

// loginForm shows the login form for l, with an error message if any.
func (idp *IdP) loginForm(w http.ResponseWriter, status int, l *pendingLogin, username, errMsg string) {
	p := page{Title: "Sign in", SP: l.sp.EntityID, Error: errMsg, Action: idp.url("/login"), LoginKey: l.key, Username: username}
	if idp.demo {
		p.DemoUsers = idp.Users()
	}
	idp.render(w, status, "login", p)
}

// handleLogin checks the login form. A wrong username or password shows
// the form again with an error; a right one starts the IdP session and
// sends the response. Cancel answers the SP with an AuthnFailed status.
func (idp *IdP) handleLogin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		idp.message(w, http.StatusBadRequest, "The login form could not be read", "Go back to the application and sign in again.")
		return
	}
	l := idp.pendingLogin(r.PostForm.Get("login"))
	if l == nil {
		idp.message(w, http.StatusBadRequest, "This login form has expired",
			fmt.Sprintf("Login forms are valid for %s, and only until they are used. Go back to the application and sign in again.", pendingLoginTTL))
		return
	}
	if r.PostForm.Get("cancel") != "" {
		// The user gives up: the SP hears so (Responder / AuthnFailed),
		// or, for an IdP-initiated login, nobody needs to.
		idp.takePendingLogin(l.key)
		idp.log.Info("devidp: login cancelled", "sp", l.sp.EntityID)
		if l.requestID == "" {
			http.Redirect(w, r, idp.StartURL(), http.StatusSeeOther)
			return
		}
		idp.respondStatus(w, l, statusResponder, statusAuthnFailed, "The user cancelled the login at the IdP.")
		return
	}
	username, password := r.PostForm.Get("username"), r.PostForm.Get("password")
	if len(username) > maxLoginFields || len(password) > maxLoginFields {
		idp.loginForm(w, http.StatusBadRequest, l, "", "The username or password is too long.")
		return
	}
	u := idp.users[username]
	if u == nil || subtle.ConstantTimeCompare([]byte(u.Password), []byte(password)) != 1 {
		idp.log.Info("devidp: wrong username or password", "username", username, "sp", l.sp.EntityID)
		idp.loginForm(w, http.StatusUnauthorized, l, username, "Wrong username or password. Check them and try again.")
		return
	}
	idp.takePendingLogin(l.key)
	if old := idp.currentSession(r); old != nil {
		idp.endSession(w, old, false)
	}
	s := idp.startSession(w, u)
	idp.log.Info("devidp: login", "username", u.Username, "sp", l.sp.EntityID)
	idp.respond(w, s, l)
}

// handleInit starts IdP-initiated SSO: GET /init?sp=ENTITYID&RelayState=...
// sends an unsolicited response to the SP's default ACS URL, after the
// login form when there is no session.
func (idp *IdP) handleInit(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	sp := idp.sp(q.Get("sp"))
	if sp == nil {
		var known []string
		for _, s := range idp.SPs() {
			known = append(known, s.EntityID)
		}
		idp.message(w, http.StatusNotFound, "Unknown application",
			fmt.Sprintf("No service provider has the entity ID %q. Known: %q. Pick one from the start page.", q.Get("sp"), known))
		return
	}
	l := &pendingLogin{sp: sp, acsURL: sp.ACSURL, relayState: q.Get("RelayState")}
	if s := idp.currentSession(r); s != nil {
		idp.respond(w, s, l)
		return
	}
	idp.savePendingLogin(l)
	idp.loginForm(w, http.StatusOK, l, "", "")
}

// respond sends the SP a Response with an assertion for s, through an
// auto-submitted form (HTTP-POST binding), and records the SP in s.
func (idp *IdP) respond(w http.ResponseWriter, s *session, l *pendingLogin) {
	nameID, format, err := idp.nameIDFor(s, l)
	if err != nil {
		idp.respondStatus(w, l, statusRequester, statusInvalidNameIDPolicy, err.Error())
		return
	}
	resp, err := idp.buildResponse(responseParams{
		sp: l.sp, acsURL: l.acsURL, inResponseTo: l.requestID, session: s, nameID: nameID, nameIDFormat: format,
	})
	if err != nil {
		idp.log.Error("devidp: building the response", "err", err)
		idp.message(w, http.StatusInternalServerError, "The response could not be made", err.Error())
		return
	}
	idp.mu.Lock()
	if _, ok := s.sps[l.sp.EntityID]; !ok {
		s.spOrder = append(s.spOrder, l.sp.EntityID)
	}
	s.sps[l.sp.EntityID] = &spSession{nameID: nameID, format: format}
	idp.mu.Unlock()
	idp.log.Info("devidp: response", "username", s.user.Username, "sp", l.sp.EntityID, "in_response_to", l.requestID, "acs", l.acsURL)
	idp.postForm(w, "Signing in…", l.sp.EntityID, l.acsURL, "SAMLResponse", resp, l.relayState)
}

// respondStatus sends the SP a signed Response without an assertion and
// with the given status codes.
func (idp *IdP) respondStatus(w http.ResponseWriter, l *pendingLogin, code, subCode, message string) {
	resp, err := idp.buildStatusResponse(l.sp, l.acsURL, l.requestID, code, subCode, message)
	if err != nil {
		idp.log.Error("devidp: building the response", "err", err)
		idp.message(w, http.StatusInternalServerError, "The response could not be made", err.Error())
		return
	}
	idp.postForm(w, "Signing in…", l.sp.EntityID, l.acsURL, "SAMLResponse", resp, l.relayState)
}

// postForm writes the page that posts a message to the SP (SAML Bindings
// 3.5.4): it submits itself, or the user presses Continue without
// JavaScript.
func (idp *IdP) postForm(w http.ResponseWriter, title, target, action, param, xml, relayState string) {
	idp.render(w, http.StatusOK, "post", page{
		Title: title, Target: target, URL: action, Param: param,
		Value: encodeBase64(xml), RelayState: relayState,
	})
}
