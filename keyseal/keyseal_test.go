package keyseal

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func TestParseKey(t *testing.T) {
	raw := bytes.Repeat([]byte{0xfb}, KeySize)
	for _, text := range []string{
		base64.StdEncoding.EncodeToString(raw),
		base64.RawStdEncoding.EncodeToString(raw),
		base64.URLEncoding.EncodeToString(raw),
		"  " + hex.EncodeToString(raw) + "\n",
	} {
		got, err := ParseKey(text)
		if err != nil || !bytes.Equal(got, raw) {
			t.Errorf("ParseKey(%q) = %x, %v", text, got, err)
		}
	}
	for _, text := range []string{"", "short", base64.StdEncoding.EncodeToString(raw[:16]), strings.Repeat("zz", KeySize)} {
		if _, err := ParseKey(text); err == nil || !strings.Contains(err.Error(), "lanyard secret-key") {
			t.Errorf("ParseKey(%q): %v, want an error that says how to make a key", text, err)
		}
	}
	a, b := GenerateKey(), GenerateKey()
	if a == b {
		t.Error("GenerateKey returned the same key twice")
	}
	if _, err := ParseKey(a); err != nil {
		t.Errorf("a generated key does not parse: %v", err)
	}
}

func TestSealOpen(t *testing.T) {
	s, err := New(bytes.Repeat([]byte{1}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	plain := []byte("-----BEGIN PRIVATE KEY-----\nMIIE...")
	sealed := s.Seal(plain, "sp_keys")
	if !IsSealed(sealed) || bytes.Contains(sealed, []byte("PRIVATE KEY")) {
		t.Fatalf("sealed value %q", sealed)
	}
	if bytes.Equal(sealed, s.Seal(plain, "sp_keys")) {
		t.Error("two seals of one value are equal: the nonce is not fresh")
	}
	if got, err := s.Open(sealed, "sp_keys"); err != nil || !bytes.Equal(got, plain) {
		t.Errorf("Open = %q, %v", got, err)
	}
	if _, err := s.Open(sealed, "signing_keys"); err == nil {
		t.Error("a value opened for another purpose")
	}
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-3] ^= 'A' ^ 'B'
	if _, err := s.Open(tampered, "sp_keys"); err == nil {
		t.Error("a tampered value opened")
	}
	if got, err := s.Open(plain, "sp_keys"); err != nil || !bytes.Equal(got, plain) {
		t.Errorf("a value in the clear: %q, %v; want it as it is", got, err)
	}
	var none *Sealer
	if _, err := none.Open(sealed, "sp_keys"); !errors.Is(err, ErrNoSecretKey) {
		t.Errorf("no secret key: %v", err)
	}
	other, _ := New(bytes.Repeat([]byte{2}, KeySize))
	if _, err := other.Open(sealed, "sp_keys"); err == nil || !strings.Contains(err.Error(), s.ID()) || !strings.Contains(err.Error(), other.ID()) {
		t.Errorf("another secret key: %v, want both key IDs named", err)
	}
	if _, err := New([]byte("short")); err == nil {
		t.Error("New accepted a short key")
	}
}

func TestPreviousKeys(t *testing.T) {
	oldKey, newKey := bytes.Repeat([]byte{1}, KeySize), bytes.Repeat([]byte{2}, KeySize)
	old, _ := New(oldKey)
	sealedOld := old.Seal([]byte("k"), "p")
	rotating, err := New(newKey, oldKey)
	if err != nil {
		t.Fatal(err)
	}
	if rotating.IsCurrent(sealedOld) || !rotating.IsCurrent(rotating.Seal([]byte("k"), "p")) || rotating.IsCurrent([]byte("k")) {
		t.Error("IsCurrent tells the keys apart wrongly")
	}
	if got, err := rotating.Open(sealedOld, "p"); err != nil || string(got) != "k" {
		t.Errorf("a value sealed with the previous key: %q, %v", got, err)
	}

	file := "# current\n" + base64.StdEncoding.EncodeToString(newKey) + "\n\n# previous, until serve has started once\n" + hex.EncodeToString(oldKey) + "\n"
	keys, err := ParseKeys(file)
	if err != nil || len(keys) != 2 || !bytes.Equal(keys[0], newKey) || !bytes.Equal(keys[1], oldKey) {
		t.Errorf("ParseKeys = %x, %v", keys, err)
	}
	if _, err := ParseKeys("# nothing\n\n"); err == nil {
		t.Error("ParseKeys accepted a file without a key")
	}
	if _, err := ParseKeys(base64.StdEncoding.EncodeToString(newKey) + "\nbad\n"); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("a bad second line: %v", err)
	}
}
