package xmldsig

import (
	"bytes"
	"hash/maphash"
	"iter"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
)

// This file holds Lanyard's own XML reader: one pass over the input into a
// compact tree that keeps, per element, its namespace declarations (needed
// for canonicalisation, XML-DSig) and its resolved namespace. It refuses what
// SAML never needs and attackers love: DOCTYPE (hence DTDs, entities, XXE),
// processing instructions, undeclared prefixes, duplicate attributes,
// encodings other than UTF-8 and UTF-16 (which XML 1.0 requires; it is
// transcoded to UTF-8 first, the form canonical XML signs), and inputs
// deeper than a bound. Comments are
// dropped, and the text around them is joined, exactly as canonical XML
// without comments sees it: the value read is the value signed.

const (
	nsXML   = "http://www.w3.org/XML/1998/namespace"
	nsXMLNS = "http://www.w3.org/2000/xmlns/"
)

type nodeKind uint8

const (
	kindElement nodeKind = iota
	kindText
	// kindReleased marks the nodes of a released Document while
	// poisonReleased holds: any use of one panics.
	kindReleased
)

// errReleased is the panic of a use after Release.
const errReleased = "xmldsig: use of a node of a released Document (Release gives its memory to the next document parsed)"

// live panics when n belongs to a released Document (poisoned: see
// poisonReleased).
func (n *Node) live() {
	if n.kind == kindReleased {
		panic(errReleased)
	}
}

// Attr is an attribute of an element (namespace declarations are not
// attributes: see Namespace).
type Attr struct {
	prefix, local, space, value string
}

// Local returns the attribute's local name.
func (a *Attr) Local() string { return a.local }

// Space returns the attribute's namespace name ("" when unqualified).
func (a *Attr) Space() string { return a.space }

// Value returns the attribute's normalised value.
func (a *Attr) Value() string { return a.value }

// Namespace is a namespace declaration: a prefix ("" for the default
// namespace) bound to a namespace name.
type Namespace struct {
	prefix, uri string
}

// Prefix returns the declared prefix ("" for the default namespace).
func (d Namespace) Prefix() string { return d.prefix }

// URI returns the namespace name.
func (d Namespace) URI() string { return d.uri }

// Node is an element or a text node of the tree. A text node keeps its
// character data in local and uses only parent and next besides. A Node is
// read-only for users of this package.
type Node struct {
	kind nodeKind
	// clean, on a text node, tells that its text holds none of the bytes
	// canonical XML escapes in text (escText), so that canonicalisation
	// copies it as it is; false may also mean it was not checked.
	clean bool
	// nsClean, on the document's top node (the root, or the element that
	// holds Limits.Context), tells the same of every namespace declaration
	// value of the document (escAttr): canonicalisation then copies the
	// namespace names it renders.
	nsClean bool
	// attrsClean, on an element, tells that no value of its attributes
	// holds a byte canonical XML escapes in attribute values (escAttr).
	attrsClean           bool
	prefix, local, space string
	attrs                []Attr
	ns                   []Namespace
	parent, first, next  *Node
}

// IsElement tells whether n is an element (else it is a text node).
func (n *Node) IsElement() bool {
	n.live()
	return n.kind == kindElement
}

// Local returns the element's local name ("" for a text node).
func (n *Node) Local() string {
	n.live()
	if n.kind != kindElement {
		return ""
	}
	return n.local
}

// Space returns the element's namespace name.
func (n *Node) Space() string {
	n.live()
	return n.space
}

// Text returns the character data of a text node ("" for an element).
func (n *Node) Text() string {
	n.live()
	if n.kind != kindText {
		return ""
	}
	return n.local
}

// Attrs returns the element's attributes in document order; the slice
// belongs to the tree and must not be modified.
func (n *Node) Attrs() []Attr {
	n.live()
	return n.attrs
}

// Namespaces returns the namespace declarations made on the element.
func (n *Node) Namespaces() []Namespace {
	n.live()
	return n.ns
}

// Parent returns the parent element, nil for the root.
func (n *Node) Parent() *Node {
	n.live()
	return n.parent
}

// FirstChild returns the first child (element or text), or nil.
func (n *Node) FirstChild() *Node {
	n.live()
	return n.first
}

// NextSibling returns the next sibling (element or text), or nil.
func (n *Node) NextSibling() *Node {
	n.live()
	return n.next
}

// Document is a parsed XML document. Nodes live in chunks that are never
// reallocated, so pointers to them stay valid.
type Document struct {
	root   *Node
	chunks [][]Node
	count  int // nodes allocated
	limit  int // bound on count
	next   int // size of the next chunk
	ids    []idEntry
	// Room for the chunk list and the IDs of a usual document, allocated
	// with it.
	chunksBuf [4][]Node
	idsBuf    [4]idEntry
	idMap     map[string]*Node // when ids grows
	// pooledAttrs is the attribute arena borrowed from the pool; chunks of
	// capacity pooledChunk come from the pool too.
	pooledAttrs []Attr
	attrsUsed   int
	// pooledNS is the namespace declaration arena borrowed from the pool.
	pooledNS []Namespace
	nsUsed   int
	released bool
}

