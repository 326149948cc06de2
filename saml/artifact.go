package saml

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
	"time"

	"github.com/lanyard-sso/lanyard/saml/xmldsig"
)

// The HTTP-Artifact binding (SAML Bindings 3.6) at the Assertion Consumer
// Service: the browser brings a small reference (SAMLart), and the SP
// fetches the Response it stands for from the IdP over SOAP
// (ArtifactResolve / ArtifactResponse), then validates that Response
// exactly as one posted by the browser.

// Binding URIs of the artifact binding and its back channel.
const (
	BindingHTTPArtifact = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact"
	BindingSOAP         = "urn:oasis:names:tc:SAML:2.0:bindings:SOAP"
)

// Reasons of the artifact binding.
const (
	// ReasonArtifactInvalid: the SAMLart value is not a SAML 2.0 type 0x0004
	// artifact, names no IdP of the tenant, names an ArtifactResolutionService
	// index the IdP does not publish, or the IdP holds no message for it
	// (already resolved, expired, never issued).
	ReasonArtifactInvalid Reason = "artifact_invalid"
	// ReasonArtifactResolutionFailed: the SOAP exchange with the IdP's
	// ArtifactResolutionService failed (unreachable, too slow, too large,
	// redirected, a SOAP fault, an endpoint that is not https).
	ReasonArtifactResolutionFailed Reason = "artifact_resolution_failed"
)

// artifactTypeCode is the only artifact type SAML 2.0 defines (Bindings
// 3.6.4): TypeCode, EndpointIndex, SourceID (20), MessageHandle (20).
const (
	artifactTypeCode = 0x0004
	artifactLen      = 2 + 2 + 20 + 20
	// maxArtifactChars bounds the form value before any decoding: the
	// base64 of 44 bytes is 60 characters.
	maxArtifactChars = 60
	// artifactReplayWindow is how long a resolved artifact is remembered:
	// longer than any IdP keeps one (SimpleSAMLphp: 15 minutes; Bindings
	// 3.6.5.2 recommends minutes at most).
	artifactReplayWindow = 30 * time.Minute
)

// Artifact is a parsed SAML 2.0 type 0x0004 artifact.
type Artifact struct {
	// EndpointIndex names the IdP's ArtifactResolutionService to ask.
	EndpointIndex int
	// SourceID is the SHA-1 of the issuing IdP's entity ID.
	SourceID [20]byte
	// MessageHandle identifies the message at the IdP.
	MessageHandle [20]byte
	raw           string
}

// String returns the artifact as received (base64).
func (a *Artifact) String() string { return a.raw }

// SourceID returns the SourceID of artifacts issued by the entity ID
// (SAML Bindings 3.6.4: the SHA-1 hash of the entity ID).
func SourceID(entityID string) [20]byte { return sha1.Sum([]byte(entityID)) }

// IssuedBy tells whether the artifact's SourceID names the IdP.
func (a *Artifact) IssuedBy(idp *IdentityProvider) bool {
	s := SourceID(idp.EntityID)
	return subtle.ConstantTimeCompare(s[:], a.SourceID[:]) == 1
}

// ParseArtifact parses a SAMLart value: base64 of exactly 44 bytes, type
// code 0x0004, a MessageHandle that is not all zero. Every refusal is a
// *Error with reason ReasonArtifactInvalid that says what is wrong.
func ParseArtifact(s string) (*Artifact, error) {
	if s == "" {
		return nil, errorf(ReasonArtifactInvalid, "the SAMLart value is empty")
	}
	if len(s) > maxArtifactChars {
		return nil, errorf(ReasonArtifactInvalid, "the SAMLart value is %d characters; a SAML 2.0 artifact is %d", len(s), maxArtifactChars)
	}
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, errorf(ReasonArtifactInvalid, "the SAMLart value is not valid base64: %v", err)
	}
	if len(b) != artifactLen {
		return nil, errorf(ReasonArtifactInvalid, "the SAMLart value decodes to %d bytes; a SAML 2.0 artifact (type 0x0004) is %d", len(b), artifactLen)
	}
	if tc := binary.BigEndian.Uint16(b[0:2]); tc != artifactTypeCode {
		return nil, errorf(ReasonArtifactInvalid, "the artifact has type code 0x%04x; SAML 2.0 defines only 0x0004", tc)
	}
	a := &Artifact{EndpointIndex: int(binary.BigEndian.Uint16(b[2:4])), raw: s}
	copy(a.SourceID[:], b[4:24])
	copy(a.MessageHandle[:], b[24:44])
	if a.MessageHandle == ([20]byte{}) {
		return nil, errorf(ReasonArtifactInvalid, "the artifact's MessageHandle is all zero bytes; SAML Bindings 3.6.4 requires a random one")
	}
	return a, nil
}

