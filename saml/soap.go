package saml

import (
	"context"
	"fmt"
	"net/netip"
	"net/url"
	"strings"

	"github.com/lanyard-sso/lanyard/saml/xmldsig"
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
func soapBody(body []byte, max int) (*xmldsig.Document, *xmldsig.Node, error) {
	doc, err := parseXML(body, xmldsig.Limits{MaxSize: max})
	if err != nil {
		return nil, nil, err
	}
	msg, err := soapMessage(doc)
	if err != nil {
		// The error is complete (it quotes the nodes) before the document's
		// memory goes back to the pools.
		doc.Release()
		return nil, nil, err
	}
	return doc, msg, nil
}

// soapMessage returns the single element of the Body of doc's Envelope.
func soapMessage(doc *xmldsig.Document) (*xmldsig.Node, error) {
	env := doc.Root()
	if !env.Is(nsSOAP11, "Envelope") {
		return nil, errorf(ReasonMalformed, "the back-channel answer is not a SOAP 1.1 Envelope: got <%s> in namespace %q", env.Local(), env.Space())
	}
	var soapBody *xmldsig.Node
	for c := env.FirstChild(); c != nil; c = c.NextSibling() {
		switch {
		case !c.IsElement():
		case c.Is(nsSOAP11, "Header") && soapBody == nil:
			// SOAP 1.1 section 4.2.3: a header we must understand and do
			// not is a failure.
			for h := c.FirstChild(); h != nil; h = h.NextSibling() {
				if h.IsElement() {
					for _, a := range h.Attrs() {
						if a.Space() == nsSOAP11 && a.Local() == "mustUnderstand" && strings.TrimSpace(a.Value()) == "1" {
							return nil, errorf(ReasonMalformed, "the SOAP answer carries a header <%s> marked mustUnderstand, which Lanyard does not understand", h.Local())
						}
					}
				}
			}
		case c.Is(nsSOAP11, "Body") && soapBody == nil:
			soapBody = c
		default:
			return nil, errorf(ReasonMalformed, "the SOAP Envelope holds an unexpected <%s> (a SOAP 1.1 Envelope holds at most one Header, then one Body)", c.Local())
		}
	}
	if soapBody == nil {
		return nil, errorf(ReasonMalformed, "the SOAP Envelope has no Body")
	}
	var msg *xmldsig.Node
	for c := soapBody.FirstChild(); c != nil; c = c.NextSibling() {
		if !c.IsElement() {
			continue
		}
		if msg != nil {
			return nil, errorf(ReasonMalformed, "the SOAP Body holds more than one element; SAML Bindings 3.2.3.3 allows exactly one")
		}
		msg = c
	}
	if msg == nil {
		return nil, errorf(ReasonMalformed, "the SOAP Body is empty")
	}
	if msg.Is(nsSOAP11, "Fault") {
		code, text := "", ""
		if n := msg.Child("", "faultcode"); n != nil {
			code = n.TrimmedText()
		}
		if n := msg.Child("", "faultstring"); n != nil {
			text = n.TrimmedText()
		}
		return nil, &Error{Reason: ReasonArtifactResolutionFailed, Got: code,
			Message: fmt.Sprintf("the IdP's ArtifactResolutionService answered with a SOAP fault %q: %q", truncate(code, 100), truncate(text, 300))}
	}
	return msg, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
