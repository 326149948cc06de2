package admin

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/saml"
)

// IdP connections: import from a file, pasted XML or a URL; refresh from
// the URL; list; remove.
//
// What is stored as MetadataXML: when the document is a single
// EntityDescriptor it is kept verbatim (signature and extensions included,
// so an administrator can read what the IdP published). When it is a
// federation aggregate (an EntitiesDescriptor, often tens of megabytes) only
// the chosen IdP is kept, as an EntityDescriptor rebuilt from what was
// parsed (see extractedMetadata): every node reloads a few kilobytes instead
// of the federation, and the copy holds exactly what Lanyard trusts.

// MaxMetadataSize bounds an uploaded metadata document: whole federation
// aggregates (eduGAIN, InCommon) run to tens of megabytes. Fetched
// documents have the fetcher's own bound (idpsync.DefaultMaxSize).
const MaxMetadataSize = saml.DefaultMaxMetadataSize

// MetadataFetcher fetches a metadata document from a URL. The admin package
// does no networking itself; package idpsync provides the HTTP fetcher.
type MetadataFetcher interface {
	// FetchMetadata returns the document at rawURL, or an error that says
	// what went wrong (status, size, timeout) and what to check.
	FetchMetadata(ctx context.Context, rawURL string) ([]byte, error)
}

// IdPSource says where an IdP's metadata comes from and how to trust it.
// Exactly one of Metadata and URL is set.
type IdPSource struct {
	// Metadata is the document itself: an uploaded file or pasted XML.
	Metadata []byte
	// URL is fetched with Options.Fetcher (http or https) and kept as the
	// connection's SourceURL, from which the metadata is refreshed.
	URL string
	// EntityID picks the IdP out of an EntitiesDescriptor (required when
	// the document holds several IdPs); with a single EntityDescriptor it
	// must match when set.
	EntityID string
	// LegacySHA1 accepts RSA-SHA1 signatures from the IdP (and on its
	// metadata). Default false: SHA-1 is refused.
	LegacySHA1 bool
	// LegacyEncryption accepts encrypted assertions and identifiers with
	// 3DES-CBC or RSA PKCS#1 v1.5 key transport from the IdP. Default
	// false: both are refused; turning it on adds an import warning.
	LegacyEncryption bool
	// PinnedCertsPEM, when set, holds one or more PEM certificates: the
	// metadata must carry a signature by one of them, now and on every
	// refresh.
	PinnedCertsPEM []byte
	// describeAs, when set, names the source instead of "uploaded
	// metadata" (an IdP configured by hand).
	describeAs string
}

// describe names the source in messages and audit events.
func (src IdPSource) describe() string {
	if src.URL != "" {
		return src.URL
	}
	if src.describeAs != "" {
		return src.describeAs
	}
	return "uploaded metadata"
}

