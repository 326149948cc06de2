package saml

import (
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/lanyard-sso/lanyard/saml/xmldsig"
)

// Metadata (SAML Metadata 2.0): parsing the IdP's, producing the SP's.

const (
	nsMD = "urn:oasis:names:tc:SAML:2.0:metadata"

	// CertificateExpiryWarning is how long before its expiry a certificate
	// is reported by ExpiringCertificates.
	CertificateExpiryWarning = 30 * 24 * time.Hour

	// DefaultMaxMetadataSize bounds metadata documents (federation
	// aggregates run to tens of megabytes).
	DefaultMaxMetadataSize = 128 << 20
)

// MetadataOptions controls ParseIdPMetadata.
type MetadataOptions struct {
	// EntityID selects the IdP in an EntitiesDescriptor (required when
	// it holds more than one IdP); with an EntityDescriptor it must match
	// when set.
	EntityID string
	// VerifyWith, when set, requires the metadata to be signed (enveloped
	// signature on the root element) by one of these pinned certificates.
	VerifyWith []*x509.Certificate
	// AllowSHA1 accepts a SHA-1 signature on the metadata, and marks the IdP
	// as legacy (IdentityProvider.AllowSHA1).
	AllowSHA1 bool
	// MaxSize bounds the document; zero means DefaultMaxMetadataSize.
	MaxSize int
}

// ParseIdPMetadata parses IdP metadata: an EntityDescriptor, or an
// EntitiesDescriptor (a federation aggregate) from which the IdP named by
// opts.EntityID is picked. Every signing certificate is trusted (rollover).
// With opts.VerifyWith the metadata's own signature is checked first.
// Fetching, refreshing and keeping the last good copy is the caller's job.
func ParseIdPMetadata(data []byte, opts MetadataOptions) (*IdentityProvider, error) {
	max := opts.MaxSize
	if max <= 0 {
		max = DefaultMaxMetadataSize
	}
	if len(data) > max {
		return nil, errorf(ReasonTooLarge, "the metadata is %d bytes, more than the %d allowed", len(data), max)
	}
	lim := xmldsig.Limits{MaxSize: max, MaxDepth: xmldsig.DefaultMaxDepth, MaxNodes: -1}
	if len(opts.VerifyWith) == 0 && opts.EntityID != "" && len(data) > 1<<20 {
		// A large aggregate, not verified: parse only the entity wanted.
		if idp, err := quickPick(data, opts, lim); err == nil {
			return idp, nil
		}
	}
	doc, err := parseXML(data, lim)
	if err != nil {
		return nil, err
	}
	root := doc.Root()
	if len(opts.VerifyWith) > 0 {
		keys := make([]xmldsig.Key, len(opts.VerifyWith))
		for i, c := range opts.VerifyWith {
			keys[i] = xmldsig.NewKey(c)
		}
		sig, err := signatureOf(root)
		if err != nil {
			return nil, err
		}
		if sig == nil {
			return nil, errorf(ReasonUnsigned, "the metadata is not signed, but a signing certificate is pinned for it")
		}
		if err := verifyEnveloped(root, sig, &xmldsig.VerifyOptions{Keys: keys, AllowSHA1: opts.AllowSHA1, What: "metadata"}); err != nil {
			return nil, err
		}
	}
	var ed *xmldsig.Node
	switch {
	case root.Is(nsMD, "EntityDescriptor"):
		ed = root
		if opts.EntityID != "" && root.AttrValue("entityID") != opts.EntityID {
			return nil, &Error{Reason: ReasonIssuerMismatch, Expected: opts.EntityID, Got: root.AttrValue("entityID"),
				Message: fmt.Sprintf("the metadata describes %q, not %q", root.AttrValue("entityID"), opts.EntityID)}
		}
	case root.Is(nsMD, "EntitiesDescriptor"):
		var idps []*xmldsig.Node
		for n := range doc.All() {
			if n.Is(nsMD, "EntityDescriptor") && n.Child(nsMD, "IDPSSODescriptor") != nil {
				if opts.EntityID == "" || n.AttrValue("entityID") == opts.EntityID {
					idps = append(idps, n)
				}
			}
		}
		switch {
		case len(idps) == 0 && opts.EntityID != "":
			return nil, errorf(ReasonMalformed, "the metadata holds no IdP with entity ID %q", opts.EntityID)
		case len(idps) == 0:
			return nil, errorf(ReasonMalformed, "the metadata holds no IdP")
		case len(idps) > 1:
			return nil, errorf(ReasonMalformed, "the metadata holds %d IdPs (or one entity ID %d times); choose one by entity ID", len(idps), len(idps))
		}
		ed = idps[0]
	default:
		return nil, errorf(ReasonMalformed, "expected md:EntityDescriptor or md:EntitiesDescriptor, got <%s> in namespace %q", root.Local(), root.Space())
	}
	idp, err := idpFromDescriptor(ed, nil)
	if err != nil {
		return nil, err
	}
	idp.AllowSHA1 = opts.AllowSHA1
	return idp, nil
}

