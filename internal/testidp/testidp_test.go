package testidp

import (
	"context"
	"crypto/x509"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard/saml"
)

// TestAcceptedBySAML checks that the saml package accepts what this package
// signs: metadata (pinned signature) and responses of both kinds.
func TestAcceptedBySAML(t *testing.T) {
	idp, err := New("https://idp.test/entity", Options{})
	if err != nil {
		t.Fatal(err)
	}
	signer, err := New("https://federation.test/signer", Options{})
	if err != nil {
		t.Fatal(err)
	}
	md, err := idp.SignedMetadata(MetadataOptions{SignWith: signer.Key, SignWithCert: signer.Cert, CacheDuration: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := saml.ParseIdPMetadata(md, saml.MetadataOptions{VerifyWith: []*x509.Certificate{signer.Cert}})
	if err != nil {
		t.Fatalf("signed metadata refused: %v\n%s", err, md)
	}
	if parsed.CacheDuration != time.Hour {
		t.Errorf("cacheDuration %v, want 1h", parsed.CacheDuration)
	}
	if _, err := saml.ParseIdPMetadata(md, saml.MetadataOptions{VerifyWith: []*x509.Certificate{idp.Cert}}); err == nil {
		t.Error("metadata accepted with the wrong pinned certificate")
	}

	sp := &saml.ServiceProvider{
		EntityID:         "https://sp.test/metadata",
		ACSURL:           "https://sp.test/acs",
		AllowUnsolicited: true,
		Requests:         saml.NewMemoryRequestStore(),
		Replay:           saml.NewMemoryReplayCache(),
	}
	resp, err := idp.Response(Login{Destination: sp.ACSURL, Audience: sp.EntityID, NameID: "ann@example.com",
		Attributes: [][2]string{{"uid", "ann"}, {"mail", "ann@example.com"}, {"givenName", "Ann & Co <x>"}}})
	if err != nil {
		t.Fatal(err)
	}
	a, err := sp.ValidateResponse(context.Background(), parsed, saml.ResponseInput{SAMLResponse: resp})
	if err != nil {
		t.Fatalf("unsolicited response refused: %v", err)
	}
	if a.NameID.Value != "ann@example.com" || a.Attribute("givenName")[0] != "Ann & Co <x>" {
		t.Errorf("assertion %+v", a)
	}

	// SP-initiated: answer an AuthnRequest.
	msg, err := sp.MakeAuthnRequest(context.Background(), parsed, saml.AuthnRequestOptions{BrowserBinding: "b1"})
	if err != nil {
		t.Fatal(err)
	}
	resp, err = idp.Response(Login{Destination: sp.ACSURL, Audience: sp.EntityID, NameID: "bob@example.com", InResponseTo: msg.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sp.ValidateResponse(context.Background(), parsed, saml.ResponseInput{SAMLResponse: resp, BrowserBinding: "b1"}); err != nil {
		t.Fatalf("solicited response refused: %v", err)
	}
}
