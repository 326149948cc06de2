// Package testidp is a minimal SAML Identity Provider for tests and load
// runs: a fresh RSA key with a self-signed certificate, its metadata
// (optionally signed), and signed Responses for the Web Browser SSO
// Profile, IdP-initiated or answering an AuthnRequest.
//
// It writes every signed element directly in its Exclusive XML
// Canonicalization 1.0 form (namespace declarations on the element that
// first uses them, attributes in canonical order, no whitespace between
// elements, empty elements as start and end tags, canonical escaping), so
// that the bytes it digests are exactly the bytes a verifier canonicalises,
// without a C14N implementation of its own. The saml package's validator
// checks this in the package tests.
package testidp

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// Namespaces and algorithms.
const (
	nsMD        = "urn:oasis:names:tc:SAML:2.0:metadata"
	nsSAML      = "urn:oasis:names:tc:SAML:2.0:assertion"
	nsSAMLP     = "urn:oasis:names:tc:SAML:2.0:protocol"
	nsDSig      = "http://www.w3.org/2000/09/xmldsig#"
	algExcC14N  = "http://www.w3.org/2001/10/xml-exc-c14n#"
	algRSA256   = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
	algSHA256   = "http://www.w3.org/2001/04/xmlenc#sha256"
	algEnvelope = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"

	bindingRedirect = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
	bindingPOST     = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
)

// IdP is a test Identity Provider. Its fields may be changed before use.
type IdP struct {
	EntityID string
	// SSOURL is published in the metadata for HTTP-Redirect and HTTP-POST.
	SSOURL string
	// SLOURL, when set, is published for HTTP-Redirect.
	SLOURL string
	Key    *rsa.PrivateKey
	Cert   *x509.Certificate
}

// Options control New.
type Options struct {
	// Bits of the RSA key; zero means 2048.
	Bits int
	// NotAfter of the certificate; zero means ten years from now.
	NotAfter time.Time
}

// New returns an IdP with a fresh key and certificate.
func New(entityID string, o Options) (*IdP, error) {
	bits := o.Bits
	if bits == 0 {
		bits = 2048
	}
	key, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return nil, fmt.Errorf("testidp: generate key: %w", err)
	}
	cert, err := SelfSigned(key, "Test IdP "+entityID, o.NotAfter)
	if err != nil {
		return nil, err
	}
	return &IdP{EntityID: entityID, SSOURL: "https://idp.invalid/sso", Key: key, Cert: cert}, nil
}

// SelfSigned makes a certificate for key valid until notAfter (zero: ten
// years from now).
func SelfSigned(key *rsa.PrivateKey, cn string, notAfter time.Time) (*x509.Certificate, error) {
	if notAfter.IsZero() {
		notAfter = time.Now().AddDate(10, 0, 0)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, fmt.Errorf("testidp: serial: %w", err)
	}
	notBefore := time.Now().Add(-time.Hour)
	if notAfter.Before(notBefore) {
		notBefore = notAfter.Add(-time.Hour)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("testidp: create certificate: %w", err)
	}
	return x509.ParseCertificate(der)
}

// CertPEM returns the certificate as PEM.
func (i *IdP) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: i.Cert.Raw})
}

// MetadataOptions control Metadata.
type MetadataOptions struct {
	// ExtraCerts are published as signing certificates after the IdP's
	// own (a rollover).
	ExtraCerts []*x509.Certificate
	// ValidUntil and CacheDuration, when set, are published on the root.
	ValidUntil    time.Time
	CacheDuration time.Duration
	// SignWith, when set, signs the metadata (enveloped signature on the
	// root); SignWithCert goes into its KeyInfo.
	SignWith     crypto.Signer
	SignWithCert *x509.Certificate
	// NoBrowserSSO publishes only a SOAP SSO endpoint.
	NoBrowserSSO bool
	// ArtifactResolutionURL, when set, is published as the SOAP
	// ArtifactResolutionService of index 0 (see Artifact).
	ArtifactResolutionURL string
}

// Metadata returns the IdP's EntityDescriptor.
func (i *IdP) Metadata(o MetadataOptions) ([]byte, error) {
	return []byte(xmlHeader + i.entityDescriptor(o, "")), nil
}

const xmlHeader = `<?xml version="1.0" encoding="UTF-8"?>` + "\n"

// EntityDescriptor returns the IdP's EntityDescriptor element (no XML
// declaration), signed when o.SignWith is set, for embedding in an
// aggregate.
func (i *IdP) EntityDescriptor(o MetadataOptions) (string, error) {
	if o.SignWith == nil {
		return i.entityDescriptor(o, ""), nil
	}
	return i.signedEntityDescriptor(o)
}