// IndexedEndpoint is an endpoint with its index (ArtifactResolutionService,
// AssertionConsumerService).
type IndexedEndpoint struct {
	Endpoint
	Index     int
	IsDefault bool
}

// artifactResolutionService returns the IdP's SOAP ArtifactResolutionService
// with the index.
func (idp *IdentityProvider) artifactResolutionService(index int) (IndexedEndpoint, bool) {
	for _, e := range idp.ArtifactResolution {
		if e.Index == index && e.Binding == BindingSOAP {
			return e, true
		}
	}
	return IndexedEndpoint{}, false
}

// ArtifactInput is what the browser brought to the Assertion Consumer
// Service through the HTTP-Artifact binding.
type ArtifactInput struct {
	// Artifact as parsed from the SAMLart value (ParseArtifact).
	Artifact *Artifact
	// RelayState and BrowserBinding as in ResponseInput.
	RelayState     string
	BrowserBinding string
}

// ValidateArtifact resolves an artifact with the IdP that issued it and
// validates the Response it stands for. In order:
//
//  1. the artifact names idp (SourceID) and one of its SOAP
//     ArtifactResolutionServices (EndpointIndex): artifact_invalid;
//  2. the artifact is resolved at most once by this SP, across the
//     cluster (sp.Replay): replay;
//  3. an ArtifactResolve, signed with the SP's signing key, is sent in a
//     SOAP 1.1 envelope to that endpoint through ch (CheckSOAPEndpoint;
//     saml/soap.Client: bounded time and size, no redirects):
//     artifact_resolution_failed;
//  4. the ArtifactResponse: one SOAP Body element, the ArtifactResponse,
//     InResponseTo our request, Issuer the IdP, Status success, signed by
//     a trusted key of the IdP, issued within the message lifetime, and
//     carrying exactly one samlp:Response (malformed,
//     in_response_to_unknown, issuer_mismatch, status_not_success,
//     unsigned, signature_invalid, expired, artifact_invalid);
//  5. that Response goes through ValidateResponse, every rule of the
//     HTTP-POST binding included.
func (sp *ServiceProvider) ValidateArtifact(ctx context.Context, idp *IdentityProvider, in ArtifactInput, ch BackChannel) (*Assertion, error) {
	vr, err := sp.VerifyArtifact(ctx, idp, in, ch)
	if err != nil {
		return nil, err
	}
	return vr.Consume(ctx)
}

