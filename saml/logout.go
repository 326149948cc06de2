package saml

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lanyard-sso/lanyard/saml/xmldsig"
)

// Single Logout (SAML Core 3.7, Profiles 4.4), both bindings.

const (
	statusRequester = "urn:oasis:names:tc:SAML:2.0:status:Requester"
	statusResponder = "urn:oasis:names:tc:SAML:2.0:status:Responder"
	// StatusSuccess is the top-level success status code.
	StatusSuccess = statusSuccess
	// StatusPartialLogout is a second-level code for incomplete logouts.
	StatusPartialLogout = "urn:oasis:names:tc:SAML:2.0:status:PartialLogout"

	// maxMessageAge bounds how old an IdP's LogoutRequest or
	// LogoutResponse may be (beyond the clock skew).
	maxMessageAge = 5 * time.Minute
)

// InboundMessage is a protocol message as the browser delivered it to the
// SLO endpoint.
type InboundMessage struct {
	// RawQuery is r.URL.RawQuery of a GET (HTTP-Redirect binding). The raw
	// form is needed: the signature covers the query as encoded.
	RawQuery string
	// SAMLRequest, SAMLResponse and RelayState are the form values of a
	// POST (HTTP-POST binding).
	SAMLRequest, SAMLResponse, RelayState string
}

// LogoutRequestOptions controls an SP-initiated LogoutRequest.
type LogoutRequestOptions struct {
	// Binding: BindingHTTPRedirect (default) or BindingHTTPPOST.
	Binding string
	// NameID and SessionIndex of the session ending, as received in the
	// Assertion.
	NameID       NameID
	SessionIndex string
	// ReturnTo and BrowserBinding are stored with the pending request.
	ReturnTo, BrowserBinding string
	RelayState               string
}

// MakeLogoutRequest builds a signed LogoutRequest for idp and records it
// as pending, so that ValidateLogoutResponse can match the answer.
func (sp *ServiceProvider) MakeLogoutRequest(ctx context.Context, idp *IdentityProvider, o LogoutRequestOptions) (*Message, error) {
	st, err := sp.prepared()
	if err != nil {
		return nil, err
	}
	if st.signer == nil {
		return nil, errors.New("saml: a signing key is required for Single Logout")
	}
	if sp.Requests == nil {
		return nil, errors.New("saml: ServiceProvider.Requests is required for Single Logout")
	}
	binding := o.Binding
	if binding == "" {
		binding = BindingHTTPRedirect
	}
	ep, ok := findEndpoint(idp.SLO, binding)
	if !ok {
		return nil, fmt.Errorf("saml: IdP %q has no SingleLogoutService for binding %s", idp.EntityID, binding)
	}
	id := newID()
	now := sp.now().UTC()
	var b strings.Builder
	b.WriteString(`<samlp:LogoutRequest xmlns:samlp="` + nsSAMLP + `" xmlns:saml="` + nsSAML + `" ID="` + id + `" Version="2.0" IssueInstant="` + now.Format(timeLayoutSAMLMilli) + `" Destination="` + xmlEscape(ep.Location) + `" NotOnOrAfter="` + now.Add(st.ttl).Format(timeLayoutSAMLMilli) + `">`)
	b.WriteString(`<saml:Issuer>` + xmlEscape(sp.EntityID) + `</saml:Issuer>`)
	if binding == BindingHTTPPOST {
		b.WriteString(xmldsig.SignatureMarker)
	}
	b.WriteString(nameIDXML(o.NameID))
	if o.SessionIndex != "" {
		b.WriteString(`<samlp:SessionIndex>` + xmlEscape(o.SessionIndex) + `</samlp:SessionIndex>`)
	}
	b.WriteString(`</samlp:LogoutRequest>`)
	msg, err := sp.outbound(id, binding, ep.Location, "SAMLRequest", b.String(), o.RelayState, true)
	if err != nil {
		return nil, err
	}
	if err := sp.Requests.Save(ctx, PendingRequest{ID: id, ReturnTo: o.ReturnTo, BrowserBinding: o.BrowserBinding, IdPEntityID: idp.EntityID, Expires: now.Add(st.ttl)}); err != nil {
		return nil, fmt.Errorf("saml: saving the pending logout request: %w", err)
	}
	return msg, nil
}