// ImportIdP connects the tenant to the IdP described by the metadata in
// src, or replaces the connection with the same entity ID (upsert; the
// audit message says which signing certificates were added and removed).
// It returns the connection and warnings for the administrator:
// certificates that expire within 30 days or have expired, metadata past
// its validUntil, and no SSO endpoint for HTTP-Redirect or HTTP-POST. A
// failed import writes nothing; its error says what is wrong and what to do.
func (s *Service) ImportIdP(ctx context.Context, actor, tenantSlug string, src IdPSource) (lanyard.IdPConnection, []string, error) {
	t, err := s.Tenant(ctx, tenantSlug)
	if err != nil {
		return lanyard.IdPConnection{}, nil, err
	}
	pins, err := parsePinnedCerts(src.PinnedCertsPEM)
	if err != nil {
		return lanyard.IdPConnection{}, nil, err
	}
	data, err := s.readSource(ctx, src)
	if err != nil {
		return lanyard.IdPConnection{}, nil, err
	}
	parsed, err := parseMetadata(data, src.EntityID, pins, src.LegacySHA1)
	if err != nil {
		return lanyard.IdPConnection{}, nil, err
	}
	now := s.now()
	conn := lanyard.IdPConnection{
		TenantID:         t.ID,
		EntityID:         parsed.idp.EntityID,
		MetadataXML:      parsed.stored,
		SourceURL:        src.URL,
		SigningCerts:     certsPEM(parsed.idp.SigningCertificates),
		MetadataSigners:  certsPEM(pins),
		LegacySHA1:       src.LegacySHA1,
		LegacyEncryption: src.LegacyEncryption,
		RefreshedAt:      now,
	}
	warnings := idpWarnings(parsed.idp, now)
	if conn.LegacyEncryption {
		warnings = append(warnings, LegacyEncryptionWarning)
	}

	var replaced bool
	err = s.store.Atomic(ctx, func(tx lanyard.Store) error {
		old, err := tx.IdP(ctx, t.ID, conn.EntityID)
		switch {
		case errors.Is(err, lanyard.ErrNotFound):
			replaced = false
		case err != nil:
			return err
		default:
			replaced = true
		}
		if err := tx.PutIdP(ctx, &conn); err != nil {
			return err
		}
		var msg string
		if replaced {
			msg = fmt.Sprintf("re-imported IdP %s from %s: %s", conn.EntityID, src.describe(), describeIdPChange(old, conn))
		} else {
			msg = fmt.Sprintf("imported IdP %s from %s with %s", conn.EntityID, src.describe(), describeCerts(parsed.idp.SigningCertificates))
		}
		return s.audit(ctx, tx, lanyard.AuditEvent{
			TenantID: t.ID,
			Actor:    actor,
			Action:   "idp.import",
			Subject:  conn.EntityID,
			Message:  msg,
			Detail:   map[string]string{"source": src.describe()},
		})
	})
	if err != nil {
		return lanyard.IdPConnection{}, nil, fmt.Errorf("import IdP %s into tenant %s: %w", conn.EntityID, t.Slug, err)
	}
	s.logChange(ctx, "idp.import", actor, "tenant", t.Slug, "entity_id", conn.EntityID, "replaced", replaced, "warnings", len(warnings))
	return conn, warnings, nil
}

// readSource returns the metadata bytes of src, fetching its URL.
func (s *Service) readSource(ctx context.Context, src IdPSource) ([]byte, error) {
	switch {
	case len(src.Metadata) > 0 && src.URL != "":
		return nil, invalidf("give the IdP metadata either as a document or as a URL, not both")
	case len(src.Metadata) > 0:
		if len(src.Metadata) > MaxMetadataSize {
			return nil, invalidf("the metadata is %d bytes, more than the %d MiB allowed; pick the IdP's own metadata rather than a whole federation", len(src.Metadata), MaxMetadataSize>>20)
		}
		return src.Metadata, nil
	case src.URL != "":
		if err := CheckMetadataURL(src.URL); err != nil {
			return nil, err
		}
		return s.fetch(ctx, src.URL)
	}
	return nil, invalidf("no IdP metadata given: pass a file, pasted XML or an http(s) URL")
}

// fetch gets a metadata document with the configured fetcher.
func (s *Service) fetch(ctx context.Context, rawURL string) ([]byte, error) {
	if s.fetcher == nil {
		return nil, errorf(lanyard.KindUnavailable, nil, "this Lanyard cannot fetch metadata from URLs (no fetcher configured); download %s and import the file instead", rawURL)
	}
	data, err := s.fetcher.FetchMetadata(ctx, rawURL)
	if err != nil {
		if lanyard.ErrorKind(err) != lanyard.KindInternal {
			return nil, err
		}
		return nil, errorf(lanyard.KindUnavailable, err, "cannot fetch the metadata from %s: %v; check the URL opens from this server, or download it and import the file", rawURL, err)
	}
	return data, nil
}

// CheckMetadataURL accepts an absolute http or https URL with a host.
func CheckMetadataURL(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return invalidf("metadata URL %q is not a valid URL: %v", rawURL, err)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return invalidf("metadata URL %q must start with https:// (or http://); to import a file, give its path", rawURL)
	}
	if u.Host == "" {
		return invalidf("metadata URL %q has no host", rawURL)
	}
	return nil
}

// parsePinnedCerts reads PEM certificates; empty input means none.
func parsePinnedCerts(data []byte) ([]*x509.Certificate, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil
	}
	var certs []*x509.Certificate
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, errorf(lanyard.KindInvalid, err, "the pinned certificate cannot be parsed (%v); give the PEM file of the certificate that signs the metadata", err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, invalidf("the pinned certificate file holds no PEM certificate (-----BEGIN CERTIFICATE-----); give the certificate that signs the metadata")
	}
	return certs, nil
}

