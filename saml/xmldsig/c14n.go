package xmldsig

import (
	"cmp"
	"hash"
	"slices"
	"strings"
	"sync"
)

// Canonicalisation (W3C Canonical XML 1.0 and Exclusive XML Canonicalization
// 1.0, both without comments) of an element subtree of the parsed tree,
// written straight into a hash: the signed bytes are never materialised.
// Comments are not in the tree, so the "#WithComments" variants are refused
// by the caller rather than computed wrongly.

const (
	AlgC14N10         = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
	AlgC14N10Comments = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments"
	AlgC14N11         = "http://www.w3.org/2006/12/xml-c14n11"
	AlgC14N11Comments = "http://www.w3.org/2006/12/xml-c14n11#WithComments"
	AlgExcC14N        = "http://www.w3.org/2001/10/xml-exc-c14n#"
	AlgExcC14NComm    = "http://www.w3.org/2001/10/xml-exc-c14n#WithComments"
	AlgEnveloped      = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
)

// c14nWriter buffers canonical output into a hash.
type c14nWriter struct {
	h   hash.Hash
	n   int
	buf [4096]byte
	// rendered holds the namespace declarations rendered by output
	// ancestors, scope those in scope of the current element.
	rendered nsScope
	scope    nsScope
	chain    []*Node
	scratch  []Namespace
	attrs    []*Attr
	// Sort keys and copies of long lists (sortNamespaces, sortAttrs).
	keys    []sortKey
	packed  []uint64
	nsTmp   []Namespace
	attrTmp []*Attr
	// exclusive selects Exclusive C14N; inclusive lists the
	// InclusiveNamespaces PrefixList ("" for #default).
	exclusive bool
	v11       bool
	// nsClean: no namespace name of the document needs escaping
	// (Node.nsClean of its top node).
	nsClean   bool
	inclusive []string
	// trackScope: scope is kept (see Canonicalize).
	trackScope bool
	// skip is the enveloped Signature element left out, or nil.
	skip *Node
}

func (w *c14nWriter) flush() {
	if w.n > 0 {
		w.h.Write(w.buf[:w.n])
		w.n = 0
	}
}

// str and byte1 are small enough to be inlined where they fit in the
// buffer, which is nearly always: the canonical form is written a few
// bytes at a time.
func (w *c14nWriter) str(s string) {
	if len(s) <= len(w.buf)-w.n {
		w.n += copy(w.buf[w.n:], s)
		return
	}
	w.strSlow(s)
}

func (w *c14nWriter) strSlow(s string) {
	for len(s) > 0 {
		if w.n == len(w.buf) {
			w.flush()
		}
		k := copy(w.buf[w.n:], s)
		w.n += k
		s = s[k:]
	}
}

func (w *c14nWriter) byte1(c byte) {
	if w.n < len(w.buf) {
		w.buf[w.n] = c
		w.n++
		return
	}
	w.byte1Slow(c)
}

func (w *c14nWriter) byte1Slow(c byte) {
	w.flush()
	w.buf[0] = c
	w.n = 1
}

// escText and escAttr mark the bytes canonical XML escapes in text and in
// attribute values.
var escText, escAttr [256]bool

func init() {
	for _, c := range "&<>\r" {
		escText[c] = true
	}
	for _, c := range "&<\"\t\n\r" {
		escAttr[c] = true
	}
}

// cleanFor tells whether s holds none of the bytes tab marks.
func cleanFor(s string, tab *[256]bool) bool {
	for i := 0; i < len(s); i++ {
		if tab[s[i]] {
			return false
		}
	}
	return true
}

func (w *c14nWriter) text(s string) { w.escaped(s, &escText) }

func (w *c14nWriter) attrText(s string) { w.escaped(s, &escAttr) }

func (w *c14nWriter) escaped(s string, tab *[256]bool) {
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !tab[c] {
			continue
		}
		w.str(s[start:i])
		start = i + 1
		switch c {
		case '&':
			w.str("&amp;")
		case '<':
			w.str("&lt;")
		case '>':
			w.str("&gt;")
		case '"':
			w.str("&quot;")
		case '\t':
			w.str("&#x9;")
		case '\n':
			w.str("&#xA;")
		case '\r':
			w.str("&#xD;")
		}
	}
	w.str(s[start:])
}

