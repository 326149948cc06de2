package saml

import (
	"strings"
	"testing"
)

// TestAcceptAlgorithms: every signature, digest and canonicalisation
// combination Lanyard accepts, with keys from the trusted set.
func TestAcceptAlgorithms(t *testing.T) {
	testKeys(t)
	cases := []struct {
		name   string
		o      sigOpts
		legacy bool
	}{
		{"rsa-sha256 exc-c14n", sigOpts{}, false},
		{"rsa-sha384", sigOpts{sigAlg: algRSASHA384, digestAlg: algSHA384}, false},
		{"rsa-sha512", sigOpts{sigAlg: algRSASHA512, digestAlg: algSHA512}, false},
		{"ecdsa-sha256", sigOpts{key: ecKey, cert: ecCert}, false},
		{"ecdsa-sha384", sigOpts{key: ecKey, sigAlg: algECDSASHA384}, false},
		{"ecdsa-sha512", sigOpts{key: ecKey, sigAlg: algECDSASHA512}, false},
		{"inclusive c14n 1.0", sigOpts{c14n: algC14N10}, false},
		{"inclusive c14n 1.1", sigOpts{c14n: algC14N11}, false},
		{"exc-c14n with #default in PrefixList", sigOpts{prefixes: "#default xs"}, false},
		{"rollover key, no KeyInfo", sigOpts{key: idpKey2}, false},
		{"rollover key with its cert", sigOpts{key: idpKey2, cert: idpCert2}, false},
		{"default-namespace Signature", sigOpts{dsPrefix: "-"}, false},
		{"rsa-sha1 for a legacy IdP", sigOpts{sigAlg: algRSASHA1, digestAlg: algSHA1}, true},
	}
	for _, c := range cases {
		for _, style := range []string{"okta", "adfs", "ssp"} {
			t.Run(c.name+"/"+style, func(t *testing.T) {
				e := newEnv(t)
				e.idp.AllowSHA1 = c.legacy
				e.pending(t)
				f := defaultFixture(style)
				o := c.o
				if style == "okta" && o.prefixes == "" {
					o.prefixes = "xs"
				}
				doc := stripMarkers(signXML(t, f.responseXML(f.assertionXML()), f.asID, o))
				a, err := e.validate(doc)
				if err != nil {
					t.Fatal(err)
				}
				if a.NameID.Value != "alice@example.com" {
					t.Errorf("NameID %q", a.NameID.Value)
				}
			})
		}
	}
}

func TestAcceptEncrypted(t *testing.T) {
	testKeys(t)
	for _, c := range []struct {
		name string
		alg  string
		oaep bool
	}{
		{"aes128-cbc oaep-sha1", algAES128CBC, false},
		{"aes256-cbc oaep-sha1", algAES256CBC, false},
		{"aes128-gcm oaep-sha256", algAES128GCM, true},
		{"aes256-gcm oaep-sha256", algAES256GCM, true},
	} {
		for _, style := range []string{"okta", "ssp"} {
			t.Run(c.name+"/"+style, func(t *testing.T) {
				e := newEnv(t)
				// A rollover: the old key first, the current second.
				e.sp = &ServiceProvider{EntityID: testSPEntity, ACSURL: testACS, Now: e.sp.Now, Requests: e.sp.Requests,
					EncryptionKeys: []KeyPair{{Signer: evilKey, Certificate: evilCert}, {Signer: spKey, Certificate: spCert}}}
				e.pending(t)
				f := defaultFixture(style)
				signed := stripMarkers(signXML(t, f.responseXML(f.assertionXML()), f.asID, f.sigOpts()))
				as := signed[strings.Index(signed, "<"+shapeOf(style).ap+"Assertion"):strings.Index(signed, "</"+shapeOf(style).pp+"Response>")]
				pfx := strings.TrimSuffix(shapeOf(style).ap, ":")
				enc := encryptAssertion(t, as, &spKey.PublicKey, c.alg, c.oaep, pfx)
				if style == "okta" {
					enc = strings.Replace(enc, "<saml2:EncryptedAssertion>", `<saml2:EncryptedAssertion xmlns:saml2="`+nsSAML+`">`, 1)
				}
				doc := strings.Replace(signed, as, enc, 1)
				a, err := e.validate(doc)
				if err != nil {
					t.Fatal(err)
				}
				if !a.Encrypted || a.NameID.Value != "alice@example.com" {
					t.Errorf("%+v", a)
				}
			})
		}
	}
}

