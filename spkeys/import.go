package spkeys

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/lanyard-sso/lanyard"
)

// MinImportBits is the smallest RSA key an imported pair may have: below
// 2048 bits RSA is breakable (NIST SP 800-131A).
const MinImportBits = 2048

// ImportError is a refused import: Message says what is wrong and what to
// do, in words an administrator can act on.
type ImportError struct{ Message string }

func (e *ImportError) Error() string { return e.Message }

func refuse(format string, args ...any) error {
	return &ImportError{Message: fmt.Sprintf(format, args...)}
}

// FromPEM builds an SP key pair for use from a PEM private key (PKCS#8
// "PRIVATE KEY" or PKCS#1 "RSA PRIVATE KEY", unencrypted) and its PEM
// certificate (the first CERTIFICATE block; a chain after it is ignored).
// It refuses, with an *ImportError saying what to do: anything but RSA,
// RSA under MinImportBits, a key that does not match the certificate, a
// certificate already expired at now, and a key or certificate that cannot
// be read. The key is stored as PKCS#8.
func FromPEM(use lanyard.KeyUse, keyPEM, certPEM []byte, now time.Time) (lanyard.SPKey, error) {
	cert, err := firstCertificate(certPEM)
	if err != nil {
		return lanyard.SPKey{}, err
	}
	key, err := pemPrivateKey(keyPEM)
	if err != nil {
		return lanyard.SPKey{}, err
	}
	return build(use, key, cert, now)
}

// FromPKCS12 is FromPEM for a PKCS#12 keystore (.p12, .pfx) opened with
// password; a wrong password is refused with an *ImportError.
func FromPKCS12(use lanyard.KeyUse, data []byte, password string, now time.Time) (lanyard.SPKey, error) {
	key, cert, _, err := pkcs12.DecodeChain(data, password)
	switch {
	case errors.Is(err, pkcs12.ErrIncorrectPassword):
		return lanyard.SPKey{}, refuse("the password does not open this PKCS#12 file: give the password it was exported with (an empty password is tried when none is given)")
	case err != nil:
		return lanyard.SPKey{}, refuse("this is not a PKCS#12 file Lanyard can read (%v): export it again with one private key and its certificate, e.g. openssl pkcs12 -export -inkey key.pem -in cert.pem -out sp.p12, or import the PEM files", err)
	}
	return build(use, key, cert, now)
}

func build(use lanyard.KeyUse, parsed any, cert *x509.Certificate, now time.Time) (lanyard.SPKey, error) {
	if use != lanyard.KeySigning && use != lanyard.KeyEncryption {
		return lanyard.SPKey{}, refuse("unknown key use %q: use %q or %q", use, lanyard.KeySigning, lanyard.KeyEncryption)
	}
	key, ok := parsed.(*rsa.PrivateKey)
	if !ok {
		return lanyard.SPKey{}, refuse("the private key is %s, not RSA: SAML IdPs encrypt to RSA keys; give an RSA key of %d bits or more", keyKind(parsed), MinImportBits)
	}
	if bits := key.N.BitLen(); bits < MinImportBits {
		return lanyard.SPKey{}, refuse("the key is RSA with %d bits, too weak: give an RSA key of %d bits or more (e.g. openssl req -x509 -newkey rsa:3072 -nodes -days 1825 -keyout key.pem -out cert.pem), or let Lanyard generate one", bits, MinImportBits)
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return lanyard.SPKey{}, refuse("the private key does not belong to the certificate (%s, SHA-256 %s): give the certificate that was issued for this key", cert.Subject, Fingerprint(cert))
	}
	if !cert.NotAfter.After(now) {
		return lanyard.SPKey{}, refuse("the certificate (%s) expired on %s: IdPs would refuse it; give a current certificate for the key", cert.Subject, cert.NotAfter.UTC().Format("2006-01-02"))
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return lanyard.SPKey{}, fmt.Errorf("spkeys: encode private key: %w", err)
	}
	return lanyard.SPKey{
		Use:            use,
		PrivateKeyPEM:  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})),
		CertificatePEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})),
		NotAfter:       cert.NotAfter,
		Active:         true,
		CreatedAt:      now.UTC().Truncate(time.Second),
	}, nil
}

func keyKind(k any) string {
	switch k.(type) {
	case nil:
		return "missing"
	default:
		return strings.TrimPrefix(fmt.Sprintf("%T", k), "*")
	}
}

func firstCertificate(data []byte) (*x509.Certificate, error) {
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, refuse("no PEM CERTIFICATE block in the certificate file: give the certificate in PEM (-----BEGIN CERTIFICATE-----), e.g. openssl x509 -in cert.der -inform der -out cert.pem")
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, refuse("the certificate cannot be read (%v): give the PEM certificate of the key", err)
		}
		return cert, nil
	}
}

func pemPrivateKey(data []byte) (any, error) {
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, refuse("no PEM private key in the key file: give the key in PEM (-----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----)")
		}
		switch block.Type {
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			if err != nil {
				return nil, refuse("the private key cannot be read (%v): give an unencrypted PKCS#8 or PKCS#1 RSA key", err)
			}
			return k, nil
		case "RSA PRIVATE KEY":
			if _, encrypted := block.Headers["DEK-Info"]; encrypted {
				return nil, refuse("the private key is encrypted with a passphrase: decrypt it first (openssl pkey -in key.pem -out key-plain.pem) or import a PKCS#12 file with its password")
			}
			k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
			if err != nil {
				return nil, refuse("the private key cannot be read (%v): give an unencrypted PKCS#8 or PKCS#1 RSA key", err)
			}
			return k, nil
		case "ENCRYPTED PRIVATE KEY":
			return nil, refuse("the private key is encrypted with a passphrase: decrypt it first (openssl pkey -in key.pem -out key-plain.pem) or import a PKCS#12 file with its password")
		}
	}
}