// Node chunks and attribute arenas are reused between documents of the
// validation hot path (release): fewer allocations, less GC work.
const pooledChunk = 256

// maxPooledChunks bounds the pooled chunks of one document (8192 nodes,
// a 200-group assertion takes 2); the nodes of larger ones are allocated.
const maxPooledChunks = 32

var (
	chunkPool sync.Pool // *[pooledChunk]Node
	attrPool  sync.Pool // *[pooledAttrs]Attr
	nsPool    sync.Pool // *[pooledNS]Namespace
)

const (
	pooledAttrs = 512
	pooledNS    = 256
)

// Release returns the document's memory to the pools. The document, and
// every node pointer into it, must not be used afterwards (Root and All
// panic; under the race detector every node is poisoned: any accessor
// panics); strings read from it stay valid (they point into the input). A
// second Release does nothing.
func (d *Document) Release() {
	if d.released {
		return
	}
	if poisonReleased {
		// Nothing goes back to the pools: every node keeps its poison.
		for _, c := range d.chunks {
			for i := range c {
				c[i] = Node{kind: kindReleased}
			}
		}
		clear(d.pooledAttrs[:d.attrsUsed])
		clear(d.pooledNS[:d.nsUsed])
		*d = Document{released: true}
		return
	}
	if !pooling {
		*d = Document{released: true}
		return
	}
	for _, c := range d.chunks {
		if cap(c) == pooledChunk {
			clear(c) // only what was used
			chunkPool.Put((*[pooledChunk]Node)(c[:pooledChunk]))
		}
	}
	if cap(d.pooledAttrs) == pooledAttrs {
		clear(d.pooledAttrs[:d.attrsUsed])
		attrPool.Put((*[pooledAttrs]Attr)(d.pooledAttrs[:pooledAttrs]))
	}
	if cap(d.pooledNS) == pooledNS {
		clear(d.pooledNS[:d.nsUsed])
		nsPool.Put((*[pooledNS]Namespace)(d.pooledNS[:pooledNS]))
	}
	*d = Document{released: true}
}

// Root returns the document element.
func (d *Document) Root() *Node {
	if d.released {
		panic(errReleased)
	}
	return d.root
}

// All yields every node of the document (elements and text) in document
// order.
func (d *Document) All() iter.Seq[*Node] {
	if d.released {
		panic(errReleased)
	}
	return func(yield func(*Node) bool) {
		for _, c := range d.chunks {
			for i := range c {
				if !yield(&c[i]) {
					return
				}
			}
		}
	}
}

type idEntry struct {
	id string
	el *Node
}

// Attr returns the value of the unqualified attribute local, and whether it
// is present.
func (n *Node) Attr(local string) (string, bool) {
	n.live()
	for i := range n.attrs {
		a := &n.attrs[i]
		if a.local == local && a.space == "" {
			return a.value, true
		}
	}
	return "", false
}

// AttrValue returns the value of the unqualified attribute local, or "".
func (n *Node) AttrValue(local string) string {
	n.live()
	v, _ := n.Attr(local)
	return v
}

// Is tells whether n is an element with the given namespace and local name.
func (n *Node) Is(space, local string) bool {
	n.live()
	return n.kind == kindElement && n.local == local && n.space == space
}

// Child returns the first element child with the given name.
func (n *Node) Child(space, local string) *Node {
	n.live()
	for c := n.first; c != nil; c = c.next {
		if c.Is(space, local) {
			return c
		}
	}
	return nil
}

// CountChildren counts element children with the given name.
func (n *Node) CountChildren(space, local string) int {
	n.live()
	k := 0
	for c := n.first; c != nil; c = c.next {
		if c.Is(space, local) {
			k++
		}
	}
	return k
}

// TextContent returns the text of an element whose content is text only;
// for mixed content it concatenates the direct text children.
func (n *Node) TextContent() string {
	n.live()
	if n.first != nil && n.first.next == nil && n.first.kind == kindText {
		return n.first.local
	}
	var b strings.Builder
	for c := n.first; c != nil; c = c.next {
		if c.kind == kindText {
			b.WriteString(c.local)
		}
	}
	return b.String()
}

// TrimmedText returns TextContent without surrounding XML whitespace.
func (n *Node) TrimmedText() string {
	return strings.Trim(n.TextContent(), " \t\r\n")
}

// Limits bounds the parser.
type Limits struct {
	// MaxSize bounds the input in bytes (after transcoding from UTF-16);
	// 0 means no bound.
	MaxSize int
	// MaxDepth bounds the nesting of elements; 0 means DefaultMaxDepth.
	MaxDepth int
	// MaxNodes bounds elements plus text nodes; 0 means DefaultMaxNodes,
	// negative means no bound (trusted metadata).
	MaxNodes int
	// Context holds namespace declarations in scope around the document
	// (for a decrypted fragment, or an element cut out of a larger one).
	Context []Namespace
}

// Default bounds of the parser.
const (
	DefaultMaxDepth = 64
	DefaultMaxNodes = 50000
)

