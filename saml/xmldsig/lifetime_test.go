package xmldsig

import (
	"crypto/sha256"
	"strings"
	"testing"
)

// TestReleasedDocumentPanics: with poisoning on (as under the race
// detector), every use of a released Document or of a node of it panics,
// whatever the accessor; the next document parsed does not reuse its
// memory.
func TestReleasedDocumentPanics(t *testing.T) {
	defer func(old bool) { poisonReleased = old }(poisonReleased)
	poisonReleased = true
	const doc = `<a xmlns="urn:a" ID="_1"><b x="1">text</b><c/></a>`
	uses := map[string]func(d *Document, n, text *Node){
		"Root":          func(d *Document, _, _ *Node) { d.Root() },
		"All":           func(d *Document, _, _ *Node) { d.All() },
		"IsElement":     func(_ *Document, n, _ *Node) { n.IsElement() },
		"Local":         func(_ *Document, n, _ *Node) { n.Local() },
		"Space":         func(_ *Document, n, _ *Node) { n.Space() },
		"Text":          func(_ *Document, _, tn *Node) { tn.Text() },
		"Attrs":         func(_ *Document, n, _ *Node) { n.Attrs() },
		"Namespaces":    func(_ *Document, n, _ *Node) { n.Namespaces() },
		"Parent":        func(_ *Document, n, _ *Node) { n.Parent() },
		"FirstChild":    func(_ *Document, n, _ *Node) { n.FirstChild() },
		"NextSibling":   func(_ *Document, n, _ *Node) { n.NextSibling() },
		"Attr":          func(_ *Document, n, _ *Node) { n.Attr("x") },
		"AttrValue":     func(_ *Document, n, _ *Node) { n.AttrValue("x") },
		"Is":            func(_ *Document, n, _ *Node) { n.Is("urn:a", "b") },
		"Child":         func(_ *Document, n, _ *Node) { n.Child("urn:a", "b") },
		"CountChildren": func(_ *Document, n, _ *Node) { n.CountChildren("urn:a", "b") },
		"TextContent":   func(_ *Document, n, _ *Node) { n.TextContent() },
		"TrimmedText":   func(_ *Document, n, _ *Node) { n.TrimmedText() },
		"Canonicalize":  func(_ *Document, n, _ *Node) { Canonicalize(sha256.New(), n, ExclusiveC14N, nil, nil) },
		"SignatureOf":   func(_ *Document, n, _ *Node) { SignatureOf(n) },
		"VerifyEnveloped": func(_ *Document, n, _ *Node) {
			VerifyEnveloped(n, n, &VerifyOptions{})
		},
		"Decrypt": func(_ *Document, n, _ *Node) { Decrypt(n, &DecryptOptions{}) },
	}
	for name, use := range uses {
		d, err := Parse([]byte(doc), Limits{})
		if err != nil {
			t.Fatal(err)
		}
		b := d.Root().FirstChild()
		text := b.FirstChild()
		use(d, b, text) // alive: no panic
		d.Release()
		d.Release() // a second Release is harmless
		// The next documents parsed get fresh memory.
		for range 3 {
			d2, _ := Parse([]byte(strings.Replace(doc, "text", "other", 1)), Limits{})
			if b.kind != kindReleased || text.kind != kindReleased {
				t.Fatalf("%s: a released node was reused", name)
			}
			d2.Release()
		}
		func() {
			defer func() {
				if r := recover(); r != errReleased {
					t.Errorf("%s after Release: recovered %v, want the released-document panic", name, r)
				}
			}()
			use(d, b, text)
		}()
	}
}

// TestReleaseWithoutPoison: in production mode a released document's
// memory goes back to the pools and Root and All still refuse it.
func TestReleaseWithoutPoison(t *testing.T) {
	defer func(old bool) { poisonReleased = old }(poisonReleased)
	poisonReleased = false
	d, err := Parse([]byte(`<a/>`), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	d.Release()
	defer func() {
		if r := recover(); r != errReleased {
			t.Errorf("Root after Release: recovered %v", r)
		}
	}()
	d.Root()
}