// parsedMetadata is the IdP read from a metadata document and the copy
// of it to store.
type parsedMetadata struct {
	idp    *saml.IdentityProvider
	stored string
}

// parseMetadata parses data with the saml package and chooses what to
// store (see the comment at the top of this file). Refusals are
// KindInvalid errors naming the problem; a document with several IdPs and
// no entityID lists some of them.
func parseMetadata(data []byte, entityID string, pins []*x509.Certificate, legacySHA1 bool) (parsedMetadata, error) {
	idp, err := saml.ParseIdPMetadata(data, saml.MetadataOptions{
		EntityID:   entityID,
		VerifyWith: pins,
		AllowSHA1:  legacySHA1,
		MaxSize:    MaxMetadataSize,
	})
	if err != nil {
		return parsedMetadata{}, explainMetadataError(data, entityID, pins, err)
	}
	if !isEntitiesDescriptor(data) {
		return parsedMetadata{idp: idp, stored: string(data)}, nil
	}
	stored := extractedMetadata(idp)
	// The rebuilt copy must read back as the same IdP.
	back, err := saml.ParseIdPMetadata([]byte(stored), saml.MetadataOptions{EntityID: idp.EntityID, AllowSHA1: legacySHA1})
	if err != nil {
		return parsedMetadata{}, fmt.Errorf("rebuild metadata of %s: %w", idp.EntityID, err)
	}
	if !slices.EqualFunc(back.SigningCertificates, idp.SigningCertificates, (*x509.Certificate).Equal) {
		return parsedMetadata{}, fmt.Errorf("rebuild metadata of %s: the signing certificates differ", idp.EntityID)
	}
	return parsedMetadata{idp: idp, stored: stored}, nil
}

// explainMetadataError turns a refusal of ParseIdPMetadata into a message
// for an administrator.
func explainMetadataError(data []byte, entityID string, pins []*x509.Certificate, err error) error {
	var se *saml.Error
	if !errors.As(err, &se) {
		return fmt.Errorf("parse IdP metadata: %w", err)
	}
	if isEntitiesDescriptor(data) {
		ids, total := idpEntityIDs(data, 5)
		found := ""
		if total > 0 {
			found = fmt.Sprintf(" (it holds %d IdPs, e.g. %s)", total, strings.Join(ids, ", "))
		}
		switch {
		case entityID == "" && total > 1:
			return errorf(lanyard.KindInvalid, err, "the metadata is a federation file with %d IdPs, e.g. %s; choose one with --entity-id", total, strings.Join(ids, ", "))
		case entityID != "" && se.Reason == saml.ReasonMalformed && strings.Contains(se.Message, "no IdP with entity ID"):
			return errorf(lanyard.KindInvalid, err, "the metadata holds no IdP with entity ID %q%s; check --entity-id", entityID, found)
		}
	}
	hint := "check that it is the IdP's SAML 2.0 metadata"
	switch se.Reason {
	case saml.ReasonUnsigned, saml.ReasonSignatureInvalid, saml.ReasonUntrustedKey:
		if len(pins) > 0 {
			hint = "check that the pinned certificate is the one that signs this metadata, or import without --pin-cert"
		}
	case saml.ReasonSHA1Refused:
		hint = "the metadata is signed with SHA-1; ask for SHA-256, or import with --legacy-sha1"
	case saml.ReasonTooLarge:
		hint = "import the IdP's own metadata rather than a whole federation"
	case saml.ReasonIssuerMismatch:
		hint = "check --entity-id, or leave it out"
	}
	return errorf(lanyard.KindInvalid, err, "IdP metadata refused: %s; %s", se.Message, hint)
}

// isEntitiesDescriptor reports whether the root element of the document is
// an EntitiesDescriptor (in any prefix).
func isEntitiesDescriptor(data []byte) bool {
	for i := 0; i < len(data); {
		j := bytes.IndexByte(data[i:], '<')
		if j < 0 {
			return false
		}
		i += j + 1
		if i < len(data) && (data[i] == '?' || data[i] == '!') {
			continue // declaration, comment
		}
		end := bytes.IndexAny(data[i:], " \t\r\n/>")
		if end < 0 {
			return false
		}
		name := data[i : i+end]
		if k := bytes.IndexByte(name, ':'); k >= 0 {
			name = name[k+1:]
		}
		return string(name) == "EntitiesDescriptor"
	}
	return false
}