// AggregateMember returns the IdP's EntityDescriptor without its own
// namespace declaration, as it appears in the canonical form of an
// aggregate that declares the md prefix (see SignedAggregate).
func (i *IdP) AggregateMember(o MetadataOptions) string {
	return strings.Replace(i.entityDescriptor(o, ""), ` xmlns:md="`+nsMD+`"`, "", 1)
}

func (i *IdP) signedEntityDescriptor(o MetadataOptions) (string, error) {
	id := "_md" + randomHex(16)
	unsigned := i.entityDescriptor(o, id)
	return signEnveloped(unsigned, id, o.SignWith, o.SignWithCert, `<md:IDPSSODescriptor`)
}

// SignedMetadata returns the metadata signed by o.SignWith.
func (i *IdP) SignedMetadata(o MetadataOptions) ([]byte, error) {
	ed, err := i.EntityDescriptor(o)
	if err != nil {
		return nil, err
	}
	return []byte(xmlHeader + ed), nil
}

// entityDescriptor writes the EntityDescriptor in canonical form (with an
// ID attribute when id is set).
func (i *IdP) entityDescriptor(o MetadataOptions, id string) string {
	var b strings.Builder
	b.WriteString(`<md:EntityDescriptor xmlns:md="` + nsMD + `"`)
	if id != "" {
		b.WriteString(` ID="` + attr(id) + `"`)
	}
	if o.CacheDuration > 0 {
		fmt.Fprintf(&b, ` cacheDuration="PT%dS"`, int64(o.CacheDuration/time.Second))
	}
	b.WriteString(` entityID="` + attr(i.EntityID) + `"`)
	if !o.ValidUntil.IsZero() {
		b.WriteString(` validUntil="` + o.ValidUntil.UTC().Format(time.RFC3339) + `"`)
	}
	b.WriteString(`>`)
	b.WriteString(`<md:IDPSSODescriptor protocolSupportEnumeration="` + nsSAMLP + `">`)
	for _, c := range append([]*x509.Certificate{i.Cert}, o.ExtraCerts...) {
		b.WriteString(`<md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="` + nsDSig + `"><ds:X509Data><ds:X509Certificate>` +
			base64.StdEncoding.EncodeToString(c.Raw) + `</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`)
	}
	if o.ArtifactResolutionURL != "" {
		b.WriteString(`<md:ArtifactResolutionService Binding="urn:oasis:names:tc:SAML:2.0:bindings:SOAP" Location="` + attr(o.ArtifactResolutionURL) + `" index="0"></md:ArtifactResolutionService>`)
	}
	if i.SLOURL != "" {
		b.WriteString(`<md:SingleLogoutService Binding="` + bindingRedirect + `" Location="` + attr(i.SLOURL) + `"></md:SingleLogoutService>`)
	}
	b.WriteString(`<md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>`)
	if o.NoBrowserSSO {
		b.WriteString(`<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:SOAP" Location="` + attr(i.SSOURL) + `"></md:SingleSignOnService>`)
	} else {
		b.WriteString(`<md:SingleSignOnService Binding="` + bindingRedirect + `" Location="` + attr(i.SSOURL) + `"></md:SingleSignOnService>`)
		b.WriteString(`<md:SingleSignOnService Binding="` + bindingPOST + `" Location="` + attr(i.SSOURL) + `"></md:SingleSignOnService>`)
	}
	b.WriteString(`</md:IDPSSODescriptor></md:EntityDescriptor>`)
	return b.String()
}

// Login is the content of one Response.
type Login struct {
	// Destination is the SP's ACS URL (Destination and Recipient).
	Destination string
	// Audience is the SP's entity ID.
	Audience string
	// InResponseTo is the AuthnRequest ID answered; empty for an
	// IdP-initiated (unsolicited) response.
	InResponseTo string
	// NameID (emailAddress format) and attributes, each with one value.
	NameID     string
	Attributes [][2]string
	// Now is the issue instant; zero means time.Now. The assertion is
	// valid from Now-1m to Now+Validity.
	Now      time.Time
	Validity time.Duration // zero means 5 minutes
}

// Response returns a base64 SAMLResponse (HTTP-POST binding) carrying one
// assertion signed with the IdP's key (RSA-SHA256, exclusive C14N), with
// fresh random IDs.
func (i *IdP) Response(l Login) (string, error) {
	r, err := i.responseXML(l, false)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString([]byte(r)), nil
}

