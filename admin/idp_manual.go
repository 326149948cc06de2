package admin

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"net/url"
	"strings"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/saml"
)

// ManualIdP is an IdP that hands out no metadata, only its entity ID, a
// URL and a certificate: Lanyard writes the metadata from these values and
// imports it like any other, so the connection behaves exactly as an
// imported one (and can later be replaced by importing real metadata).
type ManualIdP struct {
	EntityID string
	// SSOURL is the IdP's single sign-on endpoint; SSOBinding its binding:
	// "redirect" (HTTP-Redirect, the default) or "post" (HTTP-POST), or
	// the binding's URI.
	SSOURL, SSOBinding string
	// SLOURL is the IdP's single logout endpoint (HTTP-Redirect); empty
	// when it has none.
	SLOURL string
	// SigningCertsPEM holds one or more PEM certificates the IdP signs with
	// (several during its own rollover).
	SigningCertsPEM []byte
	LegacySHA1      bool
}

// bindingURI reads a binding as typed by a person.
func bindingURI(b string) (string, bool) {
	switch strings.ToLower(strings.TrimSpace(b)) {
	case "", "redirect", "http-redirect", strings.ToLower(saml.BindingHTTPRedirect):
		return saml.BindingHTTPRedirect, true
	case "post", "http-post", strings.ToLower(saml.BindingHTTPPOST):
		return saml.BindingHTTPPOST, true
	}
	return "", false
}

// AddManualIdP connects the tenant to an IdP configured by hand, or
// replaces the connection with the same entity ID. Every problem with the
// values is reported at once.
func (s *Service) AddManualIdP(ctx context.Context, actor, slug string, m ManualIdP) (lanyard.IdPConnection, []string, error) {
	var c lanyard.ValidationError
	require := func(ok bool, problem string) {
		if !ok {
			c.Add("%s", problem)
		}
	}
	m.EntityID = strings.TrimSpace(m.EntityID)
	require(m.EntityID != "", "entity_id: give the IdP's entity ID (its Issuer, often a URL)")
	checkURL := func(field, raw string, required bool) {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			require(!required, field+": give the URL")
			return
		}
		u, err := url.Parse(raw)
		require(err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "", field+": "+raw+" is not an http(s) URL")
	}
	checkURL("sso_url", m.SSOURL, true)
	checkURL("slo_url", m.SLOURL, false)
	binding, ok := bindingURI(m.SSOBinding)
	require(ok, "sso_binding: "+m.SSOBinding+" is not a binding: use redirect or post")
	certs, certProblem := pemCertificates(m.SigningCertsPEM)
	require(certProblem == "", "signing_certs: "+certProblem)
	if err := c.Err(); err != nil {
		return lanyard.IdPConnection{}, nil, err
	}
	idp := &saml.IdentityProvider{
		EntityID:            m.EntityID,
		SSO:                 []saml.Endpoint{{Binding: binding, Location: strings.TrimSpace(m.SSOURL)}},
		SigningCertificates: certs,
	}
	if slo := strings.TrimSpace(m.SLOURL); slo != "" {
		idp.SLO = []saml.Endpoint{{Binding: saml.BindingHTTPRedirect, Location: slo}}
	}
	doc := strings.Replace(extractedMetadata(idp),
		"<!-- Extracted by Lanyard from a federation aggregate: only this IdP, as parsed. -->",
		"<!-- Written by Lanyard from values configured by hand: the IdP publishes no metadata. -->", 1)
	return s.ImportIdP(ctx, actor, slug, IdPSource{Metadata: []byte(doc), EntityID: m.EntityID, LegacySHA1: m.LegacySHA1, describeAs: "values configured by hand"})
}

// pemCertificates reads every CERTIFICATE block of data; the problem says
// what is wrong, "" when all is well.
func pemCertificates(data []byte) ([]*x509.Certificate, string) {
	var out []*x509.Certificate
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, "a certificate cannot be read (" + err.Error() + "): give the IdP's signing certificate in PEM"
		}
		out = append(out, cert)
	}
	if len(out) == 0 {
		return nil, "give at least one PEM signing certificate of the IdP (-----BEGIN CERTIFICATE-----; the IdP console offers it for download, often as .cer or .pem)"
	}
	return out, ""
}
