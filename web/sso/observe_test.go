package sso

import (
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard/saml"
)

// Responses shaped like Entra ID's and ADFS's (element layout and claim
// names from their documentation; values made up), decoded.
const (
	entraShaped = `<samlp:Response ID="_e1" Version="2.0" IssueInstant="2026-12-01T12:00:42Z" Destination="https://sso.example.com/t/acme/saml/acs" xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">` +
		`<Issuer xmlns="urn:oasis:names:tc:SAML:2.0:assertion">https://sts.windows.net/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/</Issuer>` +
		`<Assertion ID="_a1" IssueInstant="2026-12-01T12:00:42Z" Version="2.0" xmlns="urn:oasis:names:tc:SAML:2.0:assertion"><Issuer>https://sts.windows.net/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/</Issuer>` +
		`<Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo><SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/></SignedInfo></Signature>` +
		`<AttributeStatement><Attribute Name="http://schemas.microsoft.com/ws/2008/06/identity/claims/groups"><AttributeValue>7d2b6f0e-2c41-4a55-9a0e-6c5d3e1f2a4b</AttributeValue><AttributeValue>1a2b3c4d-5e6f-4711-8899-aabbccddeeff</AttributeValue></Attribute>` +
		`<Attribute Name="http://schemas.microsoft.com/claims/groups.link"><AttributeValue>https://graph.windows.net/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/users/42/getMemberObjects</AttributeValue></Attribute></AttributeStatement></Assertion></samlp:Response>`
	adfsShaped = `<samlp:Response ID="_d1" Version="2.0" IssueInstant="2026-12-01T11:58:00Z" xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">` +
		`<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:SignatureMethod Algorithm="http://www.w3.org/2000/09/xmldsig#rsa-sha1"/></ds:SignedInfo></ds:Signature>` +
		`<Assertion ID="_d2" IssueInstant="2026-12-01T11:58:00Z" Version="2.0" xmlns="urn:oasis:names:tc:SAML:2.0:assertion"><Issuer>http://adfs.example.org/adfs/services/trust</Issuer>` +
		`<Subject><NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:transient">_9f8e7d</NameID></Subject>` +
		`<AttributeStatement><Attribute Name="http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"><AttributeValue>jo@example.org</AttributeValue></Attribute></AttributeStatement></Assertion></samlp:Response>`
)

func TestLoginObservations(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	entra := &saml.Assertion{Attributes: []saml.Attribute{
		{Name: "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups", Values: []string{"7d2b6f0e-2c41-4a55-9a0e-6c5d3e1f2a4b", "1a2b3c4d-5e6f-4711-8899-aabbccddeeff"}},
		{Name: "http://schemas.microsoft.com/claims/groups.link", Values: []string{"https://graph.windows.net/x"}},
	}}
	got := loginObservations(entraShaped, entra, nil, now)
	want := map[string]string{
		observedAttributes:      "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups|http://schemas.microsoft.com/claims/groups.link",
		observedGUIDAttributes:  "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups",
		observedClockOffset:     "42",
		observedSignatureMethod: "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
		observedAssertionSigned: "true",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("Entra ID-shaped %s = %q, want %q", k, got[k], v)
		}
	}

	adfs := &saml.Assertion{Attributes: []saml.Attribute{{Name: "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn", Values: []string{"jo@example.org"}}}}
	got = loginObservations(adfsShaped, adfs, nil, now)
	for k, v := range map[string]string{observedClockOffset: "-120", observedSignatureMethod: "http://www.w3.org/2000/09/xmldsig#rsa-sha1", observedAssertionSigned: "false"} {
		if got[k] != v {
			t.Errorf("ADFS-shaped %s = %q, want %q", k, got[k], v)
		}
	}
	if _, ok := got[observedGUIDAttributes]; ok {
		t.Error("ADFS-shaped: a UPN taken for a GUID")
	}

	// Encrypted: whether the assertion was signed is not known from the
	// posted document.
	got = loginObservations(adfsShaped, &saml.Assertion{Encrypted: true}, nil, now)
	if _, ok := got[observedAssertionSigned]; ok {
		t.Error("assertion_signed reported for an encrypted assertion")
	}
}