type parser struct {
	s     string
	pos   int
	doc   *Document
	attrs []Attr
	nsbuf []Namespace
	stack nsScope // in-scope declarations
	lim   Limits
	sb    []byte
	utf16 bool // the input was UTF-16, now transcoded to UTF-8
	// nsDirty tells that a namespace declaration's value may hold a byte
	// canonical XML escapes (see Node.nsClean).
	nsDirty bool
}

// utf16ToUTF8 transcodes UTF-16 (after its byte order mark) to UTF-8,
// refusing an odd length and unpaired surrogates as malformed.
func utf16ToUTF8(b []byte, bigEndian bool) ([]byte, error) {
	if len(b)%2 != 0 {
		return nil, parseErr("the UTF-16 input has an odd number of bytes")
	}
	unit := func(i int) rune {
		if bigEndian {
			return rune(b[i])<<8 | rune(b[i+1])
		}
		return rune(b[i+1])<<8 | rune(b[i])
	}
	out := make([]byte, 0, len(b)/2+len(b)/4)
	for i := 0; i < len(b); i += 2 {
		r := unit(i)
		switch {
		case r >= 0xd800 && r < 0xdc00:
			if i+2 < len(b) {
				if lo := unit(i + 2); lo >= 0xdc00 && lo < 0xe000 {
					r = utf16.DecodeRune(r, lo)
					i += 2
					break
				}
			}
			return nil, parseErr("unpaired UTF-16 surrogate at offset %d", i+2)
		case r >= 0xdc00 && r < 0xe000:
			return nil, parseErr("unpaired UTF-16 surrogate at offset %d", i+2)
		}
		out = utf8.AppendRune(out, r)
	}
	return out, nil
}

// dupSeed seeds the duplicate attribute check's hash set.
var dupSeed = maphash.MakeSeed()

func parseErr(format string, args ...any) *Error {
	return errorf(Malformed, "the XML is not well-formed: "+format, args...)
}

// Parse parses a complete document: UTF-8, or UTF-16 with a byte order
// mark. The size bound applies to the input and to its UTF-8 form. The
// document keeps a copy of data: the caller may reuse it.
func Parse(data []byte, lim Limits) (*Document, error) {
	if lim.MaxSize > 0 && len(data) > lim.MaxSize {
		return nil, errTooLarge(len(data), lim.MaxSize)
	}
	if hasUTF16BOM(data) {
		return parseUTF16(data, lim)
	}
	if bytes.HasPrefix(data, []byte("<\x00?\x00")) || bytes.HasPrefix(data, []byte("\x00<\x00?")) {
		return nil, errUTF16NoBOM()
	}
	return parseUTF8(string(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))), false, lim)
}

// ParseString is Parse of a string: the document's strings point into s,
// which is not copied.
func ParseString(s string, lim Limits) (*Document, error) {
	if lim.MaxSize > 0 && len(s) > lim.MaxSize {
		return nil, errTooLarge(len(s), lim.MaxSize)
	}
	if len(s) >= 2 && (s[0] == 0xfe && s[1] == 0xff || s[0] == 0xff && s[1] == 0xfe) {
		return parseUTF16([]byte(s), lim)
	}
	if strings.HasPrefix(s, "<\x00?\x00") || strings.HasPrefix(s, "\x00<\x00?") {
		return nil, errUTF16NoBOM()
	}
	return parseUTF8(strings.TrimPrefix(s, "\xef\xbb\xbf"), false, lim)
}

func hasUTF16BOM(data []byte) bool {
	return len(data) >= 2 && (data[0] == 0xfe && data[1] == 0xff || data[0] == 0xff && data[1] == 0xfe)
}

func errTooLarge(n, max int) *Error {
	return errorf(TooLarge, "the XML document is %d bytes, more than the %d allowed", n, max)
}

func errUTF16NoBOM() *Error {
	return parseErr("the input looks like UTF-16 without a byte order mark, which XML 1.0 requires")
}

// parseUTF16 transcodes a document that starts with a UTF-16 byte order
// mark to UTF-8 and parses it.
func parseUTF16(data []byte, lim Limits) (*Document, error) {
	u, err := utf16ToUTF8(data[2:], data[0] == 0xfe)
	if err != nil {
		return nil, err
	}
	if lim.MaxSize > 0 && len(u) > lim.MaxSize {
		return nil, errorf(TooLarge, "the XML document is %d bytes once converted from UTF-16 to UTF-8, more than the %d allowed", len(u), lim.MaxSize)
	}
	return parseUTF8(string(u), true, lim)
}

