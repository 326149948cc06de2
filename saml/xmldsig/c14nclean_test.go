package xmldsig

import (
	mrand "math/rand/v2"
	"strings"
	"testing"
)

// canonical returns the canonical form of n.
func canonical(n *Node, m Method, prefixes []string) string {
	var h collectHash
	Canonicalize(&h, n, m, prefixes, nil)
	return h.String()
}

// dirtyAll clears every "needs no escaping" mark of the document, so that
// canonicalisation escapes every text and namespace name.
func dirtyAll(d *Document) {
	for n := range d.All() {
		n.clean, n.attrsClean = false, false
	}
	for e := d.Root(); e != nil; e = e.parent {
		e.nsClean = false
	}
}

// The marks the parser leaves for canonicalisation (Node.clean on text,
// Node.attrsClean on elements, Node.nsClean on the top node) are set only
// where escaping changes nothing: the family of bytes canonical XML
// escapes, written literally, as references and in CDATA sections, in
// text, attribute values and namespace names (double quotes inside single
// quotes, references, whitespace), including those of Limits.Context, give
// the canonical forms written out below.
func TestCleanMarksMatchEscaping(t *testing.T) {
	cases := []struct {
		name, doc string
		context   []Namespace
		want      string // exclusive C14N of the root
	}{
		{"plain", `<a xmlns="urn:x">text</a>`, nil, `<a xmlns="urn:x">text</a>`},
		{"gt in text", `<a>x>y</a>`, nil, `<a>x&gt;y</a>`},
		{"gt reference", `<a>x&gt;y</a>`, nil, `<a>x&gt;y</a>`},
		{"amp reference", `<a>x&amp;y</a>`, nil, `<a>x&amp;y</a>`},
		{"lt reference", `<a>x&lt;y</a>`, nil, `<a>x&lt;y</a>`},
		{"CR reference", `<a>x&#13;y</a>`, nil, `<a>x&#xD;y</a>`},
		{"CDATA", `<a><![CDATA[<&>]]></a>`, nil, `<a>&lt;&amp;&gt;</a>`},
		{"CDATA then plain", `<a><![CDATA[>]]>z</a>`, nil, `<a>&gt;z</a>`},
		{"comment between", `<a>x<!-- c -->></a>`, nil, `<a>x&gt;</a>`},
		{"gt after element", `<a><b/>></a>`, nil, `<a><b></b>&gt;</a>`},
		{"quote in text", `<a>"'</a>`, nil, `<a>"'</a>`},
		{"ns double quote", `<p:a xmlns:p='urn:"q"'/>`, nil, `<p:a xmlns:p="urn:&quot;q&quot;"></p:a>`},
		{"ns quot reference", `<p:a xmlns:p="urn:&quot;"/>`, nil, `<p:a xmlns:p="urn:&quot;"></p:a>`},
		{"ns amp", `<a xmlns="urn:a&amp;b"/>`, nil, `<a xmlns="urn:a&amp;b"></a>`},
		{"ns lt", `<a xmlns="urn:a&lt;b"/>`, nil, `<a xmlns="urn:a&lt;b"></a>`},
		{"ns tab reference", `<a xmlns="urn:a&#9;b"/>`, nil, `<a xmlns="urn:a&#x9;b"></a>`},
		{"ns LF reference", `<a xmlns="urn:a&#10;b"/>`, nil, `<a xmlns="urn:a&#xA;b"></a>`},
		{"ns CR reference", `<a xmlns="urn:a&#13;b"/>`, nil, `<a xmlns="urn:a&#xD;b"></a>`},
		{"ns literal tab", "<a xmlns=\"urn:a\tb\"/>", nil, `<a xmlns="urn:a b"></a>`},
		{"ns dirty on a child", `<p:a xmlns:p="urn:p"><q:b xmlns:q="urn:&amp;"/></p:a>`, nil, `<p:a xmlns:p="urn:p"><q:b xmlns:q="urn:&amp;"></q:b></p:a>`},
		{"attr double quote", `<a b='x"y' c="z"/>`, nil, `<a b="x&quot;y" c="z"></a>`},
		{"attr quot reference", `<a b="x&quot;y"/>`, nil, `<a b="x&quot;y"></a>`},
		{"attr amp", `<a b="x&amp;y"/>`, nil, `<a b="x&amp;y"></a>`},
		{"attr lt", `<a b="x&lt;y"/>`, nil, `<a b="x&lt;y"></a>`},
		{"attr gt", `<a b="x>y&gt;"/>`, nil, `<a b="x>y>"></a>`},
		{"attr tab reference", `<a b="x&#9;y"/>`, nil, `<a b="x&#x9;y"></a>`},
		{"attr LF reference", `<a b="x&#10;y"/>`, nil, `<a b="x&#xA;y"></a>`},
		{"attr CR reference", `<a b="x&#13;y"/>`, nil, `<a b="x&#xD;y"></a>`},
		{"attr literal whitespace", "<a b=\"x\ty\nz\"/>", nil, `<a b="x y z"></a>`},
		{"attr dirty second", `<a b="x" c="&amp;"/>`, nil, `<a b="x" c="&amp;"></a>`},
		{"attr dirty on a child", `<a b="x"><c d="&lt;"/></a>`, nil, `<a b="x"><c d="&lt;"></c></a>`},
		{"context clean", `<p:a/>`, []Namespace{{"p", "urn:p"}}, `<p:a xmlns:p="urn:p"></p:a>`},
		{"context dirty", `<p:a/>`, []Namespace{{"p", `urn:"&<` + "\t\n\r"}}, `<p:a xmlns:p="urn:&quot;&amp;&lt;&#x9;&#xA;&#xD;"></p:a>`},
	}
	// An apex of inclusive C14N inherits xml:* attributes of its
	// ancestors, which its own mark does not cover.
	d, err := Parse([]byte(`<r xml:lang='"&amp;'><a b="c"/></r>`), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := canonical(d.Root().first, InclusiveC14N10, nil), `<a b="c" xml:lang="&quot;&amp;"></a>`; got != want {
		t.Errorf("inclusive C14N of a child inheriting xml:lang:\n got %s\nwant %s", got, want)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := Parse([]byte(c.doc), Limits{Context: c.context})
			if err != nil {
				t.Fatal(err)
			}
			if got := canonical(d.Root(), ExclusiveC14N, nil); got != c.want {
				t.Errorf("exclusive C14N:\n got %s\nwant %s", got, c.want)
			}
		})
	}
}