// VerifyArtifact runs ValidateArtifact but for the steps of the carried
// Response that change state (its pending request taken, its assertion
// marked used: VerifiedResponse.Consume), as VerifyResponse does for the
// HTTP-POST binding: a caller that records the login in a transaction
// resolves the artifact first, outside it (no transaction waits on the
// IdP), and consumes the Response inside it. The artifact itself is marked
// resolved before the back-channel call, outside any transaction: it is
// resolved once whatever the login's outcome.
func (sp *ServiceProvider) VerifyArtifact(ctx context.Context, idp *IdentityProvider, in ArtifactInput, ch BackChannel) (*VerifiedResponse, error) {
	st, err := sp.prepared()
	if err != nil {
		return nil, err
	}
	if idp == nil || in.Artifact == nil || ch == nil {
		return nil, errors.New("saml: ValidateArtifact needs the IdentityProvider, the Artifact and a BackChannel")
	}
	art := in.Artifact
	if !art.IssuedBy(idp) {
		return nil, &Error{Reason: ReasonArtifactInvalid, Expected: hex.EncodeToString(sourceIDOf(idp)), Got: hex.EncodeToString(art.SourceID[:]),
			Message: fmt.Sprintf("the artifact's SourceID %x is not the SHA-1 of the IdP's entity ID %q", art.SourceID, idp.EntityID)}
	}
	ep, ok := idp.artifactResolutionService(art.EndpointIndex)
	if !ok {
		return nil, &Error{Reason: ReasonArtifactInvalid, Expected: describeIndexes(idp), Got: fmt.Sprint(art.EndpointIndex),
			Message: fmt.Sprintf("the artifact names ArtifactResolutionService index %d, which the metadata of IdP %q does not publish with the SOAP binding (published: %s); import the IdP's metadata again", art.EndpointIndex, idp.EntityID, describeIndexes(idp))}
	}
	if err := CheckSOAPEndpoint(ep.Location); err != nil {
		return nil, err
	}
	now := sp.now()
	if sp.Replay != nil {
		// The artifact itself, not only the assertion it stands for: it is
		// resolved at most once (SAML Bindings 3.6.5.2), so a copy taken
		// from a log or a Referer is worthless.
		h := sha256.Sum256([]byte(art.raw))
		first, err := sp.Replay.MarkUsed(ctx, "artifact:"+hex.EncodeToString(h[:]), now.Add(artifactReplayWindow))
		if err != nil {
			return nil, &Error{Reason: ReasonInternal, Message: "recording the artifact as used failed", Err: err}
		}
		if !first {
			return nil, errorf(ReasonReplay, "the artifact was already presented; each artifact is resolved once (a reload of the page, or a replayed artifact)")
		}
	}

	id := newID()
	envelope, err := sp.artifactResolve(st, id, ep.Location, art, now)
	if err != nil {
		return nil, err
	}
	max := st.maxSize + soapEnvelopeAllowance
	body, status, err := ch.Exchange(ctx, ep.Location, envelope, max)
	if err != nil {
		return nil, err
	}
	return sp.artifactAnswer(ctx, st, idp, body, status, ep.Location, id, in)
}

// artifactAnswer validates the IdP's SOAP answer to the ArtifactResolve
// requestID, then the Response it carries.
func (sp *ServiceProvider) artifactAnswer(ctx context.Context, st *spState, idp *IdentityProvider, body []byte, status int, location, requestID string, in ArtifactInput) (*VerifiedResponse, error) {
	doc, msg, err := soapBody(body, st.maxSize+soapEnvelopeAllowance)
	if err != nil {
		if status != 200 && ReasonOf(err) != ReasonArtifactResolutionFailed {
			return nil, errorf(ReasonArtifactResolutionFailed, "the IdP's ArtifactResolutionService %q answered with status %d and no SOAP fault", location, status)
		}
		return nil, err
	}
	v := validation{sp: sp, st: st, idp: idp, now: sp.now()}
	inner, err := v.artifactResponse(msg, requestID)
	doc.Release()
	if err != nil {
		return nil, err
	}
	return sp.VerifyResponse(ctx, idp, ResponseInput{
		SAMLResponse:   base64.StdEncoding.EncodeToString(inner),
		RelayState:     in.RelayState,
		BrowserBinding: in.BrowserBinding,
	})
}

func sourceIDOf(idp *IdentityProvider) []byte {
	s := SourceID(idp.EntityID)
	return s[:]
}