// parseUTF8 parses the UTF-8 form of a document (byte order mark removed).
func parseUTF8(s string, fromUTF16 bool, lim Limits) (*Document, error) {
	if lim.MaxDepth <= 0 {
		lim.MaxDepth = DefaultMaxDepth
	}
	if i, ok := checkChars(s); !ok {
		return nil, parseErr("the input is not valid UTF-8")
	} else if i >= 0 {
		return nil, parseErr("control character 0x%02x at offset %d", s[i], i)
	}
	if strings.IndexByte(s, '\r') >= 0 {
		// XML 1.0 section 2.11: normalise line ends before parsing.
		s = strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
	}
	// Elements and text nodes are at most one per '<' each. A bound on
	// nodes keeps hostile inputs made of tiny elements from costing ~100
	// bytes of memory per input byte. The first chunk holds the elements
	// (at most one per '<' that starts no end tag) and some text nodes.
	lt := strings.Count(s, "<")
	eq := strings.Count(s, "=")
	limit := 2*lt + 2
	maxNodes := lim.MaxNodes
	if maxNodes == 0 {
		maxNodes = DefaultMaxNodes
	}
	if maxNodes > 0 && limit > maxNodes {
		limit = maxNodes
	}
	elems := lt / 2 // each element has a start tag and, unless empty, an end tag
	p := getParser()
	defer putParser(p)
	p.s = s
	p.doc = &Document{limit: limit, next: min(elems+elems/2+8, limit)}
	p.doc.chunks, p.doc.ids = p.doc.chunksBuf[:0], p.doc.idsBuf[:0]
	// Attributes of earlier elements keep their (full-capacity) slices
	// when append moves the arena, so an estimate is enough.
	p.attrs = newAttrArena(eq)
	p.nsbuf = newNSArena()
	p.lim = lim
	p.utf16 = fromUTF16
	var ctx *Node
	if len(lim.Context) > 0 {
		// A synthetic parent holding the inherited declarations, so that
		// canonicalisation and lookups see them.
		ctx = &Node{kind: kindElement, ns: lim.Context}
		for _, d := range lim.Context {
			p.stack.push(d)
		}
	}
	if eq <= pooledAttrs {
		p.doc.pooledAttrs = p.attrs
	}
	if pooling {
		p.doc.pooledNS = p.nsbuf
	}
	for _, d := range lim.Context {
		p.nsDirty = p.nsDirty || !cleanFor(d.uri, &escAttr)
	}
	err := p.parse(ctx)
	if err == nil {
		top := p.doc.root
		if ctx != nil {
			top = ctx
		}
		top.nsClean = !p.nsDirty
	}
	p.doc.attrsUsed = min(len(p.attrs), cap(p.doc.pooledAttrs))
	p.doc.nsUsed = min(len(p.nsbuf), cap(p.doc.pooledNS))
	doc := p.doc
	if err != nil {
		doc.Release()
		return nil, err
	}
	return doc, nil
}

// parserPool keeps the parser's scratch (the namespace stack, the text
// joining buffer) between documents; nothing in it outlives a parse.
var parserPool = sync.Pool{New: func() any { return new(parser) }}

func getParser() *parser {
	if !pooling {
		return new(parser)
	}
	return parserPool.Get().(*parser)
}

func putParser(p *parser) {
	if !pooling {
		return
	}
	p.stack.reset()
	*p = parser{stack: p.stack, sb: p.sb[:0]}
	parserPool.Put(p)
}