// idpEntityIDs finds, by a byte scan, the entity IDs of the IdPs in an
// aggregate (EntityDescriptors holding an IDPSSODescriptor): the first
// limit of them and how many there are. It is a hint for error messages
// only, never trusted.
func idpEntityIDs(data []byte, limit int) (ids []string, total int) {
	seen := map[string]bool{}
	for off := 0; ; {
		i := bytes.Index(data[off:], []byte("IDPSSODescriptor"))
		if i < 0 {
			break
		}
		i += off
		off = i + len("IDPSSODescriptor")
		if !isStartTagName(data, i) {
			continue // an end tag, or text
		}
		// The start tag of the enclosing EntityDescriptor.
		for ed := i; ; {
			ed = bytes.LastIndex(data[:ed], []byte("EntityDescriptor"))
			if ed < 0 {
				break
			}
			if !isStartTagName(data, ed) {
				continue
			}
			tagEnd := bytes.IndexByte(data[ed:], '>')
			if tagEnd < 0 {
				break
			}
			m := entityIDAttr.FindSubmatch(data[ed : ed+tagEnd])
			if m == nil || seen[string(m[2])] {
				break
			}
			seen[string(m[2])] = true
			total++
			if len(ids) < limit {
				ids = append(ids, string(m[2]))
			}
			break
		}
	}
	return ids, total
}

// entityIDAttr matches the entityID attribute in a start tag.
var entityIDAttr = regexp.MustCompile(`\sentityID\s*=\s*(["'])([^"']*)["']`)

// isStartTagName reports whether the name at data[i:] is the (local) name
// of a start tag: preceded by "<" or by "<prefix:".
func isStartTagName(data []byte, i int) bool {
	if i == 0 {
		return false
	}
	if data[i-1] == '<' {
		return true
	}
	if data[i-1] != ':' {
		return false
	}
	lt := bytes.LastIndexByte(data[:i], '<')
	return lt >= 0 && lt+1 < i && data[lt+1] != '/' && !bytes.ContainsAny(data[lt+1:i], " \t\r\n>")
}

// extractedMetadata rebuilds an EntityDescriptor holding what Lanyard uses
// of idp: entity ID, validity, signing certificates, SSO, SLO and
// ArtifactResolutionService endpoints (with their indexes), NameID formats.
func extractedMetadata(idp *saml.IdentityProvider) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<!-- Extracted by Lanyard from a federation aggregate: only this IdP, as parsed. -->` + "\n")
	b.WriteString(`<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="` + xmlAttr(idp.EntityID) + `"`)
	if !idp.ValidUntil.IsZero() {
		b.WriteString(` validUntil="` + idp.ValidUntil.UTC().Format(time.RFC3339) + `"`)
	}
	if idp.CacheDuration > 0 {
		fmt.Fprintf(&b, ` cacheDuration="PT%dS"`, int64(idp.CacheDuration/time.Second))
	}
	b.WriteString(">\n")
	b.WriteString(`  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"`)
	if idp.WantAuthnRequestsSigned {
		b.WriteString(` WantAuthnRequestsSigned="true"`)
	}
	b.WriteString(">\n")
	writeKeys := func(use string, certs []*x509.Certificate) {
		for _, c := range certs {
			b.WriteString(`    <md:KeyDescriptor use="` + use + `"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>`)
			b.WriteString(base64.StdEncoding.EncodeToString(c.Raw))
			b.WriteString("</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>\n")
		}
	}
	writeKeys("signing", idp.SigningCertificates)
	writeKeys("encryption", idp.EncryptionCertificates)
	for _, e := range idp.ArtifactResolution {
		fmt.Fprintf(&b, `    <md:ArtifactResolutionService Binding="%s" Location="%s" index="%d"`, xmlAttr(e.Binding), xmlAttr(e.Location), e.Index)
		if e.IsDefault {
			b.WriteString(` isDefault="true"`)
		}
		b.WriteString("/>\n")
	}
	for _, e := range idp.SLO {
		b.WriteString(`    <md:SingleLogoutService Binding="` + xmlAttr(e.Binding) + `" Location="` + xmlAttr(e.Location) + `"`)
		if e.ResponseLocation != "" {
			b.WriteString(` ResponseLocation="` + xmlAttr(e.ResponseLocation) + `"`)
		}
		b.WriteString("/>\n")
	}
	for _, f := range idp.NameIDFormats {
		b.WriteString(`    <md:NameIDFormat>` + xmlAttr(f) + "</md:NameIDFormat>\n")
	}
	for _, e := range idp.SSO {
		b.WriteString(`    <md:SingleSignOnService Binding="` + xmlAttr(e.Binding) + `" Location="` + xmlAttr(e.Location) + `"/>` + "\n")
	}
	b.WriteString("  </md:IDPSSODescriptor>\n</md:EntityDescriptor>\n")
	return b.String()
}