// quickPick finds the EntityDescriptor for opts.EntityID by a byte search
// and parses only that element, in the namespace context of the root
// element. It fails (and the caller parses the whole document) whenever
// anything is unusual.
func quickPick(data []byte, opts MetadataOptions, lim xmldsig.Limits) (*IdentityProvider, error) {
	rootStart := bytes.IndexByte(data, '<')
	for rootStart >= 0 && rootStart+1 < len(data) && (data[rootStart+1] == '?' || data[rootStart+1] == '!') {
		next := bytes.IndexByte(data[rootStart+1:], '<')
		if next < 0 {
			return nil, errors.New("no root")
		}
		rootStart += 1 + next
	}
	rootEnd := bytes.IndexByte(data[rootStart:], '>')
	if rootEnd < 0 {
		return nil, errors.New("no root")
	}
	// Namespace context of the root start tag.
	rd, err := parseXML(append(append([]byte{}, data[rootStart:rootStart+rootEnd]...), "/>"...), lim)
	if err != nil {
		return nil, err
	}
	ctx := rd.Root().Namespaces()
	for _, q := range []string{`entityID="`, `entityID='`} {
		needle := []byte(q + opts.EntityID + q[len(q)-1:])
		for off := 0; ; {
			i := bytes.Index(data[off:], needle)
			if i < 0 {
				break
			}
			i += off
			off = i + len(needle)
			lt := bytes.LastIndexByte(data[:i], '<')
			if lt < 0 {
				continue
			}
			tag := data[lt+1 : i]
			name := tag
			if sp := bytes.IndexAny(tag, " \t\r\n"); sp >= 0 {
				name = tag[:sp]
			}
			if !bytes.HasSuffix(name, []byte("EntityDescriptor")) || bytes.HasSuffix(name, []byte("EntitiesDescriptor")) {
				continue
			}
			closeTag := append(append([]byte("</"), name...), '>')
			end := bytes.Index(data[lt:], closeTag)
			if end < 0 {
				return nil, errors.New("unterminated")
			}
			frag := data[lt : lt+end+len(closeTag)]
			fd, err := parseXML(frag, xmldsig.Limits{MaxSize: lim.MaxSize, MaxDepth: lim.MaxDepth, MaxNodes: -1, Context: ctx})
			if err != nil {
				return nil, err
			}
			if !fd.Root().Is(nsMD, "EntityDescriptor") || fd.Root().AttrValue("entityID") != opts.EntityID {
				continue
			}
			if fd.Root().Child(nsMD, "IDPSSODescriptor") == nil {
				continue
			}
			// validUntil and cacheDuration of the aggregate apply too.
			idp, err := idpFromDescriptor(fd.Root(), rd.Root())
			if err != nil {
				return nil, err
			}
			idp.AllowSHA1 = opts.AllowSHA1
			return idp, nil
		}
	}
	return nil, errors.New("not found")
}