// newNode returns a fresh node, or nil when the arena is full (the caller
// refuses the document: growing the arena would move the nodes).
func (p *parser) newNode() *Node {
	d := p.doc
	if d.count >= d.limit {
		return nil
	}
	last := len(d.chunks) - 1
	if last < 0 || len(d.chunks[last]) == cap(d.chunks[last]) {
		size := min(max(d.next, 16), d.limit-d.count)
		var c []Node
		if pooling && (size <= pooledChunk || len(d.chunks) < maxPooledChunks) {
			// Larger documents take several pooled chunks: a chunk sized
			// to the document would be garbage after each parse.
			if v, ok := chunkPool.Get().(*[pooledChunk]Node); ok {
				c = v[:0]
			} else {
				c = new([pooledChunk]Node)[:0]
			}
		} else {
			c = make([]Node, 0, size)
			d.next = max(64, size)
		}
		d.chunks = append(d.chunks, c)
		last++
	}
	c := d.chunks[last]
	c = c[:len(c)+1]
	d.chunks[last] = c
	d.count++
	return &c[len(c)-1]
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (p *parser) skipSpace() {
	for p.pos < len(p.s) && isSpace(p.s[p.pos]) {
		p.pos++
	}
}

func (p *parser) parse(ctx *Node) error {
	s := p.s
	// Prolog: XML declaration, comments, whitespace.
	if strings.HasPrefix(s, "<?xml") && len(s) > 5 && isSpace(s[5]) {
		end := strings.Index(s, "?>")
		if end < 0 {
			return parseErr("unterminated XML declaration")
		}
		decl := s[5:end]
		if i := strings.Index(decl, "encoding"); i >= 0 {
			rest := strings.TrimLeft(decl[i+8:], " \t\n=")
			if len(rest) > 0 && (rest[0] == '"' || rest[0] == '\'') {
				q := rest[0]
				if j := strings.IndexByte(rest[1:], q); j >= 0 {
					// The declaration names the encoding actually read
					// (XML 1.0 section 4.3.3).
					enc := strings.ToLower(rest[1 : 1+j])
					if p.utf16 {
						if enc != "utf-16" {
							return parseErr("encoding %q declared in a UTF-16 document", rest[1:1+j])
						}
					} else if enc != "utf-8" && enc != "utf8" && enc != "us-ascii" {
						return parseErr("encoding %q is not supported, only UTF-8 and UTF-16 with a byte order mark", rest[1:1+j])
					}
				}
			}
		}
		p.pos = end + 2
	}
	for {
		p.skipSpace()
		if p.pos >= len(s) {
			return parseErr("no root element")
		}
		if s[p.pos] != '<' {
			return parseErr("text before the root element")
		}
		if strings.HasPrefix(s[p.pos:], "<!--") {
			if err := p.skipComment(); err != nil {
				return err
			}
			continue
		}
		if err := p.checkMarkup(); err != nil {
			return err
		}
		break
	}
	root, err := p.parseElement(ctx, 1)
	if err != nil {
		return err
	}
	p.doc.root = root
	for {
		p.skipSpace()
		if p.pos >= len(s) {
			break
		}
		if strings.HasPrefix(s[p.pos:], "<!--") {
			if err := p.skipComment(); err != nil {
				return err
			}
			continue
		}
		if err := p.checkMarkup(); err != nil {
			return err
		}
		return parseErr("content after the root element")
	}
	return nil
}

// checkMarkup refuses DOCTYPE and processing instructions at p.pos.
func (p *parser) checkMarkup() error {
	r := p.s[p.pos:]
	if strings.HasPrefix(r, "<!DOCTYPE") || strings.HasPrefix(r, "<!ENTITY") || strings.HasPrefix(r, "<!ELEMENT") || strings.HasPrefix(r, "<!ATTLIST") {
		return errorf(DTDForbidden, "the document contains a DTD (<!DOCTYPE ...>); SAML messages never carry one and Lanyard refuses them (entity expansion, XXE)")
	}
	if strings.HasPrefix(r, "<?") {
		return parseErr("processing instructions are not allowed")
	}
	if strings.HasPrefix(r, "<!") {
		return parseErr("unexpected markup declaration")
	}
	return nil
}

func (p *parser) skipComment() error {
	end := strings.Index(p.s[p.pos+4:], "-->")
	if end < 0 {
		return parseErr("unterminated comment")
	}
	p.pos += 4 + end + 3
	return nil
}

func isNameStart(c byte) bool { return nameBytes[c]&nameStart != 0 }

// nameBytes classifies bytes for names (nameByte, nameStart) and attribute
// values (attrStop: a quote, '<', or a byte that normalisation changes).
var nameBytes [256]uint8

const (
	nameByte uint8 = 1 << iota
	nameStart
	attrStop
)

func init() {
	for c := 0; c < 256; c++ {
		b := byte(c)
		if b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b == '_' || b >= 0x80 {
			nameBytes[c] |= nameStart | nameByte
		}
		if b >= '0' && b <= '9' || b == '-' || b == '.' || b == ':' {
			nameBytes[c] |= nameByte
		}
	}
	for _, c := range "\"'<&\t\n\r" {
		nameBytes[c] |= attrStop
	}
}

// readName reads a QName and splits it.
func (p *parser) readName() (prefix, local string, err error) {
	start := p.pos
	if p.pos >= len(p.s) || !isNameStart(p.s[p.pos]) {
		return "", "", parseErr("expected a name at offset %d", p.pos)
	}
	colon := -1
	s, i := p.s, p.pos
	for i < len(s) && nameBytes[s[i]]&nameByte != 0 {
		if s[i] == ':' {
			if colon >= 0 {
				return "", "", parseErr("name with two colons at offset %d", start)
			}
			colon = i
		}
		i++
	}
	p.pos = i
	name := s[start:i]
	if colon < 0 {
		return "", name, nil
	}
	prefix, local = name[:colon-start], name[colon-start+1:]
	if prefix == "" || local == "" || !isNameStart(local[0]) {
		return "", "", parseErr("invalid qualified name %q", name)
	}
	return prefix, local, nil
}

func (p *parser) lookup(prefix string) (string, bool) {
	if prefix == "xml" {
		return nsXML, true
	}
	if uri, ok := p.stack.lookup(prefix); ok {
		return uri, true
	}
	if prefix == "" {
		return "", true
	}
	return "", false
}

// parseElement parses an element starting at p.pos ('<').
func (p *parser) parseElement(parent *Node, depth int) (*Node, error) {
	if depth > p.lim.MaxDepth {
		return nil, errorf(TooLarge, "the XML is nested more than %d levels deep", p.lim.MaxDepth)
	}
	s := p.s
	p.pos++ // '<'
	qstart := p.pos
	prefix, local, err := p.readName()
	if err != nil {
		return nil, err
	}
	qname := s[qstart:p.pos]
	n := p.newNode()
	if n == nil {
		return nil, errTooManyNodes(p.doc.limit)
	}
	n.kind = kindElement
	n.prefix, n.local, n.parent = prefix, local, parent
	attrStart := len(p.attrs)
	nsStart := len(p.nsbuf)
	stackMark := len(p.stack.decls)
	selfClose := false
	attrsDirty := false
	for {
		hadSpace := p.pos < len(s) && isSpace(s[p.pos])
		p.skipSpace()
		if p.pos >= len(s) {
			return nil, parseErr("unterminated start tag <%s>", local)
		}
		c := s[p.pos]
		if c == '>' {
			p.pos++
			break
		}
		if c == '/' {
			if p.pos+1 >= len(s) || s[p.pos+1] != '>' {
				return nil, parseErr("bad empty-element tag <%s>", local)
			}
			p.pos += 2
			selfClose = true
			break
		}
		if !hadSpace {
			return nil, parseErr("missing space between attributes in <%s>", local)
		}
		ap, al, err := p.readName()
		if err != nil {
			return nil, err
		}
		p.skipSpace()
		if p.pos >= len(s) || s[p.pos] != '=' {
			return nil, parseErr("attribute %s without value", al)
		}
		p.pos++
		p.skipSpace()
		val, clean, err := p.readAttrValue()
		if err != nil {
			return nil, err
		}
		switch {
		case ap == "" && al == "xmlns":
			p.nsDirty = p.nsDirty || !clean
			if val == nsXML || val == nsXMLNS {
				return nil, parseErr("reserved namespace bound to the default prefix")
			}
			p.appendNS(Namespace{"", val})
		case ap == "xmlns":
			p.nsDirty = p.nsDirty || !clean
			if al == "xmlns" || (al == "xml") != (val == nsXML) || val == nsXMLNS {
				return nil, parseErr("reserved prefix or namespace %q misused", al)
			}
			if val == "" {
				return nil, parseErr("prefix %q undeclared with an empty namespace", al)
			}
			if al != "xml" {
				p.appendNS(Namespace{al, val})
			}
		default:
			if len(p.attrs) == cap(p.attrs) {
				// Double (append grows large slices by 1.25x: five
				// times the final size allocated in all).
				p.attrs = append(make([]Attr, 0, 2*cap(p.attrs)+16), p.attrs...)
			}
			p.attrs = append(p.attrs, Attr{prefix: ap, local: al, value: val})
			attrsDirty = attrsDirty || !clean
		}
	}
	// Bounds that keep the quadratic checks below cheap.
	if len(p.attrs)-attrStart+len(p.nsbuf)-nsStart > maxAttrs {
		return nil, errorf(TooLarge, "<%s> has more than %d attributes", local, maxAttrs)
	}
	if len(p.stack.decls)+len(p.nsbuf)-nsStart > maxInScope {
		return nil, errorf(TooLarge, "more than %d namespace declarations in scope", maxInScope)
	}
	// Namespace declarations of this element: check duplicates, push.
	decls := p.nsbuf[nsStart:len(p.nsbuf):len(p.nsbuf)]
	for i := range decls {
		for j := 0; j < i; j++ {
			if decls[i].prefix == decls[j].prefix {
				return nil, parseErr("namespace prefix %q declared twice on <%s>", decls[i].prefix, local)
			}
		}
	}
	n.ns = decls
	for _, d := range decls {
		p.stack.push(d)
	}
	sp, ok := p.lookup(prefix)
	if !ok {
		return nil, parseErr("undeclared namespace prefix %q on <%s:%s>", prefix, prefix, local)
	}
	n.space = sp
	attrs := p.attrs[attrStart:len(p.attrs):len(p.attrs)]
	for i := range attrs {
		a := &attrs[i]
		if a.prefix != "" {
			u, ok := p.lookup(a.prefix)
			if !ok {
				return nil, parseErr("undeclared namespace prefix %q on attribute %s:%s", a.prefix, a.prefix, a.local)
			}
			a.space = u
		}
		if len(attrs) <= 8 {
			for j := 0; j < i; j++ {
				if attrs[j].local == a.local && attrs[j].space == a.space {
					return nil, parseErr("duplicate attribute %s on <%s>", a.local, local)
				}
			}
		}
		if a.space == "" && (a.local == "ID" || a.local == "Id") || a.space == nsXML && a.local == "id" {
			if prev := p.doc.findID(a.value); prev != nil {
				return nil, errorf(DuplicateID, "two elements carry the ID %q (<%s> and <%s>); a signed document never does, this is a signature-wrapping attempt", a.value, prev.local, local)
			}
			p.doc.addID(a.value, n)
		}
	}
	if len(attrs) > 8 {
		// Many attributes: a hash set of (namespace, local name) instead
		// of comparing every pair; its seed is random, so that no input
		// can make every attribute collide (and a collision costs one
		// comparison of the strings, never a wrong answer).
		var slots [2 * maxAttrs]uint8 // attribute index + 1; 0 is empty
		for i := range attrs {
			a := &attrs[i]
			h := maphash.String(dupSeed, a.space)*0x9e3779b97f4a7c15 ^ maphash.String(dupSeed, a.local)
			for j := h % uint64(len(slots)); ; j = (j + 1) % uint64(len(slots)) {
				if slots[j] == 0 {
					slots[j] = uint8(i + 1)
					break
				}
				if b := &attrs[slots[j]-1]; b.local == a.local && b.space == a.space {
					return nil, parseErr("duplicate attribute %s on <%s>", a.local, local)
				}
			}
		}
	}
	n.attrs = attrs
	n.attrsClean = !attrsDirty
	if selfClose {
		p.stack.truncate(stackMark)
		return n, nil
	}
	if err := p.parseContent(n, depth); err != nil {
		return nil, err
	}
	// End tag: the start tag's name, then no more name bytes, is the
	// name readName would read and split the same way.
	p.pos += 2 // "</"
	if end := p.pos + len(qname); end <= len(s) && s[p.pos:end] == qname && (end == len(s) || nameBytes[s[end]]&nameByte == 0) {
		p.pos = end
	} else {
		ep, el, err := p.readName()
		if err != nil {
			return nil, err
		}
		if ep != prefix || el != local {
			return nil, parseErr("end tag </%s> does not match <%s>", el, local)
		}
	}
	p.skipSpace()
	if p.pos >= len(s) || s[p.pos] != '>' {
		return nil, parseErr("bad end tag </%s>", local)
	}
	p.pos++
	p.stack.truncate(stackMark)
	return n, nil
}

// parseContent parses children until the matching "</" and leaves p.pos on it.
func (p *parser) parseContent(n *Node, depth int) error {
	s := p.s
	var text string // pending text, possibly joined across comments/CDATA
	joined := false
	// dirty: the pending text may hold a byte canonical XML escapes
	// ('>', or anything from a reference or a CDATA section); the line
	// ends were normalised and '<' ends a segment.
	dirty := false
	var last *Node // the last child linked
	link := func(c *Node) {
		if last == nil {
			n.first = c
		} else {
			last.next = c
		}
		last = c
	}
	flush := func() error {
		if joined {
			text = string(p.sb)
			joined = false
		}
		if text == "" {
			dirty = false
			return nil
		}
		t := p.newNode()
		if t == nil {
			return errTooManyNodes(p.doc.limit)
		}
		t.kind = kindText
		t.local = text
		t.clean = !dirty
		t.parent = n
		link(t)
		text, dirty = "", false
		return nil
	}
	appendText := func(seg string) {
		if seg == "" {
			return
		}
		if !joined && text == "" {
			text = seg
			return
		}
		if !joined {
			p.sb = append(p.sb[:0], text...)
			joined = true
		}
		p.sb = append(p.sb, seg...)
	}
	for {
		i := strings.IndexByte(s[p.pos:], '<')
		if i < 0 {
			return parseErr("unterminated element <%s>", n.local)
		}
		if i > 0 {
			seg := s[p.pos : p.pos+i]
			if strings.IndexByte(seg, '>') >= 0 {
				if strings.Contains(seg, "]]>") {
					return parseErr("']]>' in text")
				}
				dirty = true
			}
			for {
				j := strings.IndexByte(seg, '&')
				if j < 0 {
					appendText(seg)
					break
				}
				dirty = true
				appendText(seg[:j])
				r, l, err := decodeEntity(seg[j:])
				if err != nil {
					return err
				}
				appendText(r)
				seg = seg[j+l:]
			}
			p.pos += i
		}
		rest := s[p.pos:]
		switch {
		case strings.HasPrefix(rest, "</"):
			return flush()
		case strings.HasPrefix(rest, "<!--"):
			if err := p.skipComment(); err != nil {
				return err
			}
		case strings.HasPrefix(rest, "<![CDATA["):
			end := strings.Index(rest[9:], "]]>")
			if end < 0 {
				return parseErr("unterminated CDATA section")
			}
			appendText(rest[9 : 9+end])
			dirty = true
			p.pos += 9 + end + 3
		case len(rest) > 1 && (rest[1] == '!' || rest[1] == '?'):
			return p.checkMarkup()
		default:
			if err := flush(); err != nil {
				return err
			}
			c, err := p.parseElement(n, depth+1)
			if err != nil {
				return err
			}
			link(c)
		}
	}
}

// decodeEntity decodes the reference at the start of s; it returns the
// replacement text and the length consumed.
func decodeEntity(s string) (string, int, error) {
	end := strings.IndexByte(s, ';')
	if end < 2 || end > 12 {
		return "", 0, parseErr("bad entity or character reference")
	}
	name := s[1:end]
	switch name {
	case "lt":
		return "<", end + 1, nil
	case "gt":
		return ">", end + 1, nil
	case "amp":
		return "&", end + 1, nil
	case "quot":
		return "\"", end + 1, nil
	case "apos":
		return "'", end + 1, nil
	}
	if name[0] != '#' {
		return "", 0, errorf(DTDForbidden, "the document uses the entity &%s; which only a DTD could define; Lanyard refuses DTDs and entities", name)
	}
	var r rune
	digits := name[1:]
	base := rune(10)
	if len(digits) > 0 && digits[0] == 'x' {
		base = 16
		digits = digits[1:]
	}
	if digits == "" {
		return "", 0, parseErr("bad character reference &%s;", name)
	}
	for i := 0; i < len(digits); i++ {
		c := digits[i]
		var d rune
		switch {
		case c >= '0' && c <= '9':
			d = rune(c - '0')
		case base == 16 && c >= 'a' && c <= 'f':
			d = rune(c-'a') + 10
		case base == 16 && c >= 'A' && c <= 'F':
			d = rune(c-'A') + 10
		default:
			return "", 0, parseErr("bad character reference &%s;", name)
		}
		r = r*base + d
		if r > utf8.MaxRune {
			return "", 0, parseErr("bad character reference &%s;", name)
		}
	}
	if !(r == 0x9 || r == 0xA || r == 0xD || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF) {
		return "", 0, parseErr("character reference &%s; is not an XML character", name)
	}
	return string(r), end + 1, nil
}

// readAttrValue reads a quoted attribute value and normalises it (XML 1.0
// section 3.3.3: literal whitespace becomes a space, references decoded).
// clean tells that the value holds none of the bytes canonical XML escapes
// in an attribute value (escAttr); false may also mean it was not checked.
func (p *parser) readAttrValue() (value string, clean bool, err error) {
	s := p.s
	if p.pos >= len(s) || (s[p.pos] != '"' && s[p.pos] != '\'') {
		return "", false, parseErr("attribute value not quoted")
	}
	q := s[p.pos]
	p.pos++
	// One pass to the closing quote, noting '<', the bytes that
	// normalisation changes and a double quote inside single quotes.
	lt, plain, dq := false, true, false
	end := p.pos
	for ; end < len(s); end++ {
		c := s[end]
		if nameBytes[c]&attrStop == 0 {
			continue
		}
		if c == q {
			break
		}
		switch c {
		case '<':
			lt = true
		case '&', '\t', '\n', '\r':
			plain = false
		case '"':
			dq = true
		}
	}
	if end == len(s) {
		return "", false, parseErr("unterminated attribute value")
	}
	raw := s[p.pos:end]
	p.pos = end + 1
	if lt {
		return "", false, parseErr("'<' in attribute value")
	}
	if plain {
		return raw, !dq, nil
	}
	b := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); {
		c := raw[i]
		switch c {
		case '\t', '\n', '\r':
			b = append(b, ' ')
			i++
		case '&':
			r, l, err := decodeEntity(raw[i:])
			if err != nil {
				return "", false, err
			}
			b = append(b, r...)
			i += l
		default:
			b = append(b, c)
			i++
		}
	}
	return string(b), false, nil
}