// Canonicalize writes the canonical form of the subtree rooted at n into h.
// Its cost is linear in the subtree: namespace bindings in scope and those
// already rendered are looked up in O(1) (nsScope), and the InclusiveNamespaces
// list is a deduplicated set bounded by the caller (MaxInclusivePrefixes).
func Canonicalize(h hash.Hash, n *Node, method Method, inclusivePrefixes []string, skip *Node) {
	n.live()
	w := c14nPool.get()
	w.h = h
	w.exclusive = method == ExclusiveC14N
	w.v11 = method == InclusiveC14N11
	w.inclusive = inclusivePrefixes
	w.skip = skip
	w.rendered.reset()
	w.scope.reset()
	// The declarations in scope at the apex, outermost first.
	w.chain = w.chain[:0]
	for e := n.parent; e != nil; e = e.parent {
		w.chain = append(w.chain, e)
	}
	w.nsClean = n.nsClean
	if len(w.chain) > 0 {
		w.nsClean = w.chain[len(w.chain)-1].nsClean
	}
	// The bindings in scope are looked up for the InclusiveNamespaces
	// list of exclusive C14N, and for the apex of inclusive C14N only.
	w.trackScope = !w.exclusive || len(w.inclusive) > 0
	if w.trackScope {
		for i := len(w.chain) - 1; i >= 0; i-- {
			for _, d := range w.chain[i].ns {
				w.scope.push(d)
			}
		}
	}
	clear(w.chain)
	w.element(n, true)
	w.flush()
	w.h = nil
	w.skip = nil
	w.inclusive = nil
	c14nPool.put(w)
}

func (w *c14nWriter) element(n *Node, apex bool) {
	mark := len(w.rendered.decls)
	scopeMark := len(w.scope.decls)
	if w.trackScope && (w.exclusive || apex) {
		for _, d := range n.ns {
			w.scope.push(d)
		}
	}
	w.scratch = w.scratch[:0]
	if w.exclusive {
		// Visibly utilised prefixes (bound as the parser resolved them),
		// plus the InclusiveNamespaces list.
		w.scratch = append(w.scratch, Namespace{n.prefix, n.space})
		for i := range n.attrs {
			if a := &n.attrs[i]; a.prefix != "" && a.prefix != "xml" {
				w.scratch = append(w.scratch, Namespace{a.prefix, a.space})
			}
		}
		for _, p := range w.inclusive {
			if p == "xml" {
				// The xml prefix is bound implicitly and never rendered
				// (xmlns:xml is not output), whether or not listed.
				continue
			}
			uri, ok := w.scope.lookup(p)
			if !ok && p != "" {
				continue // not in scope: nothing to render
			}
			w.scratch = append(w.scratch, Namespace{p, uri})
		}
		if len(w.scratch) > 1 {
			w.sortNamespaces(w.scratch)
			// One prefix has one binding in the scope of n.
			w.scratch = slices.CompactFunc(w.scratch, func(a, b Namespace) bool { return a.prefix == b.prefix })
		}
		k := 0
		for _, d := range w.scratch {
			prev, had := w.rendered.lookup(d.prefix)
			if d.prefix == "" && !had {
				had, prev = true, ""
			}
			if had && prev == d.uri {
				continue
			}
			w.scratch[k] = d
			k++
		}
		w.scratch = w.scratch[:k]
	} else if apex {
		// Inclusive C14N of a subtree: every in-scope namespace, the
		// innermost binding of each prefix.
		for i, d := range w.scope.decls {
			if !w.scope.innermost(i) || d.prefix == "" && d.uri == "" {
				continue
			}
			w.scratch = append(w.scratch, d)
		}
	} else {
		for _, d := range n.ns {
			prev, had := w.rendered.lookup(d.prefix)
			if d.prefix == "" && !had {
				had, prev = true, ""
			}
			if had && prev == d.uri {
				continue
			}
			w.scratch = append(w.scratch, d)
		}
	}
	if len(w.scratch) > 1 && !w.exclusive {
		w.sortNamespaces(w.scratch)
	}
	for _, d := range w.scratch {
		w.rendered.push(d)
	}
	decls := w.rendered.decls[mark:]

	w.byte1('<')
	if n.prefix != "" {
		w.str(n.prefix)
		w.byte1(':')
	}
	w.str(n.local)
	for _, d := range decls {
		if d.prefix == "" {
			w.str(` xmlns="`)
		} else {
			w.str(" xmlns:")
			w.str(d.prefix)
			w.str(`="`)
		}
		if w.nsClean {
			w.str(d.uri)
		} else {
			w.attrText(d.uri)
		}
		w.byte1('"')
	}
	attrStart := len(w.attrs)
	for i := range n.attrs {
		w.attrs = append(w.attrs, &n.attrs[i])
	}
	if apex && !w.exclusive {
		// Canonical XML 1.0: xml:* attributes are inherited by the apex;
		// 1.1 inherits xml:lang and xml:space only (xml:base would need
		// fixing up: left out, so such a signature fails to verify).
		for e := n.parent; e != nil; e = e.parent {
			for i := range e.attrs {
				a := &e.attrs[i]
				if a.space != nsXML || w.v11 && a.local != "lang" && a.local != "space" {
					continue
				}
				dup := false
				for _, b := range w.attrs[attrStart:] {
					if b.space == nsXML && b.local == a.local {
						dup = true
						break
					}
				}
				if !dup {
					w.attrs = append(w.attrs, a)
				}
			}
		}
	}
	as := w.attrs[attrStart:]
	if len(as) > 1 {
		w.sortAttrs(as)
	}
	// The element's own attributes only: those an apex inherits are
	// escaped.
	clean := n.attrsClean && len(as) == len(n.attrs)
	for _, a := range as {
		w.byte1(' ')
		if a.prefix != "" {
			w.str(a.prefix)
			w.byte1(':')
		}
		w.str(a.local)
		w.str(`="`)
		if clean {
			w.str(a.value)
		} else {
			w.attrText(a.value)
		}
		w.byte1('"')
	}
	w.attrs = w.attrs[:attrStart]
	w.byte1('>')
	for c := n.first; c != nil; c = c.next {
		if c.kind == kindText {
			if c.clean {
				w.str(c.local)
			} else {
				w.text(c.local)
			}
		} else if c != w.skip {
			w.element(c, false)
		}
	}
	w.str("</")
	if n.prefix != "" {
		w.str(n.prefix)
		w.byte1(':')
	}
	w.str(n.local)
	w.byte1('>')
	w.rendered.truncate(mark)
	w.scope.truncate(scopeMark)
}