func TestEncryptedRefusals(t *testing.T) {
	testKeys(t)
	f := defaultFixture("okta")
	signed := f.signedAssertion(t)
	as := signed[strings.Index(signed, "<saml2:Assertion"):strings.Index(signed, "</saml2p:Response>")]
	wrap := func(enc string) string {
		enc = strings.Replace(enc, "<saml2:EncryptedAssertion>", `<saml2:EncryptedAssertion xmlns:saml2="`+nsSAML+`">`, 1)
		return strings.Replace(signed, as, enc, 1)
	}
	unsigned := strings.Replace(as, cut(t, as, "<ds:Signature", "</ds:Signature>"), "", 1)
	cases := []struct {
		name string
		doc  string
		want Reason
	}{
		{"for another key", wrap(encryptAssertion(t, as, &evilKey.PublicKey, algAES128GCM, true, "saml2")), ReasonEncryptedAssertionInvalid},
		{"unsigned inside", wrap(encryptAssertion(t, unsigned, &spKey.PublicKey, algAES128GCM, true, "saml2")), ReasonEncryptedAssertionInvalid},
		{"RSA 1.5 key transport", wrap(strings.Replace(encryptAssertion(t, as, &spKey.PublicKey, algAES128CBC, false, "saml2"), algRSAOAEP, algRSA15, 1)), ReasonEncryptedAssertionInvalid},
		{"GCM tag tampered", wrap(func() string {
			enc := encryptAssertion(t, as, &spKey.PublicKey, algAES128GCM, true, "saml2")
			i := strings.LastIndex(enc, "</xenc:CipherValue>")
			c := enc[i-10]
			r := byte('A')
			if c == 'A' {
				r = 'B'
			}
			return enc[:i-10] + string(r) + enc[i-9:]
		}()), ReasonEncryptedAssertionInvalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			e.pending(t)
			_, err := e.validate(c.doc)
			if ReasonOf(err) != c.want {
				t.Fatalf("got %v, want %s", err, c.want)
			}
		})
	}
}

// TestNamespaceRedeclarations: prefixes declared late, redeclared with the
// same or another value, two prefixes for one namespace, default namespace
// switched back and forth.
func TestNamespaceRedeclarations(t *testing.T) {
	testKeys(t)
	f := defaultFixture("ssp")
	doc := f.responseXML(f.assertionXML())
	// Redeclare saml on the NameID, bind a second prefix "a" to the
	// assertion namespace on Subject and use it, and put a default
	// namespace on AttributeStatement's children.
	doc = strings.Replace(doc, `<saml:NameID `, `<saml:NameID xmlns:saml="`+nsSAML+`" `, 1)
	doc = strings.Replace(doc, `<saml:SubjectConfirmation `, `<a:SubjectConfirmation xmlns:a="`+nsSAML+`" `, 1)
	doc = strings.Replace(doc, `</saml:SubjectConfirmation>`, `</a:SubjectConfirmation>`, 1)
	doc = strings.Replace(doc, `<saml:Attribute Name="givenname">`, `<Attribute xmlns="`+nsSAML+`" Name="givenname">`, 1)
	doc = strings.Replace(doc, `<saml:AttributeValue xsi:type="xs:string">Alice &amp; Co</saml:AttributeValue></saml:Attribute>`, `<AttributeValue xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="xs:string">Alice &amp; Co</AttributeValue></Attribute>`, 1)
	for _, c14n := range []string{algExcC14N, algC14N10} {
		t.Run(c14n, func(t *testing.T) {
			e := newEnv(t)
			e.pending(t)
			signed := stripMarkers(signXML(t, doc, f.asID, sigOpts{c14n: c14n}))
			a, err := e.validate(signed)
			if err != nil {
				t.Fatal(err)
			}
			if g := a.Attribute("givenname"); len(g) != 1 || g[0] != "Alice & Co" {
				t.Errorf("givenname %q", g)
			}
		})
	}
}

// TestKeycloakShape: the dsig prefix is declared on the Response, not on
// the Signature, and both Response and Assertion are signed; with exclusive
// and inclusive canonicalisation.
func TestKeycloakShape(t *testing.T) {
	testKeys(t)
	for _, c14n := range []string{algExcC14N, algC14N10} {
		t.Run(c14n, func(t *testing.T) {
			e := newEnv(t)
			e.pending(t)
			f := defaultFixture("ssp")
			doc := f.responseXML(f.assertionXML())
			doc = strings.Replace(doc, `<samlp:Response `, `<samlp:Response xmlns:dsig="`+nsDSig+`" `, 1)
			o := sigOpts{dsPrefix: "dsig", noDecl: true, c14n: c14n}
			doc = signXML(t, doc, f.asID, o)
			doc = stripMarkers(signXML(t, doc, f.respID, o))
			if !strings.Contains(doc, "<dsig:Signature><dsig:SignedInfo>") {
				t.Fatal("fixture not as intended")
			}
			if _, err := e.validate(doc); err != nil {
				t.Fatal(err)
			}
		})
	}
}
