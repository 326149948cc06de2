package xmldsig

import (
	"bytes"
	"crypto/rsa"
	"crypto/sha256"
	"hash"
	"strings"
	"testing"
	"unicode/utf16"
)

// bufHash collects canonical output (a hash.Hash that keeps the bytes).
type bufHash struct{ bytes.Buffer }

func (b *bufHash) Sum(p []byte) []byte { return append(p, b.Bytes()...) }
func (b *bufHash) Size() int           { return 0 }
func (b *bufHash) BlockSize() int      { return 1 }

var _ hash.Hash = (*bufHash)(nil)

func c14nString(n *Node, m Method) string {
	var b bufHash
	Canonicalize(&b, n, m, nil, nil)
	return b.String()
}

// toUTF16 encodes s as UTF-16 with a byte order mark.
func toUTF16(s string, bigEndian bool) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 0, 2+2*len(u))
	for _, c := range append([]uint16{0xfeff}, u...) {
		if bigEndian {
			b = append(b, byte(c>>8), byte(c))
		} else {
			b = append(b, byte(c), byte(c>>8))
		}
	}
	return b
}

// fuzzSeeds are the golden fixtures (signed and encrypted by xmlsec1) and
// documents that reach the corners of the parser.
func fuzzSeeds(tb testing.TB) [][]byte {
	var seeds [][]byte
	for _, d := range goldenDocs(tb) {
		seeds = append(seeds, d)
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

// FuzzParseXML checks that parsing never panics and that canonical XML is
// a fixed point: canonicalising the canonical form gives it back.
func FuzzParseXML(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := Parse(data, Limits{MaxSize: 1 << 20})
		if err != nil {
			if e, ok := err.(*Error); !ok || e.Code == "" {
				t.Fatalf("error without a code: %v", err)
			}
			return
		}
		for _, m := range []Method{ExclusiveC14N, InclusiveC14N10} {
			c1 := c14nString(doc.Root(), m)
			doc2, err := Parse([]byte(c1), Limits{})
			if err != nil {
				t.Fatalf("canonical form does not parse: %v\n%s", err, c1)
			}
			if c2 := c14nString(doc2.Root(), m); c1 != c2 {
				t.Fatalf("not a fixed point:\n%s\n%s", c1, c2)
			}
		}
		// A subtree (the bindings of its ancestors in scope) with an
		// InclusiveNamespaces list.
		var sub *Node
		for c := doc.Root().FirstChild(); c != nil && sub == nil; c = c.NextSibling() {
			if c.IsElement() {
				sub = c
			}
		}
		if sub != nil {
			incl := []string{"", "p", "p0", "q", "xml"}
			var b1, b2 bufHash
			Canonicalize(&b1, sub, ExclusiveC14N, incl, nil)
			doc2, err := Parse(b1.Bytes(), Limits{})
			if err != nil {
				t.Fatalf("canonical form of a subtree does not parse: %v\n%s", err, b1.String())
			}
			Canonicalize(&b2, doc2.Root(), ExclusiveC14N, incl, nil)
			if b1.String() != b2.String() {
				t.Fatalf("subtree not a fixed point:\n%s\n%s", b1.String(), b2.String())
			}
		}
	})
}

// FuzzVerifyEnveloped verifies every signature of arbitrary documents
// (seeded with the golden ones, signed by xmlsec1) with the golden key:
// it must never panic, every refusal has a code, and an accepted element
// is one the key's holder signed (its canonical form is a golden one): a
// fuzzer forges no RSA signature, so any other acceptance is a hole.
func FuzzVerifyEnveloped(f *testing.F) {
	for name, d := range goldenDocs(f) {
		if !strings.HasPrefix(name, "enc-") {
			f.Add(d)
		}
	}
	cert, _ := goldenKeys(f)
	opts := &VerifyOptions{Keys: []Key{NewKey(cert)}, AllowSHA1: true, What: "document"}
	signed := goldenCanonical(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := Parse(data, Limits{MaxSize: 1 << 20})
		if err != nil {
			return
		}
		defer doc.Release()
		for n := range doc.All() {
			if !n.IsElement() {
				continue
			}
			sig, err := SignatureOf(n)
			if err != nil || sig == nil {
				continue
			}
			err = VerifyEnveloped(n, sig, opts)
			if err != nil {
				if e, ok := err.(*Error); !ok || e.Code == "" {
					t.Fatalf("error without a code: %v", err)
				}
				continue
			}
			h := sha256.New()
			Canonicalize(h, n, ExclusiveC14N, nil, sig)
			if !signed[[32]byte(h.Sum(nil))] {
				t.Fatalf("accepted <%s ID=%q>, which the key's holder never signed", n.Local(), n.AttrValue("ID"))
			}
		}
	})
}

// FuzzDecrypt decrypts every EncryptedAssertion of arbitrary documents
// (seeded with the golden ones, encrypted by xmlsec1) with the golden SP
// key, legacy algorithms allowed: it must never panic, and every refusal
// has a code.
func FuzzDecrypt(f *testing.F) {
	for name, d := range goldenDocs(f) {
		if strings.HasPrefix(name, "enc-") {
			f.Add(d)
		}
	}
	_, key := goldenKeys(f)
	opts := &DecryptOptions{Keys: []*rsa.PrivateKey{key}, AllowTripleDES: true, AllowRSA15: true, MaxSize: 1 << 20, What: "assertion"}
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := Parse(data, Limits{MaxSize: 1 << 20})
		if err != nil {
			return
		}
		defer doc.Release()
		for n := range doc.All() {
			if !n.IsElement() || n.Local() != "EncryptedAssertion" {
				continue
			}
			plain, err := Decrypt(n, opts)
			if err != nil {
				if e, ok := err.(*Error); !ok || e.Code == "" {
					t.Fatalf("error without a code: %v", err)
				}
				continue
			}
			plain.Release()
		}
	})
}