var xmlAttrEscaper = strings.NewReplacer(`&`, "&amp;", `<`, "&lt;", `>`, "&gt;", `"`, "&quot;", "'", "&apos;", "\n", "&#xA;", "\r", "&#xD;", "\t", "&#x9;")

// xmlAttr escapes s for an attribute value or text.
func xmlAttr(s string) string { return xmlAttrEscaper.Replace(s) }

// certsPEM encodes certificates as PEM.
func certsPEM(certs []*x509.Certificate) []string {
	var out []string
	for _, c := range certs {
		out = append(out, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})))
	}
	return out
}

// idpWarnings lists what an administrator should act on after an import
// or a refresh.
func idpWarnings(idp *saml.IdentityProvider, now time.Time) []string {
	var out []string
	for _, c := range idp.ExpiringCertificates(now) {
		if c.NotAfter.Before(now) {
			out = append(out, fmt.Sprintf("signing certificate %s expired on %s; it is still trusted as the metadata says, but ask the IdP administrator for its successor",
				saml.Fingerprint(c), c.NotAfter.UTC().Format("2006-01-02")))
			continue
		}
		left := fmt.Sprintf("%d days", int(math.Round(c.NotAfter.Sub(now).Hours()/24)))
		if c.NotAfter.Sub(now) < 48*time.Hour {
			left = fmt.Sprintf("%d hours", int(c.NotAfter.Sub(now).Hours()))
		}
		out = append(out, fmt.Sprintf("signing certificate %s expires on %s (in %s); import the metadata again once the IdP publishes the next certificate",
			saml.Fingerprint(c), c.NotAfter.UTC().Format("2006-01-02 15:04 UTC"), left))
	}
	if !idp.ValidUntil.IsZero() && idp.ValidUntil.Before(now) {
		out = append(out, fmt.Sprintf("the metadata was valid until %s; ask the IdP for a current copy", idp.ValidUntil.UTC().Format(time.RFC3339)))
	}
	if !hasBrowserSSO(idp) {
		var bindings []string
		for _, e := range idp.SSO {
			bindings = append(bindings, e.Binding)
		}
		out = append(out, fmt.Sprintf("the IdP publishes no SingleSignOnService for HTTP-Redirect or HTTP-POST (only %s): SP-initiated login cannot start; IdP-initiated login may still work",
			strings.Join(bindings, ", ")))
	}
	return out
}

// LegacyEncryptionWarning is shown on import and in the admin UI while an
// IdP's legacy encryption opt-in is on.
const LegacyEncryptionWarning = "legacy encryption is on for this IdP: 3DES-CBC and RSA PKCS#1 v1.5 (rsa-1_5) key transport are accepted from it, which are weak (64-bit blocks; Bleichenbacher attacks on the SP key); configure the IdP to use AES-GCM and RSA-OAEP, then import it again without legacy encryption"

// hasBrowserSSO reports whether the IdP accepts AuthnRequests over a
// binding Lanyard sends.
func hasBrowserSSO(idp *saml.IdentityProvider) bool {
	for _, e := range idp.SSO {
		if e.Binding == saml.BindingHTTPRedirect || e.Binding == saml.BindingHTTPPOST {
			return true
		}
	}
	return false
}

// describeCerts names certificates by fingerprint and expiry.
func describeCerts(certs []*x509.Certificate) string {
	if len(certs) == 0 {
		return "no signing certificate"
	}
	parts := make([]string, len(certs))
	for i, c := range certs {
		parts[i] = fmt.Sprintf("%s (expires %s)", saml.Fingerprint(c), c.NotAfter.UTC().Format("2006-01-02"))
	}
	noun := "signing certificate"
	if len(certs) > 1 {
		noun = fmt.Sprintf("%d signing certificates", len(certs))
	}
	return noun + " " + strings.Join(parts, ", ")
}

