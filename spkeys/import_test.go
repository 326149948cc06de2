package spkeys

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/lanyard-sso/lanyard"
)

// testPair makes a key of bits and a self-signed certificate valid until
// notAfter (test keys, generated at test time).
func testPair(t *testing.T, bits int, notAfter time.Time) (*rsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	return key, selfSign(t, key, &key.PublicKey, notAfter)
}

func selfSign(t *testing.T, signer any, pub any, notAfter time.Time) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "sp.example.org"},
		NotBefore: notAfter.Add(-400 * 24 * time.Hour), NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, signer)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func pemOf(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func TestImportPEMAndPKCS12(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	key, cert := testPair(t, 2048, now.Add(365*24*time.Hour))
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(key)
	certPEM := pemOf("CERTIFICATE", cert.Raw)
	p12, err := pkcs12.Modern2023.Encode(key, cert, nil, "s3cret pass")
	if err != nil {
		t.Fatal(err)
	}
	legacyP12, err := pkcs12.LegacyRC2.Encode(key, cert, nil, "old")
	if err != nil {
		t.Fatal(err)
	}
	for name, imp := range map[string]func() (lanyard.SPKey, error){
		"PKCS#8 PEM": func() (lanyard.SPKey, error) {
			return FromPEM(lanyard.KeySigning, pemOf("PRIVATE KEY", pkcs8), certPEM, now)
		},
		"PKCS#1 PEM": func() (lanyard.SPKey, error) {
			return FromPEM(lanyard.KeySigning, pemOf("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key)), certPEM, now)
		},
		"cert with chain": func() (lanyard.SPKey, error) {
			return FromPEM(lanyard.KeySigning, pemOf("PRIVATE KEY", pkcs8), append(append([]byte{}, certPEM...), certPEM...), now)
		},
		"PKCS#12 AES":        func() (lanyard.SPKey, error) { return FromPKCS12(lanyard.KeySigning, p12, "s3cret pass", now) },
		"PKCS#12 legacy RC2": func() (lanyard.SPKey, error) { return FromPKCS12(lanyard.KeySigning, legacyP12, "old", now) },
	} {
		t.Run(name, func(t *testing.T) {
			k, err := imp()
			if err != nil {
				t.Fatal(err)
			}
			gotKey, gotCert, err := Parse(k)
			if err != nil {
				t.Fatal(err)
			}
			if !gotKey.Equal(key) || !gotCert.Equal(cert) || !k.NotAfter.Equal(cert.NotAfter) || !k.Active {
				t.Fatalf("imported pair differs: %+v", k)
			}
		})
	}
}

func TestImportRefusals(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	key, cert := testPair(t, 2048, now.Add(365*24*time.Hour))
	other, _ := testPair(t, 2048, now.Add(365*24*time.Hour))
	weak, weakCert := testPair(t, 1024, now.Add(365*24*time.Hour))
	_, expiredCert := func() (*rsa.PrivateKey, *x509.Certificate) {
		return key, selfSign(t, key, &key.PublicKey, now.Add(-time.Hour))
	}()
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecCert := selfSign(t, ec, &ec.PublicKey, now.Add(time.Hour*24))
	ecPKCS8, _ := x509.MarshalPKCS8PrivateKey(ec)
	pkcs8 := func(k *rsa.PrivateKey) []byte { b, _ := x509.MarshalPKCS8PrivateKey(k); return pemOf("PRIVATE KEY", b) }
	p12, _ := pkcs12.Modern2023.Encode(key, cert, nil, "right")
	weakP12, _ := pkcs12.Modern2023.Encode(weak, weakCert, nil, "pw")

	cases := []struct {
		name string
		imp  func() (lanyard.SPKey, error)
		want string // in the message: what is wrong and what to do
	}{
		{"RSA-1024 PEM", func() (lanyard.SPKey, error) {
			return FromPEM(lanyard.KeySigning, pkcs8(weak), pemOf("CERTIFICATE", weakCert.Raw), now)
		}, "RSA with 1024 bits, too weak: give an RSA key of 2048 bits or more"},
		{"RSA-1024 PKCS#12", func() (lanyard.SPKey, error) { return FromPKCS12(lanyard.KeySigning, weakP12, "pw", now) }, "1024 bits, too weak"},
		{"mismatched key and certificate", func() (lanyard.SPKey, error) {
			return FromPEM(lanyard.KeySigning, pkcs8(other), pemOf("CERTIFICATE", cert.Raw), now)
		}, "does not belong to the certificate"},
		{"wrong password", func() (lanyard.SPKey, error) { return FromPKCS12(lanyard.KeySigning, p12, "wrong", now) }, "the password does not open this PKCS#12 file"},
		{"no password", func() (lanyard.SPKey, error) { return FromPKCS12(lanyard.KeySigning, p12, "", now) }, "the password does not open"},
		{"not PKCS#12", func() (lanyard.SPKey, error) { return FromPKCS12(lanyard.KeySigning, []byte("hello"), "", now) }, "not a PKCS#12 file"},
		{"expired certificate", func() (lanyard.SPKey, error) {
			return FromPEM(lanyard.KeySigning, pkcs8(key), pemOf("CERTIFICATE", expiredCert.Raw), now)
		}, "expired on"},
		{"EC key", func() (lanyard.SPKey, error) {
			return FromPEM(lanyard.KeySigning, pemOf("PRIVATE KEY", ecPKCS8), pemOf("CERTIFICATE", ecCert.Raw), now)
		}, "not RSA"},
		{"encrypted PKCS#8", func() (lanyard.SPKey, error) {
			return FromPEM(lanyard.KeySigning, pemOf("ENCRYPTED PRIVATE KEY", []byte{1}), pemOf("CERTIFICATE", cert.Raw), now)
		}, "encrypted with a passphrase"},
		{"certificate as key", func() (lanyard.SPKey, error) {
			return FromPEM(lanyard.KeySigning, pemOf("CERTIFICATE", cert.Raw), pemOf("CERTIFICATE", cert.Raw), now)
		}, "no PEM private key"},
		{"key as certificate", func() (lanyard.SPKey, error) { return FromPEM(lanyard.KeySigning, pkcs8(key), pkcs8(key), now) }, "no PEM CERTIFICATE block"},
		{"unknown use", func() (lanyard.SPKey, error) { return FromPEM("tls", pkcs8(key), pemOf("CERTIFICATE", cert.Raw), now) }, "unknown key use"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.imp()
			var ie *ImportError
			if !errors.As(err, &ie) {
				t.Fatalf("error %v (%T), want an *ImportError", err, err)
			}
			if !strings.Contains(ie.Message, tc.want) {
				t.Fatalf("message %q, want it to contain %q", ie.Message, tc.want)
			}
		})
	}
}
