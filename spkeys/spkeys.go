// Package spkeys generates and reads the key pairs a tenant's Service
// Provider uses to sign AuthnRequests and to decrypt assertions: an RSA-2048
// private key (PKCS#8 PEM) with a self-signed X.509 certificate (PEM).
//
// RSA-2048 with SHA-256 is what every IdP accepts; the certificate is only a
// container for the public key published in SP metadata, so it is
// self-signed and long-lived.
package spkeys

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"
	"time"

	"github.com/lanyard-sso/lanyard"
)

// Key and certificate parameters.
const (
	// KeyBits is the size of generated RSA keys.
	KeyBits = 2048
	// Validity is how long a generated certificate is valid.
	Validity = 10 * 365 * 24 * time.Hour
	// backdate starts certificate validity a little before now, so an IdP
	// whose clock runs behind does not see a certificate from the future.
	backdate = 5 * time.Minute
)

// Generate returns a new active key pair for the tenant with the slug, for
// the given use, with a certificate valid from now for ten years. TenantID
// and ID are left for the caller and the store to set.
func Generate(slug string, use lanyard.KeyUse, now time.Time) (lanyard.SPKey, error) {
	return generate(rand.Reader, slug, use, now)
}

func generate(random io.Reader, slug string, use lanyard.KeyUse, now time.Time) (lanyard.SPKey, error) {
	var usage x509.KeyUsage
	switch use {
	case lanyard.KeySigning:
		usage = x509.KeyUsageDigitalSignature
	case lanyard.KeyEncryption:
		usage = x509.KeyUsageKeyEncipherment | x509.KeyUsageDataEncipherment
	default:
		return lanyard.SPKey{}, fmt.Errorf("spkeys: unknown key use %q: use %q or %q", use, lanyard.KeySigning, lanyard.KeyEncryption)
	}
	key, err := rsa.GenerateKey(random, KeyBits)
	if err != nil {
		return lanyard.SPKey{}, fmt.Errorf("spkeys: generate RSA key: %w", err)
	}
	// A random 128-bit serial number (RFC 5280 4.1.2.2 allows up to 20
	// octets); never zero.
	serial, err := rand.Int(random, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return lanyard.SPKey{}, fmt.Errorf("spkeys: serial number: %w", err)
	}
	serial.Add(serial, big.NewInt(1))

	now = now.UTC().Truncate(time.Second)
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "Lanyard SP " + slug},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(Validity),
		KeyUsage:              usage,
		BasicConstraintsValid: true,
		SignatureAlgorithm:    x509.SHA256WithRSA,
	}
	der, err := x509.CreateCertificate(random, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return lanyard.SPKey{}, fmt.Errorf("spkeys: create certificate: %w", err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return lanyard.SPKey{}, fmt.Errorf("spkeys: encode private key: %w", err)
	}
	return lanyard.SPKey{
		Use:            use,
		PrivateKeyPEM:  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})),
		CertificatePEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		NotAfter:       tmpl.NotAfter,
		Active:         true,
		CreatedAt:      now,
	}, nil
}

// Parse decodes the private key and certificate of k and checks that they
// belong together. The key is an *rsa.PrivateKey, which is a crypto.Signer
// and a crypto.Decrypter.
func Parse(k lanyard.SPKey) (*rsa.PrivateKey, *x509.Certificate, error) {
	cert, err := ParseCertificate(k.CertificatePEM)
	if err != nil {
		return nil, nil, err
	}
	block, _ := pem.Decode([]byte(k.PrivateKeyPEM))
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, nil, errors.New("spkeys: private key: want a PEM block of type PRIVATE KEY (PKCS#8)")
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("spkeys: private key: %w", err)
	}
	key, ok := parsed.(*rsa.PrivateKey)
	if !ok {
		return nil, nil, fmt.Errorf("spkeys: private key: want an RSA key, got %T", parsed)
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, nil, errors.New("spkeys: the private key does not match the certificate")
	}
	return key, cert, nil
}

// ParseCertificate decodes one PEM certificate.
func ParseCertificate(certPEM string) (*x509.Certificate, error) {
	block, _ := pem.Decode([]byte(certPEM))
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("spkeys: certificate: want a PEM block of type CERTIFICATE")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("spkeys: certificate: %w", err)
	}
	return cert, nil
}

// Fingerprint returns the SHA-256 fingerprint of the certificate as
// colon-separated upper-case hex, the form IdP consoles show.
func Fingerprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	h := strings.ToUpper(hex.EncodeToString(sum[:]))
	var b strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(h[i : i+2])
	}
	return b.String()
}

var _ crypto.Signer = (*rsa.PrivateKey)(nil)
var _ crypto.Decrypter = (*rsa.PrivateKey)(nil)
