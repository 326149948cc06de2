package spkeys

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
)

var now = time.Date(2026, 11, 23, 1, 30, 0, 0, time.UTC)

func TestGenerate(t *testing.T) {
	for _, tc := range []struct {
		use   lanyard.KeyUse
		usage x509.KeyUsage
	}{
		{lanyard.KeySigning, x509.KeyUsageDigitalSignature},
		{lanyard.KeyEncryption, x509.KeyUsageKeyEncipherment | x509.KeyUsageDataEncipherment},
	} {
		t.Run(string(tc.use), func(t *testing.T) {
			k, err := Generate("acme", tc.use, now)
			if err != nil {
				t.Fatal(err)
			}
			if k.Use != tc.use || !k.Active || !k.CreatedAt.Equal(now) {
				t.Errorf("key fields: use %q active %v created %v", k.Use, k.Active, k.CreatedAt)
			}
			if !strings.HasPrefix(k.PrivateKeyPEM, "-----BEGIN PRIVATE KEY-----") {
				t.Errorf("private key is not PKCS#8 PEM: %.40q", k.PrivateKeyPEM)
			}
			key, cert, err := Parse(k)
			if err != nil {
				t.Fatal(err)
			}
			if key.N.BitLen() != KeyBits {
				t.Errorf("key size %d, want %d", key.N.BitLen(), KeyBits)
			}
			if got, want := cert.Subject.CommonName, "Lanyard SP acme"; got != want {
				t.Errorf("CN %q, want %q", got, want)
			}
			if cert.SignatureAlgorithm != x509.SHA256WithRSA {
				t.Errorf("signature algorithm %v, want SHA256-RSA", cert.SignatureAlgorithm)
			}
			if err := cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature); err != nil {
				t.Errorf("certificate is not self-signed: %v", err)
			}
			if cert.KeyUsage != tc.usage {
				t.Errorf("key usage %v, want %v", cert.KeyUsage, tc.usage)
			}
			if cert.NotBefore.After(now) {
				t.Errorf("NotBefore %v is after now", cert.NotBefore)
			}
			if years := cert.NotAfter.Sub(now).Hours() / 24 / 365; years < 9.99 || years > 10.01 {
				t.Errorf("validity %.2f years, want 10", years)
			}
			if !cert.NotAfter.Equal(k.NotAfter) {
				t.Errorf("SPKey.NotAfter %v, certificate %v", k.NotAfter, cert.NotAfter)
			}
			if cert.SerialNumber.Sign() <= 0 || cert.SerialNumber.BitLen() > 129 {
				t.Errorf("serial %v: want a positive 128-bit number", cert.SerialNumber)
			}
			// The key signs and the certificate verifies.
			digest := sha256.Sum256([]byte("hello"))
			sig, err := key.Sign(rand.Reader, digest[:], crypto.SHA256)
			if err != nil {
				t.Fatal(err)
			}
			if err := rsa.VerifyPKCS1v15(cert.PublicKey.(*rsa.PublicKey), crypto.SHA256, digest[:], sig); err != nil {
				t.Errorf("signature does not verify: %v", err)
			}
		})
	}
}

func TestGenerateDistinct(t *testing.T) {
	a, err := Generate("acme", lanyard.KeySigning, now)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Generate("acme", lanyard.KeySigning, now)
	if err != nil {
		t.Fatal(err)
	}
	_, ca, _ := Parse(a)
	_, cb, _ := Parse(b)
	if ca.SerialNumber.Cmp(cb.SerialNumber) == 0 {
		t.Error("two certificates share a serial number")
	}
	if a.PrivateKeyPEM == b.PrivateKeyPEM {
		t.Error("two keys are equal")
	}
}

func TestGenerateUnknownUse(t *testing.T) {
	if _, err := Generate("acme", "wrapping", now); err == nil || !strings.Contains(err.Error(), `"wrapping"`) {
		t.Fatalf("got %v, want an unknown-use error", err)
	}
}

func TestParseErrors(t *testing.T) {
	a, err := Generate("a", lanyard.KeySigning, now)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Generate("b", lanyard.KeySigning, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		key  lanyard.SPKey
		want string
	}{
		{"mismatch", lanyard.SPKey{PrivateKeyPEM: a.PrivateKeyPEM, CertificatePEM: b.CertificatePEM}, "does not match"},
		{"no cert", lanyard.SPKey{PrivateKeyPEM: a.PrivateKeyPEM}, "certificate"},
		{"no key", lanyard.SPKey{CertificatePEM: a.CertificatePEM}, "private key"},
		{"cert as key", lanyard.SPKey{PrivateKeyPEM: a.CertificatePEM, CertificatePEM: a.CertificatePEM}, "PRIVATE KEY"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := Parse(tc.key); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestFingerprint(t *testing.T) {
	k, err := Generate("acme", lanyard.KeySigning, now)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ParseCertificate(k.CertificatePEM)
	if err != nil {
		t.Fatal(err)
	}
	if fp := Fingerprint(cert); !regexp.MustCompile(`^([0-9A-F]{2}:){31}[0-9A-F]{2}$`).MatchString(fp) {
		t.Fatalf("fingerprint %q: want 32 colon-separated hex bytes", fp)
	}
}