func nameIDXML(n NameID) string {
	var b strings.Builder
	b.WriteString(`<saml:NameID`)
	if n.Format != "" {
		b.WriteString(` Format="` + xmlEscape(n.Format) + `"`)
	}
	if n.NameQualifier != "" {
		b.WriteString(` NameQualifier="` + xmlEscape(n.NameQualifier) + `"`)
	}
	if n.SPNameQualifier != "" {
		b.WriteString(` SPNameQualifier="` + xmlEscape(n.SPNameQualifier) + `"`)
	}
	b.WriteString(`>` + xmlEscape(n.Value) + `</saml:NameID>`)
	return b.String()
}

// LogoutRequest is a validated IdP-initiated LogoutRequest.
type LogoutRequest struct {
	ID             string
	Issuer         string
	NameID         NameID
	SessionIndexes []string
	RelayState     string
	// Binding it arrived through.
	Binding string
}

// inbound decodes a message of either binding, verifies its signature
// (query string or enveloped) and returns its root element.
func (sp *ServiceProvider) inbound(idp *IdentityProvider, in InboundMessage, param, what string) (*xmldsig.Node, string, string, error) {
	st, err := sp.prepared()
	if err != nil {
		return nil, "", "", err
	}
	keys := idp.trusted()
	if strings.Contains(in.RawQuery, param+"=") {
		m, err := decodeRedirect(in.RawQuery, st.maxSize)
		if err != nil {
			return nil, "", "", err
		}
		if m.param != param {
			return nil, "", "", errorf(ReasonMalformed, "expected %s, got %s", param, m.param)
		}
		if err := verifyRedirect(m, keys, idp.AllowSHA1, what); err != nil {
			return nil, "", "", err
		}
		doc, err := parseXML(m.xml, xmldsig.Limits{MaxSize: st.maxSize})
		if err != nil {
			return nil, "", "", err
		}
		return doc.Root(), BindingHTTPRedirect, m.relayState, nil
	}
	value := in.SAMLRequest
	if param == "SAMLResponse" {
		value = in.SAMLResponse
	}
	if value == "" {
		return nil, "", "", errorf(ReasonMalformed, "no %s in the query string or the form", param)
	}
	if len(value) > 2*st.maxSize {
		return nil, "", "", errorf(ReasonTooLarge, "the %s is too large", param)
	}
	raw, err := decodeB64Form(value)
	if err != nil {
		return nil, "", "", errorf(ReasonMalformed, "the %s form value is not valid base64", param)
	}
	doc, err := parseXML(raw, xmldsig.Limits{MaxSize: st.maxSize})
	if err != nil {
		return nil, "", "", err
	}
	root := doc.Root()
	sig, err := signatureOf(root)
	if err != nil {
		return nil, "", "", err
	}
	if sig == nil {
		return nil, "", "", errorf(ReasonUnsigned, "the %s arrived through HTTP-POST without a signature", what)
	}
	if err := verifyEnveloped(root, sig, &xmldsig.VerifyOptions{Keys: keys, AllowSHA1: idp.AllowSHA1, What: what}); err != nil {
		return nil, "", "", err
	}
	if _, ok := root.Attr("Destination"); !ok {
		return nil, "", "", errorf(ReasonDestinationMismatch, "the signed %s has no Destination (SAML Bindings 3.5.5.2)", what)
	}
	return root, BindingHTTPPOST, in.RelayState, nil
}

// checkMessage runs the checks common to logout messages: version, ID,
// Issuer, Destination, IssueInstant age.
func (sp *ServiceProvider) checkMessage(root *xmldsig.Node, idp *IdentityProvider, what string) error {
	st, _ := sp.prepared()
	if root.AttrValue("Version") != "2.0" {
		return errorf(ReasonMalformed, "the %s has Version %q, expected 2.0", what, root.AttrValue("Version"))
	}
	if root.AttrValue("ID") == "" {
		return errorf(ReasonMalformed, "the %s has no ID", what)
	}
	iss := root.Child(nsSAML, "Issuer")
	if iss == nil || iss.TrimmedText() != idp.EntityID {
		got := ""
		if iss != nil {
			got = iss.TrimmedText()
		}
		return &Error{Reason: ReasonIssuerMismatch, Expected: idp.EntityID, Got: got, Message: fmt.Sprintf("the %s was issued by %q, expected %q", what, got, idp.EntityID)}
	}
	if d, ok := root.Attr("Destination"); ok && d != sp.SLOURL {
		return urlMismatch(ReasonDestinationMismatch, "the Destination of the "+what, sp.SLOURL, d)
	}
	v := validation{sp: sp, st: st, idp: idp, now: sp.now()}
	ii, err := parseTime(root.AttrValue("IssueInstant"))
	if err != nil {
		return errorf(ReasonMalformed, "the %s's IssueInstant %q is not a valid time", what, root.AttrValue("IssueInstant"))
	}
	v.issued = ii
	if _, err := v.window(what+" IssueInstant", ii.Format(time.RFC3339Nano), ii.Add(maxMessageAge).Format(time.RFC3339Nano)); err != nil {
		return err
	}
	if na, ok := root.Attr("NotOnOrAfter"); ok {
		if _, err := v.window(what, "", na); err != nil {
			return err
		}
	}
	return nil
}