// idpFromDescriptor reads an EntityDescriptor; validUntil and cacheDuration
// come from it or its nearest ancestor that has them, then from aggregate
// (the root of a document ed was cut out of), when not nil.
func idpFromDescriptor(ed, aggregate *xmldsig.Node) (*IdentityProvider, error) {
	idp := &IdentityProvider{EntityID: ed.AttrValue("entityID")}
	if idp.EntityID == "" {
		return nil, errorf(ReasonMalformed, "the EntityDescriptor has no entityID")
	}
	ancestors := func(yield func(*xmldsig.Node) bool) {
		for e := ed; e != nil; e = e.Parent() {
			if !yield(e) {
				return
			}
		}
		if aggregate != nil {
			yield(aggregate)
		}
	}
	for e := range ancestors {
		if v, ok := e.Attr("validUntil"); ok && idp.ValidUntil.IsZero() {
			t, err := parseTime(v)
			if err != nil {
				return nil, errorf(ReasonMalformed, "validUntil %q is not a valid time", v)
			}
			idp.ValidUntil = t
		}
		if v, ok := e.Attr("cacheDuration"); ok && idp.CacheDuration == 0 {
			d, err := parseDuration(v)
			if err != nil {
				return nil, errorf(ReasonMalformed, "cacheDuration %q is not a valid duration", v)
			}
			idp.CacheDuration = d
		}
	}
	desc := ed.Child(nsMD, "IDPSSODescriptor")
	if desc == nil {
		return nil, errorf(ReasonMalformed, "entity %q has no IDPSSODescriptor: it is not an identity provider", idp.EntityID)
	}
	if !strings.Contains(desc.AttrValue("protocolSupportEnumeration"), nsSAMLP) {
		return nil, errorf(ReasonMalformed, "entity %q does not support SAML 2.0 (protocolSupportEnumeration %q)", idp.EntityID, desc.AttrValue("protocolSupportEnumeration"))
	}
	idp.DisplayName = displayName(ed, desc)
	idp.WantAuthnRequestsSigned = desc.AttrValue("WantAuthnRequestsSigned") == "true" || desc.AttrValue("WantAuthnRequestsSigned") == "1"
	for c := desc.FirstChild(); c != nil; c = c.NextSibling() {
		switch {
		case c.Is(nsMD, "KeyDescriptor"):
			use := c.AttrValue("use")
			ki := c.Child(xmldsig.NSDSig, "KeyInfo")
			if ki == nil {
				continue
			}
			for xd := ki.FirstChild(); xd != nil; xd = xd.NextSibling() {
				if !xd.Is(xmldsig.NSDSig, "X509Data") {
					continue
				}
				for xc := xd.FirstChild(); xc != nil; xc = xc.NextSibling() {
					if !xc.Is(xmldsig.NSDSig, "X509Certificate") {
						continue
					}
					der, err := xmldsig.DecodeBase64(xc.TextContent())
					if err != nil {
						return nil, errorf(ReasonMalformed, "a KeyDescriptor's X509Certificate is not valid base64")
					}
					cert, err := x509.ParseCertificate(der)
					if err != nil {
						return nil, &Error{Reason: ReasonMalformed, Message: "a KeyDescriptor's certificate cannot be parsed", Err: err}
					}
					if use == "" || use == "signing" {
						idp.SigningCertificates = appendCert(idp.SigningCertificates, cert)
					}
					if use == "" || use == "encryption" {
						idp.EncryptionCertificates = appendCert(idp.EncryptionCertificates, cert)
					}
				}
			}
		case c.Is(nsMD, "SingleSignOnService"):
			idp.SSO = append(idp.SSO, Endpoint{Binding: c.AttrValue("Binding"), Location: c.AttrValue("Location")})
		case c.Is(nsMD, "SingleLogoutService"):
			idp.SLO = append(idp.SLO, Endpoint{Binding: c.AttrValue("Binding"), Location: c.AttrValue("Location"), ResponseLocation: c.AttrValue("ResponseLocation")})
		case c.Is(nsMD, "ArtifactResolutionService"):
			ep, err := indexedEndpoint(c)
			if err != nil {
				return nil, err
			}
			idp.ArtifactResolution = append(idp.ArtifactResolution, ep)
		case c.Is(nsMD, "NameIDFormat"):
			idp.NameIDFormats = append(idp.NameIDFormats, c.TrimmedText())
		}
	}
	if len(idp.SigningCertificates) == 0 {
		return nil, errorf(ReasonMalformed, "IdP %q publishes no signing certificate in its metadata", idp.EntityID)
	}
	if len(idp.SSO) == 0 {
		return nil, errorf(ReasonMalformed, "IdP %q publishes no SingleSignOnService", idp.EntityID)
	}
	return idp, nil
}

// nsMDUI is the namespace of the metadata's user interface elements.
const nsMDUI = "urn:oasis:names:tc:SAML:metadata:ui"

// maxDisplayNameRunes bounds the display name shown to users: metadata is
// written by others.
const maxDisplayNameRunes = 120

