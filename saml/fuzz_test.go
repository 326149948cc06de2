package saml

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"hash"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// bufHash collects canonical output (a hash.Hash that keeps the bytes).
type bufHash struct{ bytes.Buffer }

func (b *bufHash) Sum(p []byte) []byte { return append(p, b.Bytes()...) }
func (b *bufHash) Size() int           { return 0 }
func (b *bufHash) BlockSize() int      { return 1 }

var _ hash.Hash = (*bufHash)(nil)

func fuzzSeeds(tb testing.TB) [][]byte {
	testKeys(tb)
	var seeds [][]byte
	for _, style := range []string{"okta", "adfs", "entra", "ssp"} {
		f := defaultFixture(style)
		seeds = append(seeds, []byte(f.signedAssertion(tb)), []byte(f.signedBoth(tb)))
	}
	seeds = append(seeds,
		[]byte(`<a xmlns="urn:x" xmlns:p="urn:p"><p:b p:c="1" d="&lt;&#x41;"><![CDATA[x<y]]><!-- c -->z</p:b><e xmlns=""/></a>`),
		[]byte(`<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>`),
		// UTF-16, both byte orders, with a surrogate pair and xml:lang.
		toUTF16(`<?xml version="1.0" encoding="UTF-16"?><a xmlns:p="urn:p"><p:b xml:lang="en">\U0001F600</p:b></a>`, true),
		toUTF16(`<a xmlns:p="urn:p"><p:b xml:lang="en">\u00e5</p:b></a>`, false),
		// More bindings in scope than nsScope scans: its index.
		[]byte(`<a xmlns:p0="urn:0" xmlns:p1="urn:1" xmlns:p2="urn:2" xmlns:p3="urn:3" xmlns:p4="urn:4" xmlns:p5="urn:5" xmlns:p6="urn:6" xmlns:p7="urn:7" xmlns:p8="urn:8" xmlns:p9="urn:9"><b xmlns:p0="urn:00" xmlns:q="urn:q" xmlns:r="urn:r" xmlns:s="urn:s" xmlns:u="urn:u" xmlns:v="urn:v" xmlns:w="urn:w" xmlns="urn:d"><p0:c p9:x="1" q:y="2"><p1:d xmlns:p0="urn:0"/></p0:c><p:e xmlns:p="urn:p" xmlns=""/></b></a>`),
	)
	return seeds
}

// FuzzValidateResponse feeds arbitrary documents to the whole response
// pipeline: it must never panic, and never accept (no fuzzer forges an
// RSA signature).
func FuzzValidateResponse(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	e := newEnv(f)
	e.sp.AllowUnsolicited = true
	f.Fuzz(func(t *testing.T, data []byte) {
		e.pending(t)
		a, err := e.sp.ValidateResponse(context.Background(), e.idp, ResponseInput{SAMLResponse: base64.StdEncoding.EncodeToString(data), BrowserBinding: testBinding})
		if err == nil {
			// Only an untouched seed can pass, once (then it is a replay).
			if !strings.Contains(string(data), a.NameID.Value) {
				t.Fatalf("accepted a document whose NameID %q is not in it", a.NameID.Value)
			}
			return
		}
		if ReasonOf(err) == "" {
			t.Fatalf("error without a reason: %v", err)
		}
	})
}

// FuzzDecodeRedirect feeds arbitrary query strings to the HTTP-Redirect
// decoder and to logout request validation.
func FuzzDecodeRedirect(f *testing.F) {
	testKeys(f)
	kp := KeyPair{Signer: idpKey, Certificate: idpCert}
	for _, xml := range []string{
		`<samlp:LogoutRequest xmlns:samlp="` + nsSAMLP + `" ID="_1" Version="2.0"/>`,
		`<samlp:AuthnRequest xmlns:samlp="` + nsSAMLP + `" ID="_2"/>`,
	} {
		u, _ := redirectURL("https://sp.example.com/slo", "SAMLRequest", []byte(xml), "rs", &kp)
		pu, _ := url.Parse(u)
		f.Add(pu.RawQuery)
	}
	f.Add("SAMLRequest=%%&RelayState=a&RelayState=b")
	f.Add("SAMLResponse=" + url.QueryEscape(deflateB64(bytes.Repeat([]byte("A"), 1<<16))))
	e := newEnv(f)
	f.Fuzz(func(t *testing.T, q string) {
		m, err := decodeRedirect(q, 1<<16)
		if err == nil && len(m.xml) > 1<<16 {
			t.Fatalf("inflated past the bound: %d", len(m.xml))
		}
		_, err = e.sp.ValidateLogoutRequest(context.Background(), e.idp, InboundMessage{RawQuery: q})
		if err != nil && ReasonOf(err) == "" {
			t.Fatalf("error without a reason: %v", err)
		}
	})
}

// TestWriteFuzzSeeds regenerates testdata/fuzz (run with
// LANYARD_WRITE_FUZZ_SEEDS=1). The seeds are signed with keys generated at
// run time, so they exercise the parser and the refusals, not acceptance.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("LANYARD_WRITE_FUZZ_SEEDS") == "" {
		t.Skip("set LANYARD_WRITE_FUZZ_SEEDS=1 to regenerate testdata/fuzz")
	}
	write := func(target string, i int, v any) {
		dir := filepath.Join("testdata", "fuzz", target)
		os.MkdirAll(dir, 0o755)
		var body string
		switch x := v.(type) {
		case []byte:
			body = fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", x)
		case string:
			body = fmt.Sprintf("go test fuzz v1\nstring(%q)\n", x)
		}
		sum := sha256.Sum256([]byte(body))
		name := fmt.Sprintf("seed-%02d-%x", i, sum[:4])
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for i, s := range fuzzSeeds(t) {
		write("FuzzValidateResponse", i, s)
	}
	kp := KeyPair{Signer: idpKey, Certificate: idpCert}
	u, _ := redirectURL("https://sp.example.com/slo", "SAMLRequest", []byte(`<samlp:LogoutRequest xmlns:samlp="`+nsSAMLP+`" ID="_1" Version="2.0"/>`), "rs", &kp)
	pu, _ := url.Parse(u)
	write("FuzzDecodeRedirect", 0, pu.RawQuery)
	write("FuzzDecodeRedirect", 1, "SAMLRequest=%%&RelayState=a&RelayState=b")
}