// pemCerts parses stored PEM certificates, skipping unreadable ones.
func pemCerts(pems []string) []*x509.Certificate {
	var out []*x509.Certificate
	for _, p := range pems {
		block, _ := pem.Decode([]byte(p))
		if block == nil {
			continue
		}
		if c, err := x509.ParseCertificate(block.Bytes); err == nil {
			out = append(out, c)
		}
	}
	return out
}

// describeIdPChange says what differs between two versions of a
// connection: signing certificates added and removed, metadata, source,
// the SHA-1 and pinning settings.
func describeIdPChange(old, cur lanyard.IdPConnection) string {
	var changes []string
	oldFP, curFP := fingerprints(pemCerts(old.SigningCerts)), fingerprints(pemCerts(cur.SigningCerts))
	var added, removed []string
	for _, f := range curFP {
		if !slices.Contains(oldFP, f) {
			added = append(added, f)
		}
	}
	for _, f := range oldFP {
		if !slices.Contains(curFP, f) {
			removed = append(removed, f)
		}
	}
	if len(added) > 0 {
		changes = append(changes, "signing certificates added: "+strings.Join(added, ", "))
	}
	if len(removed) > 0 {
		changes = append(changes, "signing certificates removed: "+strings.Join(removed, ", "))
	}
	if len(added) == 0 && len(removed) == 0 && old.MetadataXML != cur.MetadataXML {
		changes = append(changes, "metadata changed (same signing certificates)")
	}
	if old.SourceURL != cur.SourceURL {
		changes = append(changes, fmt.Sprintf("source %s → %s", orNone(old.SourceURL), orNone(cur.SourceURL)))
	}
	if old.LegacySHA1 != cur.LegacySHA1 {
		changes = append(changes, fmt.Sprintf("legacy SHA-1 %t → %t", old.LegacySHA1, cur.LegacySHA1))
	}
	if old.LegacyEncryption != cur.LegacyEncryption {
		changes = append(changes, fmt.Sprintf("legacy encryption %t → %t", old.LegacyEncryption, cur.LegacyEncryption))
	}
	if !slices.Equal(old.MetadataSigners, cur.MetadataSigners) {
		changes = append(changes, fmt.Sprintf("pinned metadata signers: %d → %d", len(old.MetadataSigners), len(cur.MetadataSigners)))
	}
	if len(changes) == 0 {
		return "nothing changed"
	}
	return strings.Join(changes, "; ")
}

func fingerprints(certs []*x509.Certificate) []string {
	out := make([]string, len(certs))
	for i, c := range certs {
		out[i] = saml.Fingerprint(c)
	}
	return out
}

func orNone(s string) string {
	if s == "" {
		return "(file)"
	}
	return s
}

// IdPs lists a tenant's IdP connections by entity ID.
func (s *Service) IdPs(ctx context.Context, tenantSlug string) ([]lanyard.IdPConnection, error) {
	t, err := s.Tenant(ctx, tenantSlug)
	if err != nil {
		return nil, err
	}
	list, err := s.store.IdPs(ctx, t.ID)
	if err != nil {
		return nil, fmt.Errorf("list IdPs of tenant %s: %w", t.Slug, err)
	}
	return list, nil
}

// IdP returns a tenant's connection to the IdP with the entity ID; an
// unknown one is a KindNotFound error that says how to list them.
func (s *Service) IdP(ctx context.Context, tenantSlug, entityID string) (lanyard.IdPConnection, error) {
	t, err := s.Tenant(ctx, tenantSlug)
	if err != nil {
		return lanyard.IdPConnection{}, err
	}
	return s.idpOf(ctx, t, entityID)
}

func (s *Service) idpOf(ctx context.Context, t lanyard.Tenant, entityID string) (lanyard.IdPConnection, error) {
	c, err := s.store.IdP(ctx, t.ID, strings.TrimSpace(entityID))
	if errors.Is(err, lanyard.ErrNotFound) {
		return c, errorf(lanyard.KindNotFound, err, "tenant %s has no IdP %q; list them with: lanyard idp list --tenant %s", t.Slug, entityID, t.Slug)
	}
	if err != nil {
		return c, fmt.Errorf("IdP %s of tenant %s: %w", entityID, t.Slug, err)
	}
	return c, nil
}

