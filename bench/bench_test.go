package bench

import (
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"net/url"
	"strings"
	"testing"
	"time"

	crewjam "github.com/crewjam/saml"
	saml2 "github.com/russellhaering/gosaml2"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/lanyard-sso/lanyard/saml"
)

type benchCase struct {
	name string
	xml  func(testing.TB) string
}

var cases = []benchCase{
	{"signed-assertion", caseSignedAssertion},
	{"signed-both", caseSignedBoth},
	{"encrypted", caseEncrypted},
	{"groups-200", caseGroups200},
}

// validator is one implementation configured to accept the responses.
type validator struct {
	name     string
	validate func(b64 string) error
}

// foreverStore answers every Take with the benchmark's pending request, so
// that the loop can validate the same response again.
type foreverStore struct{}

func (foreverStore) Save(context.Context, saml.PendingRequest) error { return nil }
func (foreverStore) Take(_ context.Context, id string) (saml.PendingRequest, error) {
	return saml.PendingRequest{ID: id, ReturnTo: "/app", IdPEntityID: idpEntity}, nil
}

// noReplay accepts every assertion ID (a real cache refuses the second use).
type noReplay struct{}

func (noReplay) MarkUsed(context.Context, string, time.Time) (bool, error) { return true, nil }

func lanyard(tb testing.TB) validator {
	kk := testKeys()
	idp, err := saml.ParseIdPMetadata([]byte(idpMetadata()), saml.MetadataOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	sp := &saml.ServiceProvider{
		EntityID:       spEntity,
		ACSURL:         acsURL,
		EncryptionKeys: []saml.KeyPair{{Signer: kk.spKey, Certificate: kk.spCert}},
		Now:            func() time.Time { return now },
		Requests:       foreverStore{},
		Replay:         noReplay{},
	}
	if err := sp.Prepare(); err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	return validator{"lanyard", func(b64 string) error {
		_, err := sp.ValidateResponse(ctx, idp, saml.ResponseInput{SAMLResponse: b64})
		return err
	}}
}

func crewjamSP(tb testing.TB) validator {
	kk := testKeys()
	crewjam.TimeNow = func() time.Time { return now }
	crewjam.Clock = dsig.NewFakeClockAt(now)
	var ed crewjam.EntityDescriptor
	if err := xml.Unmarshal([]byte(idpMetadata()), &ed); err != nil {
		tb.Fatal(err)
	}
	acs, _ := url.Parse(acsURL)
	md, _ := url.Parse(spEntity)
	sp := &crewjam.ServiceProvider{
		EntityID:    spEntity,
		Key:         kk.spKey,
		Certificate: kk.spCert,
		AcsURL:      *acs,
		MetadataURL: *md,
		IDPMetadata: &ed,
	}
	ids := []string{reqID}
	return validator{"crewjam", func(b64 string) error {
		raw, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return err
		}
		_, err = sp.ParseXMLResponse(raw, ids, *acs)
		if ire, ok := err.(*crewjam.InvalidResponseError); ok {
			return ire.PrivateErr
		}
		return err
	}}
}

func gosaml2SP(tb testing.TB) validator {
	kk := testKeys()
	sp := &saml2.SAMLServiceProvider{
		IdentityProviderIssuer:      idpEntity,
		AssertionConsumerServiceURL: acsURL,
		ServiceProviderIssuer:       spEntity,
		AudienceURI:                 spEntity,
		IDPCertificateStore:         &dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{kk.idpCert}},
		SPKeyStore:                  dsig.TLSCertKeyStore(tls.Certificate{Certificate: [][]byte{kk.spCert.Raw}, PrivateKey: kk.spKey}),
		Clock:                       dsig.NewFakeClockAt(now),
	}
	return validator{"gosaml2", func(b64 string) error {
		info, err := sp.RetrieveAssertionInfo(b64)
		if err != nil {
			return err
		}
		if info.WarningInfo.InvalidTime || info.WarningInfo.NotInAudience {
			return errWarning
		}
		return nil
	}}
}

var errWarning = &warnErr{}

type warnErr struct{}

func (*warnErr) Error() string { return "gosaml2 warning: invalid time or audience" }

