package devidp

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Single Logout (SAML Core 3.7, SAML Profiles 4.4).

// logoutChainTTL bounds how long the IdP waits for an SP's LogoutResponse.
const logoutChainTTL = 10 * time.Minute

// logoutChain is a logout in progress: the SPs still to visit, one after
// the other, by front-channel redirects.
type logoutChain struct {
	username  string
	current   string // entity ID of the SP holding the outstanding request
	remaining []logoutTarget
	results   []string
	// partial is set when an SP could not be signed out (no SLO
	// endpoint, or a non-success answer).
	partial bool
	// origin, for a logout an SP started, is the request to answer once
	// the other SPs are done; nil for a logout started at the IdP.
	origin  *logoutOrigin
	expires time.Time
}

// logoutOrigin is the LogoutRequest that started a logout.
type logoutOrigin struct {
	sp                    *SP
	requestID, relayState string
}

// logoutTarget is an SP to send a LogoutRequest to.
type logoutTarget struct {
	sp      *SP
	session spSession
	index   string
}

// logoutRequest is what the IdP reads of an SP's LogoutRequest.
type logoutRequest struct {
	ID           string `xml:"ID,attr"`
	Version      string `xml:"Version,attr"`
	IssueInstant string `xml:"IssueInstant,attr"`
	Destination  string `xml:"Destination,attr"`
	NotOnOrAfter string `xml:"NotOnOrAfter,attr"`
	Issuer       string `xml:"urn:oasis:names:tc:SAML:2.0:assertion Issuer"`
	NameID       *struct {
		Value  string `xml:",chardata"`
		Format string `xml:"Format,attr"`
	} `xml:"urn:oasis:names:tc:SAML:2.0:assertion NameID"`
	SessionIndexes []string `xml:"urn:oasis:names:tc:SAML:2.0:protocol SessionIndex"`
}

// statusResponse is what the IdP reads of an SP's LogoutResponse.
type statusResponse struct {
	ID           string `xml:"ID,attr"`
	InResponseTo string `xml:"InResponseTo,attr"`
	Destination  string `xml:"Destination,attr"`
	Issuer       string `xml:"urn:oasis:names:tc:SAML:2.0:assertion Issuer"`
	Status       struct {
		Code struct {
			Value string `xml:"Value,attr"`
			Sub   *struct {
				Value string `xml:"Value,attr"`
			} `xml:"urn:oasis:names:tc:SAML:2.0:protocol StatusCode"`
		} `xml:"urn:oasis:names:tc:SAML:2.0:protocol StatusCode"`
		Message string `xml:"urn:oasis:names:tc:SAML:2.0:protocol StatusMessage"`
	} `xml:"urn:oasis:names:tc:SAML:2.0:protocol Status"`
}

// handleSLO receives, through either binding, an SP's LogoutRequest
// (SP-initiated logout) or an SP's LogoutResponse (to an IdP-initiated
// logout).
func (idp *IdP) handleSLO(w http.ResponseWriter, r *http.Request) {
	m, err := readMessage(w, r)
	if err != nil {
		idp.refuse(w, "This logout message was refused", "The message could not be read: "+err.Error()+".")
		return
	}
	if m.param == "SAMLResponse" {
		idp.handleLogoutResponse(w, r, m)
		return
	}
	idp.handleLogoutRequest(w, r, m)
}