// responseXML returns the Response of Response. Embedded, it is written in
// its canonical form inside a samlp:ArtifactResponse (which declares the
// samlp prefix): no declaration of its own but saml's on its Issuer.
func (i *IdP) responseXML(l Login, embedded bool) (string, error) {
	now := l.Now
	if now.IsZero() {
		now = time.Now()
	}
	validity := l.Validity
	if validity == 0 {
		validity = 5 * time.Minute
	}
	now = now.UTC()
	ts := func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }
	respID, assertID := "_r"+randomHex(20), "_a"+randomHex(20)
	until := ts(now.Add(validity))

	var a strings.Builder
	a.WriteString(`<saml:Assertion xmlns:saml="` + nsSAML + `" ID="` + assertID + `" IssueInstant="` + ts(now) + `" Version="2.0">`)
	a.WriteString(`<saml:Issuer>` + text(i.EntityID) + `</saml:Issuer>`)
	a.WriteString(`<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">` + text(l.NameID) + `</saml:NameID>`)
	a.WriteString(`<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData`)
	if l.InResponseTo != "" {
		a.WriteString(` InResponseTo="` + attr(l.InResponseTo) + `"`)
	}
	a.WriteString(` NotOnOrAfter="` + until + `" Recipient="` + attr(l.Destination) + `"></saml:SubjectConfirmationData></saml:SubjectConfirmation></saml:Subject>`)
	a.WriteString(`<saml:Conditions NotBefore="` + ts(now.Add(-time.Minute)) + `" NotOnOrAfter="` + until + `"><saml:AudienceRestriction><saml:Audience>` + text(l.Audience) + `</saml:Audience></saml:AudienceRestriction></saml:Conditions>`)
	a.WriteString(`<saml:AuthnStatement AuthnInstant="` + ts(now) + `" SessionIndex="_s` + randomHex(12) + `"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>`)
	if len(l.Attributes) > 0 {
		a.WriteString(`<saml:AttributeStatement>`)
		for _, kv := range l.Attributes {
			a.WriteString(`<saml:Attribute Name="` + attr(kv[0]) + `" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic"><saml:AttributeValue>` + text(kv[1]) + `</saml:AttributeValue></saml:Attribute>`)
		}
		a.WriteString(`</saml:AttributeStatement>`)
	}
	a.WriteString(`</saml:Assertion>`)
	assertion, err := signEnveloped(a.String(), assertID, i.Key, i.Cert, `<saml:Subject>`)
	if err != nil {
		return "", err
	}

	var r strings.Builder
	if embedded {
		r.WriteString(`<samlp:Response Destination="` + attr(l.Destination) + `" ID="` + respID + `"`)
	} else {
		r.WriteString(`<samlp:Response xmlns:samlp="` + nsSAMLP + `" xmlns:saml="` + nsSAML + `" Destination="` + attr(l.Destination) + `" ID="` + respID + `"`)
	}
	if l.InResponseTo != "" {
		r.WriteString(` InResponseTo="` + attr(l.InResponseTo) + `"`)
	}
	r.WriteString(` IssueInstant="` + ts(now) + `" Version="2.0">`)
	if embedded {
		r.WriteString(`<saml:Issuer xmlns:saml="` + nsSAML + `">` + text(i.EntityID) + `</saml:Issuer>`)
	} else {
		r.WriteString(`<saml:Issuer>` + text(i.EntityID) + `</saml:Issuer>`)
	}
	r.WriteString(`<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"></samlp:StatusCode></samlp:Status>`)
	r.WriteString(assertion)
	r.WriteString(`</samlp:Response>`)
	return r.String(), nil
}

// Artifact returns a fresh SAMLart of the IdP (type 0x0004, SAML Bindings
// 3.6.4): endpoint index 0 of its ArtifactResolutionService, the SHA-1 of
// its entity ID, a random message handle.
func (i *IdP) Artifact() string {
	b := make([]byte, 44)
	b[1] = 4
	src := sha1.Sum([]byte(i.EntityID))
	copy(b[4:24], src[:])
	_, _ = rand.Read(b[24:])
	return base64.StdEncoding.EncodeToString(b)
}

// ArtifactResponse returns the SOAP 1.1 envelope of a samlp:ArtifactResponse
// answering the ArtifactResolve requestID, signed with the IdP's key, and
// carrying the Response of l: what the IdP's ArtifactResolutionService
// answers for an artifact.
func (i *IdP) ArtifactResponse(requestID string, l Login) ([]byte, error) {
	inner, err := i.responseXML(l, true)
	if err != nil {
		return nil, err
	}
	id := "_ar" + randomHex(20)
	now := l.Now
	if now.IsZero() {
		now = time.Now()
	}
	// Canonical as written: the saml prefix is declared where used.
	ar := `<samlp:ArtifactResponse xmlns:samlp="` + nsSAMLP + `" ID="` + id + `" InResponseTo="` + attr(requestID) +
		`" IssueInstant="` + now.UTC().Format("2006-01-02T15:04:05Z") + `" Version="2.0">` +
		`<saml:Issuer xmlns:saml="` + nsSAML + `">` + text(i.EntityID) + `</saml:Issuer>` +
		`<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"></samlp:StatusCode></samlp:Status>` +
		inner + `</samlp:ArtifactResponse>`
	signed, err := signEnveloped(ar, id, i.Key, i.Cert, `<samlp:Status>`)
	if err != nil {
		return nil, err
	}
	return []byte(xmlHeader + `<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"><SOAP-ENV:Body>` +
		signed + `</SOAP-ENV:Body></SOAP-ENV:Envelope>`), nil
}