func errTooManyNodes(n int) *Error {
	return errorf(TooLarge, "the XML has more than %d elements and text nodes", n)
}

// appendNS adds a declaration to the arena, doubling it when full (the
// declarations of earlier elements keep their full-capacity slices).
func (p *parser) appendNS(d Namespace) {
	if len(p.nsbuf) == cap(p.nsbuf) {
		p.nsbuf = append(make([]Namespace, 0, 2*cap(p.nsbuf)+16), p.nsbuf...)
	}
	p.nsbuf = append(p.nsbuf, d)
}

func newNSArena() []Namespace {
	if pooling {
		if v, ok := nsPool.Get().(*[pooledNS]Namespace); ok {
			return v[:0]
		}
		return new([pooledNS]Namespace)[:0]
	}
	return make([]Namespace, 0, 8)
}

func newAttrArena(eq int) []Attr {
	if eq <= pooledAttrs && pooling {
		if v, ok := attrPool.Get().(*[pooledAttrs]Attr); ok {
			return v[:0]
		}
		return new([pooledAttrs]Attr)[:0]
	}
	// Sized to the estimate up to 128Ki attributes (8 MiB, as many as a
	// 1 MB input of 62 attributes per element holds): a larger
	// arena doubles as it fills.
	return make([]Attr, 0, min(eq, 1<<17))
}