// displayName is the IdP's name for people: the first mdui:DisplayName of
// its descriptor, else the first OrganizationDisplayName of the entity.
func displayName(ed, desc *xmldsig.Node) string {
	text := func(n *xmldsig.Node, path ...[2]string) string {
		for _, p := range path {
			if n == nil {
				return ""
			}
			n = n.Child(p[0], p[1])
		}
		if n == nil {
			return ""
		}
		return n.TrimmedText()
	}
	name := text(desc, [2]string{nsMD, "Extensions"}, [2]string{nsMDUI, "UIInfo"}, [2]string{nsMDUI, "DisplayName"})
	if name == "" {
		name = text(ed, [2]string{nsMD, "Organization"}, [2]string{nsMD, "OrganizationDisplayName"})
	}
	name = strings.Join(strings.Fields(name), " ")
	if r := []rune(name); len(r) > maxDisplayNameRunes {
		name = string(r[:maxDisplayNameRunes]) + "…"
	}
	return name
}

func appendCert(list []*x509.Certificate, c *x509.Certificate) []*x509.Certificate {
	for _, x := range list {
		if x.Equal(c) {
			return list
		}
	}
	return append(list, c)
}

// ExpiringCertificates returns the IdP's signing certificates that expire
// within CertificateExpiryWarning of now (or have expired), for an admin
// warning. Expired certificates are still trusted for signatures: metadata
// is the trust anchor, not the certificate's validity.
func (idp *IdentityProvider) ExpiringCertificates(now time.Time) []*x509.Certificate {
	var out []*x509.Certificate
	for _, c := range idp.SigningCertificates {
		if c.NotAfter.Before(now.Add(CertificateExpiryWarning)) {
			out = append(out, c)
		}
	}
	return out
}

// parseDuration parses an xs:duration such as "PT1H" or "P1DT12H".
func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	if !strings.HasPrefix(s, "P") || len(s) < 3 {
		return 0, fmt.Errorf("bad duration %q", s)
	}
	s = s[1:]
	var d time.Duration
	inTime := false
	for s != "" {
		if s[0] == 'T' {
			inTime = true
			s = s[1:]
			continue
		}
		i := strings.IndexAny(s, "YMWDHS")
		if i <= 0 {
			return 0, fmt.Errorf("bad duration")
		}
		v, err := strconv.ParseFloat(s[:i], 64)
		if err != nil {
			return 0, err
		}
		var unit time.Duration
		switch {
		case s[i] == 'Y':
			unit = 365 * 24 * time.Hour
		case s[i] == 'M' && !inTime:
			unit = 30 * 24 * time.Hour
		case s[i] == 'W':
			unit = 7 * 24 * time.Hour
		case s[i] == 'D':
			unit = 24 * time.Hour
		case s[i] == 'H':
			unit = time.Hour
		case s[i] == 'M':
			unit = time.Minute
		case s[i] == 'S':
			unit = time.Second
		}
		d += time.Duration(v * float64(unit))
		s = s[i+1:]
	}
	if neg {
		d = -d
	}
	return d, nil
}

func formatDuration(d time.Duration) string {
	return "PT" + strconv.FormatInt(int64(d/time.Second), 10) + "S"
}

// EntityIDOptions derives an SP entity ID (see DeriveEntityID).
type EntityIDOptions struct {
	// Explicit, when set, is the entity ID.
	Explicit string
	// BaseURL is Lanyard's public base URL, e.g. "https://sso.example.com".
	BaseURL string
	// Tenant is the tenant slug.
	Tenant string
	// Subdomain, when set, selects the subdomain scheme
	// "https://{subdomain}.{host}/sp" with host taken from BaseURL.
	Subdomain string
}

// DeriveEntityID returns the SP entity ID: the explicit value if set; else
// with a subdomain "https://{subdomain}.{host of BaseURL}/sp"; else the
// tenant's metadata URL "{BaseURL}/t/{tenant}/saml/metadata".
func DeriveEntityID(o EntityIDOptions) (string, error) {
	if o.Explicit != "" {
		return o.Explicit, nil
	}
	u, err := url.Parse(o.BaseURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "", fmt.Errorf("saml: base URL %q is not an absolute http(s) URL", o.BaseURL)
	}
	if o.Subdomain != "" {
		if strings.ContainsAny(o.Subdomain, "./:@ ") {
			return "", fmt.Errorf("saml: subdomain %q is not a single DNS label", o.Subdomain)
		}
		return "https://" + o.Subdomain + "." + u.Host + "/sp", nil
	}
	if o.Tenant == "" {
		return "", errors.New("saml: a tenant is required to derive the entity ID")
	}
	return strings.TrimRight(o.BaseURL, "/") + "/t/" + url.PathEscape(o.Tenant) + "/saml/metadata", nil
}