// DeleteIdP removes a tenant's connection to an IdP. Users linked to its
// identities keep their accounts; they cannot log in through that IdP
// until it is imported again.
func (s *Service) DeleteIdP(ctx context.Context, actor, tenantSlug, entityID string) error {
	t, err := s.Tenant(ctx, tenantSlug)
	if err != nil {
		return err
	}
	c, err := s.idpOf(ctx, t, entityID)
	if err != nil {
		return err
	}
	err = s.store.Atomic(ctx, func(tx lanyard.Store) error {
		if err := tx.DeleteIdP(ctx, c.ID); err != nil {
			return err
		}
		return s.audit(ctx, tx, lanyard.AuditEvent{
			TenantID: t.ID,
			Actor:    actor,
			Action:   "idp.delete",
			Subject:  c.EntityID,
			Message:  fmt.Sprintf("removed IdP %s (%s)", c.EntityID, describeCerts(pemCerts(c.SigningCerts))),
		})
	})
	if errors.Is(err, lanyard.ErrNotFound) {
		return errorf(lanyard.KindNotFound, err, "tenant %s has no IdP %q (removed meanwhile)", t.Slug, c.EntityID)
	}
	if err != nil {
		return fmt.Errorf("remove IdP %s from tenant %s: %w", c.EntityID, t.Slug, err)
	}
	s.logChange(ctx, "idp.delete", actor, "tenant", t.Slug, "entity_id", c.EntityID)
	return nil
}

// IdPDetails is what an administrator reads about a connection, parsed
// from its stored metadata.
type IdPDetails struct {
	SSO, SLO []saml.Endpoint
	// ArtifactResolution are the IdP's ArtifactResolutionService
	// endpoints (the tenant setting artifact_binding uses them).
	ArtifactResolution []saml.IndexedEndpoint
	Certificates       []CertificateInfo
	// ValidUntil and CacheDuration from the metadata, if any.
	ValidUntil    time.Time
	CacheDuration time.Duration
	// Problem is why the stored metadata cannot be read, if it cannot.
	Problem string
}

// CertificateInfo describes a signing certificate.
type CertificateInfo struct {
	Fingerprint string // SHA-256, colon-separated hex
	Subject     string
	NotAfter    time.Time
}

// DescribeIdP parses a connection's stored metadata for display.
func DescribeIdP(c lanyard.IdPConnection) IdPDetails {
	idp, err := saml.ParseIdPMetadata([]byte(c.MetadataXML), saml.MetadataOptions{EntityID: c.EntityID, AllowSHA1: c.LegacySHA1, MaxSize: MaxMetadataSize})
	if err != nil {
		return IdPDetails{Problem: err.Error()}
	}
	d := IdPDetails{SSO: idp.SSO, SLO: idp.SLO, ArtifactResolution: idp.ArtifactResolution, ValidUntil: idp.ValidUntil, CacheDuration: idp.CacheDuration}
	for _, cert := range idp.SigningCertificates {
		d.Certificates = append(d.Certificates, CertificateInfo{Fingerprint: saml.Fingerprint(cert), Subject: cert.Subject.String(), NotAfter: cert.NotAfter})
	}
	return d
}

// EarliestExpiry returns the earliest NotAfter of the certificates, zero
// when there are none.
func (d IdPDetails) EarliestExpiry() time.Time {
	var t time.Time
	for _, c := range d.Certificates {
		if t.IsZero() || c.NotAfter.Before(t) {
			t = c.NotAfter
		}
	}
	return t
}

// certificateWarningWindow is how long before expiry a certificate is
// flagged.
const certificateWarningWindow = 30 * 24 * time.Hour

// CertificateWarning says whether a certificate valid until notAfter has
// expired at now ("expired") or expires within 30 days ("expires in N
// days"); "" otherwise.
func CertificateWarning(notAfter, now time.Time) string {
	switch {
	case !notAfter.After(now):
		return "expired"
	case notAfter.Sub(now) < certificateWarningWindow:
		return fmt.Sprintf("expires in %d days", int(notAfter.Sub(now).Hours()/24)+1)
	}
	return ""
}