func BenchmarkValidate(b *testing.B) {
	impls := []validator{lanyard(b), crewjamSP(b), gosaml2SP(b)}
	for _, c := range cases {
		doc := c.xml(b)
		in := base64.StdEncoding.EncodeToString([]byte(doc))
		b.Run(c.name, func(b *testing.B) {
			for _, v := range impls {
				b.Run(v.name, func(b *testing.B) {
					// Setup: each implementation really accepts the response.
					if err := v.validate(in); err != nil {
						b.Fatalf("%s refuses %s: %v", v.name, c.name, err)
					}
					b.ReportAllocs()
					b.SetBytes(int64(len(doc)))
					b.ResetTimer()
					stop := reportCPU(b)
					for b.Loop() {
						if err := v.validate(in); err != nil {
							b.Fatal(err)
						}
					}
					stop()
					b.ReportMetric(float64(len(doc)), "xml-bytes")
				})
			}
		})
	}
}

// floorWork is the work no implementation can avoid on one signed-assertion
// response: decoding the base64 form value, the SHA-256 digests of the
// signed assertion and of SignedInfo, and one RSA-2048 verification.
type floorWork struct {
	in, assertion, signedInfo string
	sig                       []byte
	pub                       *rsa.PublicKey
}

func newFloorWork(tb testing.TB, doc string) *floorWork {
	kk := testKeys()
	assertion := doc[strings.Index(doc, "<saml2:Assertion"):strings.Index(doc, "</saml2p:Response>")]
	signedInfo := assertion[strings.Index(assertion, "<ds:SignedInfo"):strings.Index(assertion, "<ds:SignatureValue")]
	digest := sha256.Sum256([]byte(signedInfo))
	sig, err := rsa.SignPKCS1v15(rand.Reader, kk.idpKey, crypto.SHA256, digest[:])
	if err != nil {
		tb.Fatal(err)
	}
	return &floorWork{in: base64.StdEncoding.EncodeToString([]byte(doc)), assertion: assertion, signedInfo: signedInfo, sig: sig, pub: &kk.idpKey.PublicKey}
}

func (f *floorWork) verify(b *testing.B) {
	d := sha256.Sum256([]byte(f.signedInfo))
	if err := rsa.VerifyPKCS1v15(f.pub, crypto.SHA256, d[:], f.sig); err != nil {
		b.Fatal(err)
	}
}

func (f *floorWork) digests() {
	sha256.Sum256([]byte(f.assertion))
	sha256.Sum256([]byte(f.signedInfo))
}

func (f *floorWork) b64(b *testing.B) {
	if _, err := base64.StdEncoding.DecodeString(f.in); err != nil {
		b.Fatal(err)
	}
}

// run measures the whole floor of the response, with cpu-ns/op.
func (f *floorWork) run(b *testing.B) {
	b.ReportAllocs()
	stop := reportCPU(b)
	for b.Loop() {
		f.b64(b)
		f.digests()
		f.verify(b)
	}
	stop()
}

// BenchmarkFloor measures the work no implementation can avoid.
func BenchmarkFloor(b *testing.B) {
	kk := testKeys()
	fw := newFloorWork(b, caseSignedAssertion(b))
	assertion := fw.assertion
	verify, digests := fw.verify, fw.digests
	b64 := func(b *testing.B, s string) {
		if _, err := base64.StdEncoding.DecodeString(s); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("rsa2048-verify", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			verify(b)
		}
	})
	b.Run("sha256-digests", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			digests()
		}
	})
	b.Run("signed-assertion", fw.run)
	// The same floor on the 200-group response: the digest covers the
	// larger assertion.
	b.Run("groups-200", newFloorWork(b, caseGroups200(b)).run)

	// The encrypted case: RSA-OAEP unwrap, AES-CBC decryption, plus the
	// signed-assertion floor.
	key := make([]byte, 16)
	rand.Read(key)
	ek, _ := rsa.EncryptOAEP(sha1.New(), rand.Reader, &kk.spKey.PublicKey, key, nil)
	ct := make([]byte, (len(assertion)/16+1)*16)
	iv := make([]byte, 16)
	priv := kk.spKey
	priv.Precompute()
	encIn := base64.StdEncoding.EncodeToString([]byte(caseEncrypted(b)))
	b.Run("encrypted", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			b64(b, encIn)
			k, err := priv.Decrypt(nil, ek, &rsa.OAEPOptions{Hash: crypto.SHA1})
			if err != nil {
				b.Fatal(err)
			}
			blk, _ := aes.NewCipher(k)
			out := make([]byte, len(ct))
			cipher.NewCBCDecrypter(blk, iv).CryptBlocks(out, ct)
			digests()
			verify(b)
		}
	})
}