// ValidateLogoutRequest validates an IdP-initiated LogoutRequest received
// through either binding: signature (query-string signature for
// HTTP-Redirect, SAML Bindings 3.4.4.1; enveloped for HTTP-POST) by a
// trusted IdP key, Issuer, Destination (this SP's SLO URL), IssueInstant
// no older than 5 minutes and NotOnOrAfter (with clock skew), and replay
// of its ID. An EncryptedID is decrypted with the SP keys into the NameID
// (any failure: encrypted_assertion_invalid). The caller ends the sessions
// named and answers with MakeLogoutResponse.
func (sp *ServiceProvider) ValidateLogoutRequest(ctx context.Context, idp *IdentityProvider, in InboundMessage) (*LogoutRequest, error) {
	root, binding, relay, err := sp.inbound(idp, in, "SAMLRequest", "LogoutRequest")
	if err != nil {
		return nil, err
	}
	if !root.Is(nsSAMLP, "LogoutRequest") {
		return nil, errorf(ReasonMalformed, "expected a samlp:LogoutRequest, got <%s>", root.Local())
	}
	if err := sp.checkMessage(root, idp, "LogoutRequest"); err != nil {
		return nil, err
	}
	lr := &LogoutRequest{ID: root.AttrValue("ID"), Issuer: idp.EntityID, RelayState: relay, Binding: binding}
	nid := root.Child(nsSAML, "NameID")
	if eid := root.Child(nsSAML, "EncryptedID"); nid == nil && eid != nil {
		// Decrypted with the SP keys, every failure alike, as in a
		// Response (SAML Core 3.7.1).
		st, err := sp.prepared()
		if err != nil {
			return nil, err
		}
		v := validation{sp: sp, st: st, idp: idp, now: sp.now()}
		defer func() {
			for _, d := range v.decrypted {
				d.Release()
			}
		}()
		if nid, err = v.decryptID(eid); err != nil {
			return nil, encryptedInvalid(err)
		}
	}
	if nid == nil {
		return nil, errorf(ReasonMalformed, "the LogoutRequest has no NameID or EncryptedID (BaseID is not supported)")
	}
	if lr.NameID, err = parseNameID(nid, "the LogoutRequest's"); err != nil {
		return nil, err
	}
	for c := root.FirstChild(); c != nil; c = c.NextSibling() {
		if c.Is(nsSAMLP, "SessionIndex") {
			si := c.TextContent()
			if err := exactValue(si, "the LogoutRequest's SessionIndex"); err != nil {
				return nil, err
			}
			lr.SessionIndexes = append(lr.SessionIndexes, si)
		}
	}
	if sp.Replay != nil {
		first, err := sp.Replay.MarkUsed(ctx, idp.EntityID+"!"+lr.ID, sp.now().Add(maxMessageAge+2*DefaultClockSkew))
		if err != nil {
			return nil, &Error{Reason: ReasonInternal, Message: "the replay cache failed", Err: err}
		}
		if !first {
			return nil, errorf(ReasonReplay, "LogoutRequest %q was already processed", lr.ID)
		}
	}
	return lr, nil
}

