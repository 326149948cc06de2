package saml

import (
	"context"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
)

// The SAML SOAP binding (SAML Bindings 3.2) as the artifact resolution
// back channel needs it: one request, one answer, to an endpoint taken
// from the IdP's metadata, never from a message.

const nsSOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"

// soapEnvelopeAllowance is what a SOAP answer may carry beyond the SAML
// message size bound (envelope, ArtifactResponse and its signature).
const soapEnvelopeAllowance = 64 << 10

// BackChannel carries the SOAP exchanges of the artifact binding with an
// IdP; package saml/soap has the HTTP implementation. Package saml sends
// nothing over the network itself.
type BackChannel interface {
	// Exchange posts the SOAP envelope to location (checked with
	// CheckSOAPEndpoint) and returns the answer's body, at most maxSize
	// bytes, and its HTTP status (200, or 500 with a SOAP fault). Its
	// failures are *Error with reason ReasonArtifactResolutionFailed.
	Exchange(ctx context.Context, location string, envelope []byte, maxSize int) (body []byte, status int, err error)
}

// CheckSOAPEndpoint says whether Lanyard may send a back-channel request to
// the URL: https, or plain http to a loopback address (an IdP on the same
// host, where TLS would protect nothing from the network). Anything else
// would send the signed request, and trust the answer's channel, in clear.
func CheckSOAPEndpoint(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return errorf(ReasonArtifactResolutionFailed, "the IdP's ArtifactResolutionService location %q is not an absolute URL", raw)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopbackHost(u.Hostname()) {
			return nil
		}
		return errorf(ReasonArtifactResolutionFailed, "the IdP's ArtifactResolutionService %q is plain http; Lanyard resolves artifacts over https only (plain http only on a loopback address): publish an https endpoint in the IdP's metadata", u.Redacted())
	}
	return errorf(ReasonArtifactResolutionFailed, "the IdP's ArtifactResolutionService %q has scheme %q; Lanyard resolves artifacts over https only", u.Redacted(), u.Scheme)
}

func isLoopbackHost(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(h)
	return err == nil && ip.Unmap().IsLoopback()
}

// soapBody parses a SOAP 1.1 answer and returns its document and the
// single element of its Body. A Fault is an error that quotes it.
func soapBody(body []byte, max int) (*document, *node, error) {
	doc, err := parseXML(body, parseLimits{maxSize: max})
	if err != nil {
		return nil, nil, err
	}
	env := doc.root
	if !env.is(nsSOAP11, "Envelope") {
		doc.release()
		return nil, nil, errorf(ReasonMalformed, "the back-channel answer is not a SOAP 1.1 Envelope: got <%s> in namespace %q", env.local, env.space)
	}
	var soapBody *node
	for c := env.first; c != nil; c = c.next {
		switch {
		case c.kind != kindElement:
		case c.is(nsSOAP11, "Header") && soapBody == nil:
			// SOAP 1.1 section 4.2.3: a header we must understand and do
			// not is a failure.
			for h := c.first; h != nil; h = h.next {
				if h.kind == kindElement {
					for i := range h.attrs {
						if a := h.attrs[i]; a.space == nsSOAP11 && a.local == "mustUnderstand" && strings.TrimSpace(a.value) == "1" {
							doc.release()
							return nil, nil, errorf(ReasonMalformed, "the SOAP answer carries a header <%s> marked mustUnderstand, which Lanyard does not understand", h.local)
						}
					}
				}
			}
		case c.is(nsSOAP11, "Body") && soapBody == nil:
			soapBody = c
		default:
			doc.release()
			return nil, nil, errorf(ReasonMalformed, "the SOAP Envelope holds an unexpected <%s> (a SOAP 1.1 Envelope holds at most one Header, then one Body)", c.local)
		}
	}
	if soapBody == nil {
		doc.release()
		return nil, nil, errorf(ReasonMalformed, "the SOAP Envelope has no Body")
	}
	var msg *node
	for c := soapBody.first; c != nil; c = c.next {
		if c.kind != kindElement {
			continue
		}
		if msg != nil {
			doc.release()
			return nil, nil, errorf(ReasonMalformed, "the SOAP Body holds more than one element; SAML Bindings 3.2.3.3 allows exactly one")
		}
		msg = c
	}
	if msg == nil {
		doc.release()
		return nil, nil, errorf(ReasonMalformed, "the SOAP Body is empty")
	}
	if msg.is(nsSOAP11, "Fault") {
		code, text := "", ""
		if n := msg.child("", "faultcode"); n != nil {
			code = n.trimmedText()
		}
		if n := msg.child("", "faultstring"); n != nil {
			text = n.trimmedText()
		}
		doc.release()
		return nil, nil, &Error{Reason: ReasonArtifactResolutionFailed, Got: code,
			Message: fmt.Sprintf("the IdP's ArtifactResolutionService answered with a SOAP fault %q: %q", truncate(code, 100), truncate(text, 300))}
	}
	return doc, msg, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