// SPMetadataOptions controls ServiceProvider.Metadata.
type SPMetadataOptions struct {
	// ValidUntil, when not zero, is published as validUntil.
	ValidUntil time.Time
	// CacheDuration, when not zero, is published as cacheDuration.
	CacheDuration time.Duration
	// Sign signs the metadata with the first signing key.
	Sign bool
}

// Metadata returns the SP's metadata (an md:EntityDescriptor with an
// SPSSODescriptor): ACS (HTTP-POST), SLO (HTTP-Redirect and HTTP-POST),
// NameID formats, and a KeyDescriptor for every signing and encryption
// certificate (all of them, for rollover).
func (sp *ServiceProvider) Metadata(o SPMetadataOptions) ([]byte, error) {
	if _, err := sp.prepared(); err != nil {
		return nil, err
	}
	var b strings.Builder
	id := newID()
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<md:EntityDescriptor xmlns:md="` + nsMD + `" xmlns:ds="` + xmldsig.NSDSig + `" entityID="` + xmlEscape(sp.EntityID) + `" ID="` + id + `"`)
	if !o.ValidUntil.IsZero() {
		b.WriteString(` validUntil="` + o.ValidUntil.UTC().Format(timeLayoutSAML) + `"`)
	}
	if o.CacheDuration > 0 {
		b.WriteString(` cacheDuration="` + formatDuration(o.CacheDuration) + `"`)
	}
	b.WriteString(`>`)
	if o.Sign {
		b.WriteString(xmldsig.SignatureMarker)
	}
	signed := "false"
	if len(sp.SigningKeys) > 0 {
		signed = "true"
	}
	b.WriteString(`<md:SPSSODescriptor AuthnRequestsSigned="` + signed + `" WantAssertionsSigned="true" protocolSupportEnumeration="` + nsSAMLP + `">`)
	keyDesc := func(use string, kp KeyPair) {
		b.WriteString(`<md:KeyDescriptor use="` + use + `"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>` + base64.StdEncoding.EncodeToString(kp.Certificate.Raw) + `</ds:X509Certificate></ds:X509Data></ds:KeyInfo>`)
		if use == "encryption" {
			for _, a := range []string{xmldsig.AlgAES256GCM, xmldsig.AlgAES128GCM, xmldsig.AlgAES256CBC, xmldsig.AlgAES128CBC, xmldsig.AlgRSAOAEP11, xmldsig.AlgRSAOAEP} {
				b.WriteString(`<md:EncryptionMethod Algorithm="` + a + `"/>`)
			}
		}
		b.WriteString(`</md:KeyDescriptor>`)
	}
	for _, kp := range sp.SigningKeys {
		keyDesc("signing", kp)
	}
	for _, kp := range sp.encryptionKeys() {
		if kp.Certificate != nil {
			keyDesc("encryption", kp)
		}
	}
	if sp.SLOURL != "" {
		b.WriteString(`<md:SingleLogoutService Binding="` + BindingHTTPRedirect + `" Location="` + xmlEscape(sp.SLOURL) + `"/>`)
		b.WriteString(`<md:SingleLogoutService Binding="` + BindingHTTPPOST + `" Location="` + xmlEscape(sp.SLOURL) + `"/>`)
	}
	for _, f := range sp.NameIDFormats {
		b.WriteString(`<md:NameIDFormat>` + xmlEscape(f) + `</md:NameIDFormat>`)
	}
	b.WriteString(`<md:AssertionConsumerService Binding="` + BindingHTTPPOST + `" Location="` + xmlEscape(sp.ACSURL) + `" index="0" isDefault="true"/>`)
	if sp.ArtifactACS {
		b.WriteString(`<md:AssertionConsumerService Binding="` + BindingHTTPArtifact + `" Location="` + xmlEscape(sp.ACSURL) + `" index="` + strconv.Itoa(artifactACSIndex) + `"/>`)
	}
	b.WriteString(`</md:SPSSODescriptor></md:EntityDescriptor>`)
	out := b.String()
	if o.Sign {
		if len(sp.SigningKeys) == 0 {
			return nil, errors.New("saml: cannot sign metadata: no signing key configured")
		}
		var err error
		out, err = signEnveloped(out, id, sp.SigningKeys[0])
		if err != nil {
			return nil, err
		}
	}
	return []byte(out), nil
}

// newID returns a random xs:ID ("_" and 40 hex digits: 160 bits).
func newID() string {
	var b [20]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return "_" + hex.EncodeToString(b[:])
}

var xmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;")

func xmlEscape(s string) string { return xmlEscaper.Replace(s) }