// MakeLogoutResponse answers an IdP-initiated LogoutRequest with a signed
// LogoutResponse, through the binding the request used (or binding, if
// set). status is StatusSuccess, or a second-level code such as
// StatusPartialLogout (sent under Responder).
func (sp *ServiceProvider) MakeLogoutResponse(idp *IdentityProvider, req *LogoutRequest, status, binding string) (*Message, error) {
	st, err := sp.prepared()
	if err != nil {
		return nil, err
	}
	if st.signer == nil {
		return nil, errors.New("saml: a signing key is required for Single Logout")
	}
	if binding == "" {
		binding = req.Binding
	}
	ep, ok := findEndpoint(idp.SLO, binding)
	if !ok {
		return nil, fmt.Errorf("saml: IdP %q has no SingleLogoutService for binding %s", idp.EntityID, binding)
	}
	loc := ep.Location
	if ep.ResponseLocation != "" {
		loc = ep.ResponseLocation
	}
	id := newID()
	now := sp.now().UTC()
	var b strings.Builder
	b.WriteString(`<samlp:LogoutResponse xmlns:samlp="` + nsSAMLP + `" xmlns:saml="` + nsSAML + `" ID="` + id + `" Version="2.0" IssueInstant="` + now.Format(timeLayoutSAMLMilli) + `" Destination="` + xmlEscape(loc) + `" InResponseTo="` + xmlEscape(req.ID) + `">`)
	b.WriteString(`<saml:Issuer>` + xmlEscape(sp.EntityID) + `</saml:Issuer>`)
	if binding == BindingHTTPPOST {
		b.WriteString(xmldsig.SignatureMarker)
	}
	if status == "" || status == StatusSuccess {
		b.WriteString(`<samlp:Status><samlp:StatusCode Value="` + statusSuccess + `"/></samlp:Status>`)
	} else {
		b.WriteString(`<samlp:Status><samlp:StatusCode Value="` + statusResponder + `"><samlp:StatusCode Value="` + xmlEscape(status) + `"/></samlp:StatusCode></samlp:Status>`)
	}
	b.WriteString(`</samlp:LogoutResponse>`)
	return sp.outbound(id, binding, loc, "SAMLResponse", b.String(), req.RelayState, true)
}

// LogoutResult is a validated LogoutResponse to an SP-initiated logout.
type LogoutResult struct {
	ID, InResponseTo string
	// ReturnTo from the pending request.
	ReturnTo   string
	RelayState string
}

// ValidateLogoutResponse validates the IdP's answer to MakeLogoutRequest:
// signature by a trusted key (either binding), Issuer, Destination,
// IssueInstant, InResponseTo naming a pending request of this browser
// (taken once), and a Success status (status_not_success otherwise, with
// the second-level code; the local session should end regardless).
func (sp *ServiceProvider) ValidateLogoutResponse(ctx context.Context, idp *IdentityProvider, in InboundMessage, browserBinding string) (*LogoutResult, error) {
	root, _, relay, err := sp.inbound(idp, in, "SAMLResponse", "LogoutResponse")
	if err != nil {
		return nil, err
	}
	if !root.Is(nsSAMLP, "LogoutResponse") {
		return nil, errorf(ReasonMalformed, "expected a samlp:LogoutResponse, got <%s>", root.Local())
	}
	if err := sp.checkMessage(root, idp, "LogoutResponse"); err != nil {
		return nil, err
	}
	irt := root.AttrValue("InResponseTo")
	if irt == "" {
		return nil, errorf(ReasonInResponseToUnknown, "the LogoutResponse has no InResponseTo")
	}
	if sp.Requests == nil {
		return nil, errorf(ReasonInResponseToUnknown, "no request store is configured")
	}
	pr, err := sp.Requests.Take(ctx, irt)
	if errors.Is(err, ErrRequestNotFound) {
		return nil, &Error{Reason: ReasonInResponseToUnknown, Got: irt, Message: fmt.Sprintf("the LogoutResponse answers %q, which is unknown, already answered or expired", irt)}
	}
	if err != nil {
		return nil, &Error{Reason: ReasonInternal, Message: "the request store failed", Err: err}
	}
	if pr.BrowserBinding != "" && pr.BrowserBinding != browserBinding {
		return nil, errorf(ReasonBrowserMismatch, "logout request %q was started in another browser", irt)
	}
	if pr.IdPEntityID != "" && pr.IdPEntityID != idp.EntityID {
		return nil, errorf(ReasonIssuerMismatch, "logout request %q was sent to %q, answered by %q", irt, pr.IdPEntityID, idp.EntityID)
	}
	res := &LogoutResult{ID: root.AttrValue("ID"), InResponseTo: irt, ReturnTo: pr.ReturnTo, RelayState: relay}
	if err := checkStatus(root); err != nil {
		return res, err
	}
	return res, nil
}