// signEnveloped signs the canonical element el (whose ID is id) and
// inserts the Signature before the first occurrence of before, which must
// be the element's child following the signature's place.
func signEnveloped(el, id string, key crypto.Signer, cert *x509.Certificate, before string) (string, error) {
	digest := sha256.Sum256([]byte(el))
	signedInfo := `<ds:SignedInfo xmlns:ds="` + nsDSig + `">` +
		`<ds:CanonicalizationMethod Algorithm="` + algExcC14N + `"></ds:CanonicalizationMethod>` +
		`<ds:SignatureMethod Algorithm="` + algRSA256 + `"></ds:SignatureMethod>` +
		`<ds:Reference URI="#` + id + `"><ds:Transforms>` +
		`<ds:Transform Algorithm="` + algEnvelope + `"></ds:Transform>` +
		`<ds:Transform Algorithm="` + algExcC14N + `"></ds:Transform>` +
		`</ds:Transforms><ds:DigestMethod Algorithm="` + algSHA256 + `"></ds:DigestMethod>` +
		`<ds:DigestValue>` + base64.StdEncoding.EncodeToString(digest[:]) + `</ds:DigestValue></ds:Reference></ds:SignedInfo>`
	h := sha256.Sum256([]byte(signedInfo))
	sig, err := key.Sign(rand.Reader, h[:], crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("testidp: sign: %w", err)
	}
	// Inside the Signature, SignedInfo inherits xmlns:ds from it; its
	// canonical form (the apex of what is signed) declares it again.
	signature := `<ds:Signature xmlns:ds="` + nsDSig + `">` + strings.Replace(signedInfo, ` xmlns:ds="`+nsDSig+`"`, "", 1) +
		`<ds:SignatureValue>` + base64.StdEncoding.EncodeToString(sig) + `</ds:SignatureValue>`
	if cert != nil {
		signature += `<ds:KeyInfo><ds:X509Data><ds:X509Certificate>` + base64.StdEncoding.EncodeToString(cert.Raw) + `</ds:X509Certificate></ds:X509Data></ds:KeyInfo>`
	}
	signature += `</ds:Signature>`
	at := strings.Index(el, before)
	if at < 0 {
		return "", fmt.Errorf("testidp: sign: no %s in the element", before)
	}
	return el[:at] + signature + el[at:], nil
}

var (
	textEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\r", "&#xD;")
	attrEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", `"`, "&quot;", "\t", "&#x9;", "\n", "&#xA;", "\r", "&#xD;")
)

// text and attr escape as Canonical XML does.
func text(s string) string { return textEscaper.Replace(s) }
func attr(s string) string { return attrEscaper.Replace(s) }

func randomHex(n int) string {
	b := make([]byte, n/2)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// SignedAggregate wraps members (from AggregateMember) in an
// EntitiesDescriptor signed by key, as a federation publishes it.
func SignedAggregate(name string, members []string, key crypto.Signer, cert *x509.Certificate) ([]byte, error) {
	id := "_fed" + randomHex(16)
	var b strings.Builder
	b.WriteString(`<md:EntitiesDescriptor xmlns:md="` + nsMD + `" ID="` + id + `" Name="` + attr(name) + `">` + "\n")
	for _, m := range members {
		b.WriteString(m)
		b.WriteString("\n")
	}
	b.WriteString(`</md:EntitiesDescriptor>`)
	signed, err := signEnveloped(b.String(), id, key, cert, "\n")
	if err != nil {
		return nil, err
	}
	return []byte(xmlHeader + signed), nil
}

// Aggregate wraps EntityDescriptor elements in an EntitiesDescriptor.
func Aggregate(name string, entities []string) []byte {
	var b strings.Builder
	b.WriteString(xmlHeader)
	b.WriteString(`<md:EntitiesDescriptor xmlns:md="` + nsMD + `" Name="` + attr(name) + `">` + "\n")
	for _, e := range entities {
		b.WriteString(e)
		b.WriteString("\n")
	}
	b.WriteString(`</md:EntitiesDescriptor>` + "\n")
	return []byte(b.String())
}