// checkChars tells whether s is valid UTF-8 and returns the index of its
// first control character (a byte below 0x20 other than tab, LF and CR,
// which XML 1.0 does not allow) or -1, in one pass: 32 then eight bytes
// at a time while they are printable ASCII.
func checkChars(s string) (int, bool) {
	const lo = 0x2020202020202020
	const hi = 0x8080808080808080
	first := -1
	i := 0
	// slow is where the 32-byte steps resume after a block that held
	// something else (so that a run of non-ASCII text is not tried 32
	// bytes at a time at every byte).
	slow := 0
	for i < len(s) {
		if i+32 <= len(s) && i >= slow {
			w0, w1, w2, w3 := le64(s, i), le64(s, i+8), le64(s, i+16), le64(s, i+24)
			if ((w0-lo)&^w0|w0|(w1-lo)&^w1|w1|(w2-lo)&^w2|w2|(w3-lo)&^w3|w3)&hi == 0 {
				i += 32
				continue
			}
			slow = i + 32
		}
		if i+8 <= len(s) {
			w := le64(s, i)
			if ((w-lo)&^w|w)&hi == 0 {
				i += 8
				continue
			}
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' && first < 0 {
				first = i
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return -1, false
		}
		i += size
	}
	return first, true
}

// le64 reads s[i:i+8] as a little-endian word (one load).
func le64(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// Per-element and in-scope bounds (SAML elements carry a handful).
const (
	maxAttrs   = 64
	maxInScope = 512
)

func (d *Document) findID(id string) *Node {
	if d.idMap != nil {
		return d.idMap[id]
	}
	for _, e := range d.ids {
		if e.id == id {
			return e.el
		}
	}
	return nil
}

func (d *Document) addID(id string, n *Node) {
	if d.idMap == nil && len(d.ids) < 16 {
		d.ids = append(d.ids, idEntry{id, n})
		return
	}
	if d.idMap == nil {
		d.idMap = make(map[string]*Node, 64)
		for _, e := range d.ids {
			d.idMap[e.id] = e.el
		}
	}
	d.idMap[id] = n
}
