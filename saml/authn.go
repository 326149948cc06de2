package saml

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
)

// AuthnRequestOptions controls an AuthnRequest (SAML Core 3.4.1).
type AuthnRequestOptions struct {
	// Binding is how the request travels to the IdP: BindingHTTPRedirect
	// (default) or BindingHTTPPOST. The IdP must publish an SSO endpoint
	// for it.
	Binding string
	// ReturnTo is the local path to return to after login; stored with the
	// pending request, never sent to the IdP.
	ReturnTo string
	// BrowserBinding is stored with the pending request and required with
	// the response (ResponseInput.BrowserBinding).
	BrowserBinding string
	// RelayState is sent to the IdP and comes back with the response (at
	// most 80 bytes, SAML Bindings 3.4.3). Empty means none.
	RelayState string
	// ForceAuthn asks the IdP to authenticate the user again.
	ForceAuthn bool
	// IsPassive forbids the IdP to interact with the user (session check).
	IsPassive bool
	// NameIDFormat requested in NameIDPolicy; empty means the SP's first
	// NameIDFormats entry, or no Format.
	NameIDFormat string
	// AuthnContextClassRefs, when set, produce a RequestedAuthnContext with
	// Comparison (default "exact").
	AuthnContextClassRefs []string
	Comparison            string
	// ResponseBinding asks the IdP to answer through this binding
	// (ProtocolBinding): BindingHTTPPOST (default) or BindingHTTPArtifact,
	// the latter only when the SP advertises it (ArtifactACS).
	ResponseBinding string
}

// MakeAuthnRequest builds an AuthnRequest for idp, records it as pending in
// sp.Requests (with ReturnTo and BrowserBinding, expiring after RequestTTL)
// and returns the message to send: signed when the SP has a signing key
// (query-string signature for HTTP-Redirect, SAML Bindings 3.4.4.1;
// enveloped XML signature for HTTP-POST).
func (sp *ServiceProvider) MakeAuthnRequest(ctx context.Context, idp *IdentityProvider, o AuthnRequestOptions) (*Message, error) {
	st, err := sp.prepared()
	if err != nil {
		return nil, err
	}
	if sp.Requests == nil {
		return nil, fmt.Errorf("saml: ServiceProvider.Requests is required to send AuthnRequests")
	}
	if len(o.RelayState) > 80 {
		return nil, fmt.Errorf("saml: RelayState is %d bytes, SAML Bindings 3.4.3 allows 80", len(o.RelayState))
	}
	binding := o.Binding
	if binding == "" {
		binding = BindingHTTPRedirect
	}
	ep, ok := findEndpoint(idp.SSO, binding)
	if !ok {
		return nil, fmt.Errorf("saml: IdP %q has no SingleSignOnService for binding %s", idp.EntityID, binding)
	}
	if idp.WantAuthnRequestsSigned && st.signer == nil {
		return nil, fmt.Errorf("saml: IdP %q wants signed AuthnRequests and the SP has no signing key", idp.EntityID)
	}
	protocolBinding := BindingHTTPPOST
	switch o.ResponseBinding {
	case "", BindingHTTPPOST:
	case BindingHTTPArtifact:
		if !sp.ArtifactACS {
			return nil, fmt.Errorf("saml: the HTTP-Artifact binding is asked of the IdP, and the SP does not advertise it (ArtifactACS)")
		}
		protocolBinding = BindingHTTPArtifact
	default:
		return nil, fmt.Errorf("saml: unsupported response binding %q", o.ResponseBinding)
	}
	id := newID()
	now := sp.now().UTC()
	var b strings.Builder
	b.WriteString(`<samlp:AuthnRequest xmlns:samlp="` + nsSAMLP + `" xmlns:saml="` + nsSAML + `" ID="` + id + `" Version="2.0" IssueInstant="` + now.Format(timeLayoutSAMLMilli) + `" Destination="` + xmlEscape(ep.Location) + `" AssertionConsumerServiceURL="` + xmlEscape(sp.ACSURL) + `" ProtocolBinding="` + protocolBinding + `"`)
	if o.ForceAuthn {
		b.WriteString(` ForceAuthn="true"`)
	}
	if o.IsPassive {
		b.WriteString(` IsPassive="true"`)
	}
	b.WriteString(`><saml:Issuer>` + xmlEscape(sp.EntityID) + `</saml:Issuer>`)
	sign := st.signer != nil
	if sign && binding == BindingHTTPPOST {
		b.WriteString(sigMarker)
	}
	format := o.NameIDFormat
	if format == "" && len(sp.NameIDFormats) > 0 {
		format = sp.NameIDFormats[0]
	}
	b.WriteString(`<samlp:NameIDPolicy`)
	if format != "" {
		b.WriteString(` Format="` + xmlEscape(format) + `"`)
	}
	b.WriteString(` AllowCreate="true"/>`)
	if len(o.AuthnContextClassRefs) > 0 {
		cmp := o.Comparison
		if cmp == "" {
			cmp = "exact"
		}
		b.WriteString(`<samlp:RequestedAuthnContext Comparison="` + xmlEscape(cmp) + `">`)
		for _, r := range o.AuthnContextClassRefs {
			b.WriteString(`<saml:AuthnContextClassRef>` + xmlEscape(r) + `</saml:AuthnContextClassRef>`)
		}
		b.WriteString(`</samlp:RequestedAuthnContext>`)
	}
	b.WriteString(`</samlp:AuthnRequest>`)
	msg, err := sp.outbound(id, binding, ep.Location, "SAMLRequest", b.String(), o.RelayState, sign)
	if err != nil {
		return nil, err
	}
	err = sp.Requests.Save(ctx, PendingRequest{ID: id, ReturnTo: o.ReturnTo, BrowserBinding: o.BrowserBinding, IdPEntityID: idp.EntityID, Expires: now.Add(st.ttl)})
	if err != nil {
		return nil, fmt.Errorf("saml: saving the pending request: %w", err)
	}
	return msg, nil
}

// outbound signs and encodes a message for its binding.
func (sp *ServiceProvider) outbound(id, binding, location, param, xml, relayState string, sign bool) (*Message, error) {
	st, _ := sp.prepared()
	m := &Message{ID: id, Binding: binding, Param: param, RelayState: relayState}
	switch binding {
	case BindingHTTPRedirect:
		var kp *KeyPair
		if sign {
			kp = &KeyPair{Signer: st.signer, Certificate: st.signCert}
		}
		u, err := redirectURL(location, param, []byte(xml), relayState, kp)
		if err != nil {
			return nil, err
		}
		m.URL = u
	case BindingHTTPPOST:
		if sign {
			var err error
			xml, err = signEnveloped(xml, id, KeyPair{Signer: st.signer, Certificate: st.signCert})
			if err != nil {
				return nil, err
			}
		}
		m.URL = location
		m.Value = base64.StdEncoding.EncodeToString([]byte(xml))
	default:
		return nil, fmt.Errorf("saml: unsupported binding %q", binding)
	}
	m.XML = []byte(xml)
	return m, nil
}