func describeIndexes(idp *IdentityProvider) string {
	var parts []string
	for _, e := range idp.ArtifactResolution {
		if e.Binding == BindingSOAP {
			parts = append(parts, fmt.Sprint(e.Index))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// artifactResolve builds the SOAP envelope of an ArtifactResolve (SAML Core
// 3.5.1), signed with the SP's signing key when it has one.
func (sp *ServiceProvider) artifactResolve(st *spState, id, destination string, art *Artifact, now time.Time) ([]byte, error) {
	var b strings.Builder
	b.WriteString(`<samlp:ArtifactResolve xmlns:samlp="` + nsSAMLP + `" xmlns:saml="` + nsSAML + `" ID="` + id + `" Version="2.0" IssueInstant="` + now.UTC().Format(timeLayoutSAMLMilli) + `" Destination="` + xmlEscape(destination) + `">`)
	b.WriteString(`<saml:Issuer>` + xmlEscape(sp.EntityID) + `</saml:Issuer>`)
	if st.signer != nil {
		b.WriteString(xmldsig.SignatureMarker)
	}
	b.WriteString(`<samlp:Artifact>` + xmlEscape(art.raw) + `</samlp:Artifact></samlp:ArtifactResolve>`)
	msg := b.String()
	if st.signer != nil {
		var err error
		if msg, err = signEnveloped(msg, id, KeyPair{Signer: st.signer, Certificate: st.signCert}); err != nil {
			return nil, err
		}
	}
	return []byte(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<soap11:Envelope xmlns:soap11="` + nsSOAP11 + `"><soap11:Body>` + msg + `</soap11:Body></soap11:Envelope>`), nil
}

// artifactResponse checks an ArtifactResponse (SAML Core 3.5.2) answering
// the ArtifactResolve requestID and returns the Response it carries as a
// standalone document.
//
// Its signature by the IdP is required. The back channel is TLS with only
// the server authenticated (Lanyard presents no client certificate):
// SAML Bindings 3.2.3.2 and 3.6.5.2 accept an unsigned ArtifactResponse
// only over a mutually authenticated channel, and this one is not. The
// inner Response's own signature rules (ValidateResponse) apply on top.
func (v *validation) artifactResponse(ar *xmldsig.Node, requestID string) ([]byte, error) {
	if !ar.Is(nsSAMLP, "ArtifactResponse") {
		return nil, errorf(ReasonMalformed, "the SOAP Body holds <%s> in namespace %q, not a samlp:ArtifactResponse", ar.Local(), ar.Space())
	}
	if ver := ar.AttrValue("Version"); ver != "2.0" {
		return nil, errorf(ReasonMalformed, "the ArtifactResponse has Version %q, expected 2.0", ver)
	}
	if ar.AttrValue("ID") == "" {
		return nil, errorf(ReasonMalformed, "the ArtifactResponse has no ID")
	}
	// Cheap checks first: cardinalities, issuer, InResponseTo.
	var issuer, status, message *xmldsig.Node
	for c := ar.FirstChild(); c != nil; c = c.NextSibling() {
		if !c.IsElement() {
			continue
		}
		switch {
		case c.Is(nsSAML, "Issuer"):
			if issuer != nil || status != nil {
				return nil, errorf(ReasonMalformed, "the ArtifactResponse has a second or misplaced Issuer")
			}
			issuer = c
		case c.Is(xmldsig.NSDSig, "Signature"), c.Is(nsSAMLP, "Extensions"):
			if status != nil {
				return nil, errorf(ReasonMalformed, "the ArtifactResponse has <%s> after its Status", c.Local())
			}
		case c.Is(nsSAMLP, "Status"):
			if status != nil {
				return nil, errorf(ReasonMalformed, "the ArtifactResponse has 2 Status elements, expected exactly one")
			}
			status = c
		default:
			if status == nil {
				return nil, errorf(ReasonMalformed, "the ArtifactResponse has <%s> before its Status", c.Local())
			}
			if message != nil {
				return nil, errorf(ReasonMalformed, "the ArtifactResponse carries more than one message; SAML Core 3.5.2 allows one")
			}
			message = c
		}
	}
	if issuer == nil {
		return nil, &Error{Reason: ReasonIssuerMismatch, Expected: v.idp.EntityID, Message: fmt.Sprintf("the ArtifactResponse has no Issuer; expected %q", v.idp.EntityID)}
	}
	if err := v.checkIssuer(issuer, "ArtifactResponse"); err != nil {
		return nil, err
	}
	if irt := ar.AttrValue("InResponseTo"); irt != requestID {
		return nil, &Error{Reason: ReasonInResponseToUnknown, Expected: requestID, Got: irt,
			Message: fmt.Sprintf("the ArtifactResponse answers %q, not the ArtifactResolve %q just sent", irt, requestID)}
	}
	if status == nil {
		return nil, errorf(ReasonMalformed, "the ArtifactResponse has no Status")
	}
	sig, err := signatureOf(ar)
	if err != nil {
		return nil, err
	}
	if sig == nil {
		return nil, errorf(ReasonUnsigned, "the ArtifactResponse is not signed; over a back channel that does not authenticate the IdP's messages (no mutual TLS), Lanyard requires the IdP to sign it")
	}
	if err := verifyEnveloped(ar, sig, &xmldsig.VerifyOptions{Keys: v.idp.trusted(), AllowSHA1: v.idp.AllowSHA1, What: "ArtifactResponse"}); err != nil {
		return nil, err
	}
	// From here on, everything read is covered by the verified signature.
	if err := checkStatus(ar); err != nil {
		return nil, err
	}
	if err := v.fresh("ArtifactResponse", ar.AttrValue("IssueInstant")); err != nil {
		return nil, err
	}
	if message == nil {
		return nil, errorf(ReasonArtifactInvalid, "the IdP holds no message for this artifact (already resolved, expired, or issued for another SP)")
	}
	if !message.Is(nsSAMLP, "Response") {
		return nil, errorf(ReasonMalformed, "the artifact stands for <%s> in namespace %q; the Assertion Consumer Service takes a samlp:Response", message.Local(), message.Space())
	}
	return standalone(message)
}

// standalone returns el as a document of its own: its inclusive canonical
// form, which declares on el every namespace in scope there, so that the
// signatures inside verify as they did in place (exclusive or inclusive
// canonical forms alike). Canonical XML 1.0 would also copy the xml:*
// attributes of the ancestors onto el, changing it: an answer with any is
// refused, none of SAML's messages needs them.
func standalone(el *xmldsig.Node) ([]byte, error) {
	for e := el.Parent(); e != nil; e = e.Parent() {
		for _, a := range e.Attrs() {
			if a.Space() == nsXMLAttr {
				return nil, errorf(ReasonMalformed, "<%s> around the resolved Response carries xml:%s, which would change the Response when taken out of its envelope", e.Local(), a.Local())
			}
		}
	}
	var buf bufferHash
	xmldsig.Canonicalize(&buf, el, xmldsig.InclusiveC14N10, nil, nil)
	return buf.b, nil
}

// bufferHash collects canonical output (canonicalize writes to a hash).
type bufferHash struct{ b []byte }

var _ hash.Hash = (*bufferHash)(nil)

func (h *bufferHash) Write(p []byte) (int, error) { h.b = append(h.b, p...); return len(p), nil }
func (h *bufferHash) Sum(b []byte) []byte         { return append(b, h.b...) }
func (h *bufferHash) Reset()                      { h.b = h.b[:0] }
func (h *bufferHash) Size() int                   { return len(h.b) }
func (h *bufferHash) BlockSize() int              { return 1 }

// nsXMLAttr is the namespace of the xml: attributes (xml:lang, xml:space...).
const nsXMLAttr = "http://www.w3.org/XML/1998/namespace"

// artifactACSIndex is the index of the HTTP-Artifact Assertion Consumer
// Service in the SP's metadata (the HTTP-POST one has index 0).
const artifactACSIndex = 1

// indexedEndpoint reads an IndexedEndpointType element (SAML Metadata
// 2.2.3): index is a required xs:unsignedShort.
func indexedEndpoint(c *xmldsig.Node) (IndexedEndpoint, error) {
	ep := IndexedEndpoint{Endpoint: Endpoint{Binding: c.AttrValue("Binding"), Location: c.AttrValue("Location"), ResponseLocation: c.AttrValue("ResponseLocation")}}
	raw := strings.TrimSpace(c.AttrValue("index"))
	idx, err := strconv.ParseUint(raw, 10, 16)
	if err != nil {
		return ep, errorf(ReasonMalformed, "the %s at %q has index %q; SAML Metadata 2.2.3 requires a number from 0 to 65535", c.Local(), ep.Location, raw)
	}
	ep.Index = int(idx)
	ep.IsDefault = c.AttrValue("isDefault") == "true" || c.AttrValue("isDefault") == "1"
	return ep, nil
}

// ResolvesArtifacts tells whether the IdP publishes an
// ArtifactResolutionService with the SOAP binding: only then may the SP ask
// it to answer through the HTTP-Artifact binding.
func (idp *IdentityProvider) ResolvesArtifacts() bool {
	for _, e := range idp.ArtifactResolution {
		if e.Binding == BindingSOAP {
			return true
		}
	}
	return false
}