// handleLogoutRequest ends the IdP sessions an SP's LogoutRequest names
// and answers with a signed LogoutResponse at the SP's SLO endpoint. The
// checks, in order: a samlp:LogoutRequest, Version 2.0, with an ID and a
// NameID; a trusted Issuer; the signature (required when the SP has a
// signing certificate); Destination this SLO endpoint; IssueInstant and
// NotOnOrAfter. The sessions ended are those that gave the SP this NameID
// (and one of the SessionIndexes, if any). When the browser's own session
// is among them, its other SPs are signed out first, one after the other
// (SAML Profiles 4.4.3.3), and the answer is Responder / PartialLogout if
// one of them could not be. When the browser's own session knows the SP
// under another NameID, the answer is Requester / UnknownPrincipal and
// that session stays: the SP sent the wrong NameID.
func (idp *IdP) handleLogoutRequest(w http.ResponseWriter, r *http.Request, m *inbound) {
	const title = "This logout request was refused"
	var req logoutRequest
	if err := decodeXML(m.xml, "LogoutRequest", &req); err != nil {
		idp.refuse(w, title, "The LogoutRequest could not be read: "+err.Error()+".")
		return
	}
	if req.Version != "2.0" || req.ID == "" || req.NameID == nil {
		idp.refuse(w, title, "The LogoutRequest must have Version=\"2.0\", an ID and a saml:NameID.")
		return
	}
	sp := idp.sp(strings.TrimSpace(req.Issuer))
	if sp == nil {
		idp.refuse(w, title, fmt.Sprintf("The LogoutRequest comes from %q, which this IdP does not know.", req.Issuer))
		return
	}
	if err := idp.checkSignature(sp, m, "LogoutRequest", len(sp.SigningCertificates) > 0); err != nil {
		idp.refuse(w, title, fmt.Sprintf("The LogoutRequest from %q: %v.", sp.EntityID, err))
		return
	}
	if req.Destination != "" && req.Destination != idp.SLOURL() {
		idp.refuse(w, title, fmt.Sprintf("The LogoutRequest's Destination is %q; this IdP's SLO endpoint is %q.", req.Destination, idp.SLOURL()))
		return
	}
	if msg := idp.checkIssueInstant(req.IssueInstant, "LogoutRequest"); msg != "" {
		idp.refuse(w, title, msg)
		return
	}
	if req.NotOnOrAfter != "" {
		if t, err := time.Parse(time.RFC3339Nano, req.NotOnOrAfter); err != nil || !idp.now().Before(t.Add(maxClockAhead)) {
			idp.refuse(w, title, fmt.Sprintf("The LogoutRequest expired at %s (NotOnOrAfter); go back to the application and sign out again.", req.NotOnOrAfter))
			return
		}
	}
	nameID := strings.TrimSpace(req.NameID.Value)
	if sp.SLOURL == "" {
		idp.refuse(w, title, fmt.Sprintf("The SP %q has no SLO endpoint to answer to: add one to its metadata.", sp.EntityID))
		return
	}

	code, sub, msg := statusSuccess, "", ""
	own := idp.currentSession(r)
	ended := idp.endSessionsOf(sp.EntityID, nameID, req.SessionIndexes)
	var chain *logoutChain
	if own != nil {
		idp.mu.Lock()
		known := own.sps[sp.EntityID]
		switch {
		case slices.Contains(ended, own):
			http.SetCookie(w, idp.cookie("", time.Unix(0, 0)))
			// The browser's session ends: sign it out of its other SPs
			// first (SAML Profiles 4.4.3.3), then answer.
			chain = idp.logoutChainLocked(own, sp.EntityID)
		case known != nil:
			code, sub = statusRequester, statusUnknownPrincipal
			msg = fmt.Sprintf("The LogoutRequest names %q (session indexes %q); this browser's session gave the SP the NameID %q and the SessionIndex %q.", nameID, req.SessionIndexes, known.nameID, own.index)
		}
		idp.mu.Unlock()
	}
	idp.log.Info("devidp: LogoutRequest", "sp", sp.EntityID, "id", req.ID, "name_id", nameID, "sessions_ended", len(ended), "status", code)
	if chain != nil && (len(chain.remaining) > 0 || chain.partial) {
		chain.origin = &logoutOrigin{sp: sp, requestID: req.ID, relayState: m.relayState}
		idp.nextLogout(w, chain)
		return
	}
	idp.sendLogoutResponse(w, sp, req.ID, m.relayState, code, sub, msg)
}

// logoutChainLocked returns the logout of session s from its SPs, except
// the SP with entity ID skip (the one that asked). idp.mu must be held.
func (idp *IdP) logoutChainLocked(s *session, skip string) *logoutChain {
	chain := &logoutChain{username: s.user.Username}
	for _, id := range s.spOrder {
		sp := idp.sps[id]
		switch {
		case sp == nil || id == skip:
		case sp.SLOURL == "":
			chain.partial = true
			chain.results = append(chain.results, sp.EntityID+": has no SLO endpoint; its session may still be open.")
		default:
			chain.remaining = append(chain.remaining, logoutTarget{sp: sp, session: *s.sps[id], index: s.index})
		}
	}
	return chain
}

// endSessionsOf ends every session that gave the SP nameID (and, when
// indexes is not empty, has one of them as SessionIndex), and returns
// them.
func (idp *IdP) endSessionsOf(spEntityID, nameID string, indexes []string) []*session {
	idp.mu.Lock()
	defer idp.mu.Unlock()
	var ended []*session
	for id, s := range idp.sessions {
		k := s.sps[spEntityID]
		if k == nil || k.nameID != nameID {
			continue
		}
		if len(indexes) > 0 && !slices.Contains(indexes, s.index) {
			continue
		}
		delete(idp.sessions, id)
		ended = append(ended, s)
	}
	return ended
}

