package saml

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"testing"
)

func BenchmarkFloorVerify(b *testing.B) {
	testKeys(b)
	d := sha256.Sum256([]byte("x"))
	sig, _ := rsa.SignPKCS1v15(rand.Reader, idpKey, crypto.SHA256, d[:])
	b.ReportAllocs()
	stop := reportCPU(b)
	for b.Loop() {
		if err := rsa.VerifyPKCS1v15(&idpKey.PublicKey, crypto.SHA256, d[:], sig); err != nil {
			b.Fatal(err)
		}
	}
	stop()
}