// Canonical XML orders namespace declarations by prefix and attributes by
// namespace name then local name. Long lists (an attacker's 62 attributes
// per element) are sorted on the strings' first eight bytes, and the
// strings compared only where those are equal.

// key8 is the first eight bytes of s, big-endian, zero-padded: where the
// keys of two strings differ they order as the strings do.
func key8(s string) uint64 {
	var k uint64
	for i := 0; i < 8; i++ {
		k <<= 8
		if i < len(s) {
			k |= uint64(s[i])
		}
	}
	return k
}

// sortKey is a key8 and the index of its string in the list sorted: the
// sort moves 16 bytes without pointers, not the list's elements.
type sortKey struct {
	k uint64
	i int
}

func cmpPrefix(a, b Namespace) int { return strings.Compare(a.prefix, b.prefix) }

func cmpAttr(a, b *Attr) int {
	if c := strings.Compare(a.space, b.space); c != 0 {
		return c
	}
	return strings.Compare(a.local, b.local)
}

// sortNamespaces sorts declarations by prefix.
func (w *c14nWriter) sortNamespaces(ns []Namespace) {
	keyedSort(&w.keys, &w.packed, &w.nsTmp, ns, func(n Namespace) string { return n.prefix }, cmpPrefix)
}

// sortAttrs sorts attributes by namespace name, then local name.
func (w *c14nWriter) sortAttrs(as []*Attr) {
	keyedSort(&w.keys, &w.packed, &w.attrTmp, as, func(a *Attr) string { return a.space }, cmpAttr)
}

// keyedSort sorts xs by compare. Past 8 elements it sorts indices on the
// first bytes of each element's primary string and compares whole
// elements only on ties, then permutes xs through tmp; keys, packed and
// tmp are the writer's scratch. Up to 256 elements (an element's
// attributes, its visibly utilised prefixes) a key is the first seven
// bytes with the index in the low byte, sorted as plain integers; longer
// lists sort key8 and index pairs.
func keyedSort[T any](keys *[]sortKey, packed *[]uint64, tmp *[]T, xs []T, primary func(T) string, compare func(a, b T) int) {
	if len(xs) <= 8 {
		// Insertion sort: one to three declarations or attributes, most
		// often already in order.
		for i := 1; i < len(xs); i++ {
			for j := i; j > 0 && compare(xs[j], xs[j-1]) < 0; j-- {
				xs[j], xs[j-1] = xs[j-1], xs[j]
			}
		}
		return
	}
	if len(xs) <= 256 {
		ps := (*packed)[:0]
		for i := range xs {
			ps = append(ps, key8(primary(xs[i]))&^0xff|uint64(i))
		}
		slices.Sort(ps)
		// Runs of equal seven-byte keys are ordered by compare.
		for lo := 0; lo < len(ps); {
			hi := lo + 1
			for hi < len(ps) && ps[hi]>>8 == ps[lo]>>8 {
				hi++
			}
			if hi-lo > 1 {
				slices.SortFunc(ps[lo:hi], func(a, b uint64) int { return compare(xs[a&0xff], xs[b&0xff]) })
			}
			lo = hi
		}
		t := append((*tmp)[:0], xs...)
		for j, p := range ps {
			xs[j] = t[p&0xff]
		}
		clear(t)
		*packed, *tmp = ps, t
		return
	}
	ks := (*keys)[:0]
	for i := range xs {
		ks = append(ks, sortKey{key8(primary(xs[i])), i})
	}
	slices.SortFunc(ks, func(a, b sortKey) int {
		if a.k != b.k {
			return cmp.Compare(a.k, b.k)
		}
		return compare(xs[a.i], xs[b.i])
	})
	t := append((*tmp)[:0], xs...)
	for j, k := range ks {
		xs[j] = t[k.i]
	}
	clear(t)
	*keys, *tmp = ks, t
}

type c14nPoolT struct{ p sync.Pool }

var c14nPool c14nPoolT

func (p *c14nPoolT) get() *c14nWriter {
	if w, ok := p.p.Get().(*c14nWriter); ok && c14nPooling {
		return w
	}
	return &c14nWriter{}
}

func (p *c14nPoolT) put(w *c14nWriter) { p.p.Put(w) }