// sendLogoutResponse answers a LogoutRequest at the SP's SLO endpoint,
// signed, through the SP's SLO binding.
func (idp *IdP) sendLogoutResponse(w http.ResponseWriter, sp *SP, inResponseTo, relayState, code, sub, message string) {
	dest := sp.SLOURL
	if sp.SLOResponseURL != "" {
		dest = sp.SLOResponseURL
	}
	var subEl, msgEl string
	if sub != "" {
		subEl = element("samlp:StatusCode", []attr{{"Value", sub}})
	}
	if message != "" {
		msgEl = element("samlp:StatusMessage", nil, text(message))
	}
	msg := element("samlp:LogoutResponse", []attr{ns("samlp", nsSAMLP), {"Destination", dest}, {"ID", newID()},
		{"InResponseTo", inResponseTo}, {"IssueInstant", samlTime(idp.now())}, {"Version", "2.0"}},
		element("saml:Issuer", []attr{ns("saml", nsSAML)}, text(idp.entityID)),
		element("samlp:Status", nil, element("samlp:StatusCode", []attr{{"Value", code}}, subEl), msgEl))
	idp.sendToSP(w, sp, "Signing out…", dest, "SAMLResponse", msg, relayState)
}

// sendToSP sends a message to the SP through its SLO binding, signed: a
// redirect with a query-string signature, or an auto-submitted form with
// an enveloped signature.
func (idp *IdP) sendToSP(w http.ResponseWriter, sp *SP, title, dest, param, msg, relayState string) {
	if sp.SLOBinding == BindingHTTPPOST {
		signed, err := idp.signer.signEnveloped(msg)
		if err != nil {
			idp.message(w, http.StatusInternalServerError, "The logout message could not be signed", err.Error())
			return
		}
		idp.postForm(w, title, sp.EntityID, dest, param, signed, relayState)
		return
	}
	q, err := idp.signer.redirectQuery(param, []byte(msg), relayState)
	if err != nil {
		idp.message(w, http.StatusInternalServerError, "The logout message could not be signed", err.Error())
		return
	}
	sep := "?"
	if strings.Contains(dest, "?") {
		sep = "&"
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Location", dest+sep+q)
	w.WriteHeader(http.StatusFound)
}

// handleLogoutPage shows who is signed in where, with a button that
// signs out everywhere (POST /logout).
func (idp *IdP) handleLogoutPage(w http.ResponseWriter, r *http.Request) {
	s := idp.currentSession(r)
	if s == nil {
		idp.message(w, http.StatusOK, "You are not signed in", "There is no session at the development IdP in this browser.")
		return
	}
	idp.mu.Lock()
	names := s.spNames()
	idp.mu.Unlock()
	idp.render(w, http.StatusOK, "logout", page{Title: "Sign out", Username: s.user.Username, Items: names, Action: idp.LogoutURL(), CSRF: s.csrf})
}

// handleLogout starts IdP-initiated Single Logout: it ends the IdP
// session, then sends a LogoutRequest to each SP of the session that has
// an SLO endpoint, one after the other (each LogoutResponse brings the
// browser back to /slo, which sends the next), and finally shows the
// outcome.
func (idp *IdP) handleLogout(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	r.ParseForm()
	s := idp.currentSession(r)
	if s == nil {
		idp.message(w, http.StatusOK, "You are not signed in", "There is no session at the development IdP in this browser.")
		return
	}
	if r.PostForm.Get("csrf") != s.csrf {
		idp.message(w, http.StatusForbidden, "Sign-out refused", "The sign-out form did not come from this IdP's page. Open the sign-out page and press the button again.")
		return
	}
	idp.endSession(w, s, true)
	idp.mu.Lock()
	idp.log.Info("devidp: IdP-initiated logout", "session", s.describe())
	chain := idp.logoutChainLocked(s, "")
	idp.mu.Unlock()
	idp.nextLogout(w, chain)
}

// nextLogout sends the LogoutRequest to the next SP of the chain, or shows
// the outcome when none is left.
func (idp *IdP) nextLogout(w http.ResponseWriter, chain *logoutChain) {
	if len(chain.remaining) == 0 && chain.origin != nil {
		o := chain.origin
		if chain.partial {
			idp.sendLogoutResponse(w, o.sp, o.requestID, o.relayState, statusResponder, statusPartialLogout,
				"Not every application of the session could be signed out: "+strings.Join(chain.results, " "))
			return
		}
		idp.sendLogoutResponse(w, o.sp, o.requestID, o.relayState, statusSuccess, "", "")
		return
	}
	if len(chain.remaining) == 0 {
		idp.render(w, http.StatusOK, "message", page{Title: "You are signed out",
			Paragraphs: []string{fmt.Sprintf("%s is signed out of the development IdP.", chain.username)},
			Items:      chain.results, Link: idp.StartURL(), LinkText: "Development IdP start page"})
		return
	}
	t := chain.remaining[0]
	chain.remaining = chain.remaining[1:]
	now := idp.now()
	id := newID()
	msg := element("samlp:LogoutRequest", []attr{ns("samlp", nsSAMLP), {"Destination", t.sp.SLOURL}, {"ID", id},
		{"IssueInstant", samlTime(now)}, {"NotOnOrAfter", samlTime(now.Add(idp.cfg.AssertionTTL))}, {"Version", "2.0"}},
		element("saml:Issuer", []attr{ns("saml", nsSAML)}, text(idp.entityID)),
		element("saml:NameID", []attr{ns("saml", nsSAML), {"Format", t.session.format}}, text(t.session.nameID)),
		element("samlp:SessionIndex", nil, text(t.index)))
	chain.current, chain.expires = t.sp.EntityID, now.Add(logoutChainTTL)
	idp.mu.Lock()
	idp.logouts[id] = chain
	idp.mu.Unlock()
	idp.sendToSP(w, t.sp, "Signing out…", t.sp.SLOURL, "SAMLRequest", msg, "")
}

// handleLogoutResponse takes an SP's answer to our LogoutRequest: it
// records the outcome and goes on with the chain. The checks: a
// samlp:LogoutResponse answering an outstanding request, from the SP it
// was sent to, signed when the SP has a signing certificate, Destination
// this SLO endpoint.
func (idp *IdP) handleLogoutResponse(w http.ResponseWriter, r *http.Request, m *inbound) {
	const title = "This logout response was refused"
	var resp statusResponse
	if err := decodeXML(m.xml, "LogoutResponse", &resp); err != nil {
		idp.refuse(w, title, "The LogoutResponse could not be read: "+err.Error()+".")
		return
	}
	idp.mu.Lock()
	chain := idp.logouts[resp.InResponseTo]
	delete(idp.logouts, resp.InResponseTo)
	idp.mu.Unlock()
	if chain == nil || !idp.now().Before(chain.expires) {
		idp.refuse(w, title, fmt.Sprintf("The LogoutResponse answers %q, which is not a logout request this IdP is waiting for (unknown, already answered, or expired). Start again from the sign-out page.", resp.InResponseTo))
		return
	}
	sp := idp.sp(strings.TrimSpace(resp.Issuer))
	if sp == nil || sp.EntityID != chain.current {
		idp.refuse(w, title, fmt.Sprintf("The LogoutResponse was issued by %q; the request was sent to %q.", resp.Issuer, chain.current))
		return
	}
	if err := idp.checkSignature(sp, m, "LogoutResponse", len(sp.SigningCertificates) > 0); err != nil {
		idp.refuse(w, title, fmt.Sprintf("The LogoutResponse from %q: %v.", sp.EntityID, err))
		return
	}
	if resp.Destination != "" && resp.Destination != idp.SLOURL() {
		idp.refuse(w, title, fmt.Sprintf("The LogoutResponse's Destination is %q; this IdP's SLO endpoint is %q.", resp.Destination, idp.SLOURL()))
		return
	}
	outcome := sp.EntityID + ": signed out."
	if resp.Status.Code.Value != statusSuccess {
		detail := resp.Status.Code.Value
		if resp.Status.Code.Sub != nil {
			detail += " / " + resp.Status.Code.Sub.Value
		}
		if resp.Status.Message != "" {
			detail += ": " + resp.Status.Message
		}
		outcome = sp.EntityID + ": the SP answered " + detail + "."
		chain.partial = true
	}
	chain.results = append(chain.results, outcome)
	idp.log.Info("devidp: LogoutResponse", "sp", sp.EntityID, "in_response_to", resp.InResponseTo, "status", resp.Status.Code.Value)
	idp.nextLogout(w, chain)
}