// On random documents (the generator of the xmlsec1 differential test:
// references, CDATA, comments, line ends, many namespaces), the marks
// never change a canonical form, of the document or of a subtree, by any
// method.
func TestCleanMarksChangeNothing(t *testing.T) {
	t.Parallel()
	rng := mrand.New(mrand.NewPCG(21, 3))
	n := 2000
	if testing.Short() || raceEnabled {
		n = 400
	}
	refused := 0
	for i := range n {
		doc := genDiffDoc(rng)
		if i%3 == 0 {
			// Namespace names that need escaping, in one declaration.
			doc = strings.Replace(doc, `xmlns:ds="`, `xmlns:ds="urn:&amp;&quot;&#9;`, 1)
		}
		d, err := Parse([]byte(doc), Limits{})
		if err != nil {
			// The generator also writes what the parser refuses
			// (processing instructions).
			refused++
			continue
		}
		var nodes []*Node
		for e := range d.All() {
			if e.kind == kindElement {
				nodes = append(nodes, e)
			}
		}
		pick := []*Node{d.Root(), nodes[rng.IntN(len(nodes))]}
		var got []string
		for _, e := range pick {
			for _, m := range []Method{ExclusiveC14N, InclusiveC14N10, InclusiveC14N11} {
				got = append(got, canonical(e, m, nil), canonical(e, m, []string{"", "p1", "ds"}))
			}
		}
		dirtyAll(d)
		k := 0
		for _, e := range pick {
			for _, m := range []Method{ExclusiveC14N, InclusiveC14N10, InclusiveC14N11} {
				for _, want := range []string{canonical(e, m, nil), canonical(e, m, []string{"", "p1", "ds"})} {
					if got[k] != want {
						t.Fatalf("document %d, <%s>, method %d: with the marks\n%s\nwithout\n%s\ndocument:\n%s", i, e.local, m, got[k], want, doc)
					}
					k++
				}
			}
		}
	}
	if refused > n/4 {
		t.Fatalf("%d of %d documents refused: the test compares too few", refused, n)
	}
}
