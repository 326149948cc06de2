// Package filter parses SCIM 2.0 filters and attribute paths (RFC 7644
// section 3.4.2.2 and 3.5.2): the comparison operators eq ne co sw ew pr gt
// ge lt le, the logical operators and, or, not with the precedence not >
// and > or, grouping by parentheses, and value paths such as
// emails[type eq "work"].value. It imports nothing of Lanyard: what a
// filter means for stored records is for its caller to decide.
package filter

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxLength is the longest filter Parse reads, and MaxDepth the deepest
// nesting of parentheses, not and value paths: bounded work for any input.
const (
	MaxLength = 4096
	MaxDepth  = 32
)

// Expr is a parsed filter: *Logical, *Not, *Compare or *ValuePath.
type Expr interface{ expr() }

// Logical is Left and Right, or Left or Right.
type Logical struct {
	Op          string // "and" or "or"
	Left, Right Expr
}

// Not negates X.
type Not struct{ X Expr }

// Compare compares an attribute with a value; Op "pr" has no value.
type Compare struct {
	Path  Path
	Op    string // lower case: eq ne co sw ew pr gt ge lt le
	Value any    // string, bool, float64, or nil (null)
}

// ValuePath selects the values of a multi-valued attribute that match
// Filter, as in emails[type eq "work"]; with Sub and a comparison it reads
// emails[type eq "work"].value eq "x" (Compare then holds Sub's test).
type ValuePath struct {
	Attr    Path // the multi-valued attribute
	Filter  Expr
	Compare *Compare // the test of a sub-attribute after "]", if any
}

func (*Logical) expr()   {}
func (*Not) expr()       {}
func (*Compare) expr()   {}
func (*ValuePath) expr() {}

// Path is an attribute path: an optional schema URI, an attribute and an
// optional sub-attribute. Names keep the case they were given in;
// compare them with strings.EqualFold.
type Path struct {
	URI  string // e.g. urn:ietf:params:scim:schemas:core:2.0:User; empty if none
	Attr string
	Sub  string
}

// String renders p as written in a filter.
func (p Path) String() string {
	s := p.Attr
	if p.Sub != "" {
		s += "." + p.Sub
	}
	if p.URI != "" {
		s = p.URI + ":" + s
	}
	return s
}

// Error is a filter that does not parse; Offset is the byte it stops at.
type Error struct {
	Offset int
	Msg    string
}

func (e *Error) Error() string { return fmt.Sprintf("filter: at offset %d: %s", e.Offset, e.Msg) }

// The comparison operators.
var compareOps = map[string]bool{"eq": true, "ne": true, "co": true, "sw": true, "ew": true, "gt": true, "ge": true, "lt": true, "le": true}

type tokenKind int

const (
	tokEOF tokenKind = iota
	tokWord
	tokString
	tokLParen
	tokRParen
	tokLBracket
	tokRBracket
)

type token struct {
	kind tokenKind
	text string // words: as written; strings: the decoded value
	pos  int
}

func lex(s string) ([]token, error) {
	var out []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
		case c == '(':
			out = append(out, token{tokLParen, "(", i})
			i++
		case c == ')':
			out = append(out, token{tokRParen, ")", i})
			i++
		case c == '[':
			out = append(out, token{tokLBracket, "[", i})
			i++
		case c == ']':
			out = append(out, token{tokRBracket, "]", i})
			i++
		case c == '"':
			end, err := stringEnd(s, i)
			if err != nil {
				return nil, err
			}
			var v string
			if err := json.Unmarshal([]byte(s[i:end]), &v); err != nil {
				return nil, &Error{i, "bad string: " + err.Error()}
			}
			out = append(out, token{tokString, v, i})
			i = end
		default:
			start := i
			for i < len(s) && !strings.ContainsRune(" \t\r\n()[]\"", rune(s[i])) {
				i++
			}
			out = append(out, token{tokWord, s[start:i], start})
		}
	}
	return append(out, token{tokEOF, "", len(s)}), nil
}

// stringEnd returns the offset after the JSON string starting at s[i].
func stringEnd(s string, i int) (int, error) {
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case '"':
			return j + 1, nil
		}
	}
	return 0, &Error{i, "string not closed"}
}

type parser struct {
	toks  []token
	i     int
	depth int
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token { t := p.toks[p.i]; p.i++; return t }

func (p *parser) errorf(t token, format string, args ...any) error {
	return &Error{t.pos, fmt.Sprintf(format, args...)}
}

func (p *parser) isWord(t token, w string) bool {
	return t.kind == tokWord && strings.EqualFold(t.text, w)
}

// Parse parses a filter. Every input either parses or is an *Error.
func Parse(s string) (Expr, error) {
	if len(s) > MaxLength {
		return nil, &Error{MaxLength, fmt.Sprintf("filter longer than %d bytes", MaxLength)}
	}
	if !utf8.ValidString(s) {
		return nil, &Error{0, "filter is not UTF-8"}
	}
	toks, err := lex(s)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, p.errorf(t, "unexpected %q after a complete filter", t.text)
	}
	return e, nil
}

func (p *parser) enter(t token) error {
	p.depth++
	if p.depth > MaxDepth {
		return p.errorf(t, "nested deeper than %d levels", MaxDepth)
	}
	return nil
}

func (p *parser) or() (Expr, error) {
	left, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.isWord(p.peek(), "or") {
		p.next()
		right, err := p.and()
		if err != nil {
			return nil, err
		}
		left = &Logical{"or", left, right}
	}
	return left, nil
}

func (p *parser) and() (Expr, error) {
	left, err := p.unary()
	if err != nil {
		return nil, err
	}
	for p.isWord(p.peek(), "and") {
		p.next()
		right, err := p.unary()
		if err != nil {
			return nil, err
		}
		left = &Logical{"and", left, right}
	}
	return left, nil
}

func (p *parser) unary() (Expr, error) {
	t := p.peek()
	switch {
	case p.isWord(t, "not"):
		p.next()
		if p.peek().kind != tokLParen {
			return nil, p.errorf(p.peek(), "not takes a filter in parentheses: not (...)")
		}
		x, err := p.group()
		if err != nil {
			return nil, err
		}
		return &Not{x}, nil
	case t.kind == tokLParen:
		return p.group()
	case t.kind == tokWord:
		return p.attrExpr()
	case t.kind == tokEOF:
		return nil, p.errorf(t, "a filter expected, found the end")
	}
	return nil, p.errorf(t, "an attribute, not or ( expected, found %q", t.text)
}

func (p *parser) group() (Expr, error) {
	open := p.next()
	if err := p.enter(open); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	if t := p.next(); t.kind != tokRParen {
		return nil, p.errorf(t, "missing ) for the ( at offset %d", open.pos)
	}
	return e, nil
}

func (p *parser) attrExpr() (Expr, error) {
	t := p.next()
	path, err := parsePath(t)
	if err != nil {
		return nil, err
	}
	if p.peek().kind == tokLBracket {
		return p.valuePath(path, true)
	}
	return p.comparison(path)
}

// valuePath parses "[filter]" after attr; in a filter (compare true) a
// sub-attribute and a comparison may follow it.
func (p *parser) valuePath(attr Path, compare bool) (Expr, error) {
	open := p.next()
	if attr.Sub != "" {
		return nil, p.errorf(open, "a value filter [...] follows an attribute, not the sub-attribute %q", attr.String())
	}
	if err := p.enter(open); err != nil {
		return nil, err
	}
	inner, err := p.or()
	p.depth--
	if err != nil {
		return nil, err
	}
	if t := p.next(); t.kind != tokRBracket {
		return nil, p.errorf(t, "missing ] for the [ at offset %d", open.pos)
	}
	vp := &ValuePath{Attr: attr, Filter: inner}
	// A sub-attribute after "]" (".value") is glued to it by the lexer.
	if t := p.peek(); compare && t.kind == tokWord && strings.HasPrefix(t.text, ".") {
		p.next()
		sub := t.text[1:]
		if !validName(sub) {
			return nil, p.errorf(t, "bad sub-attribute %q", sub)
		}
		c, err := p.comparison(Path{Attr: sub})
		if err != nil {
			return nil, err
		}
		vp.Compare = c.(*Compare)
	}
	return vp, nil
}

func (p *parser) comparison(path Path) (Expr, error) {
	opTok := p.next()
	if opTok.kind != tokWord {
		return nil, p.errorf(opTok, "an operator expected after %q (eq ne co sw ew pr gt ge lt le)", path.String())
	}
	op := strings.ToLower(opTok.text)
	if op == "pr" {
		return &Compare{Path: path, Op: op}, nil
	}
	if !compareOps[op] {
		return nil, p.errorf(opTok, "unknown operator %q (use eq ne co sw ew pr gt ge lt le)", opTok.text)
	}
	v := p.next()
	switch v.kind {
	case tokString:
		return &Compare{path, op, v.text}, nil
	case tokWord:
		// Literals are JSON's (RFC 7159): lower case.
		switch v.text {
		case "true":
			return &Compare{path, op, true}, nil
		case "false":
			return &Compare{path, op, false}, nil
		case "null":
			return &Compare{path, op, nil}, nil
		}
		var n float64
		if err := json.Unmarshal([]byte(v.text), &n); err == nil {
			return &Compare{path, op, n}, nil
		}
		return nil, p.errorf(v, "value %q: use a \"string\", a number, true, false or null", v.text)
	}
	return nil, p.errorf(v, "a value expected after %q %s", path.String(), op)
}

// ParsePath parses the path of a PATCH operation (RFC 7644 section 3.5.2):
// an attribute path, optionally with a value filter and a sub-attribute
// (members[value eq "2819c223"], emails[type eq "work"].value).
func ParsePath(s string) (Path, Expr, string, error) {
	if len(s) > MaxLength {
		return Path{}, nil, "", &Error{MaxLength, fmt.Sprintf("path longer than %d bytes", MaxLength)}
	}
	toks, err := lex(s)
	if err != nil {
		return Path{}, nil, "", err
	}
	p := &parser{toks: toks}
	t := p.next()
	if t.kind != tokWord {
		return Path{}, nil, "", p.errorf(t, "an attribute path expected")
	}
	path, err := parsePath(t)
	if err != nil {
		return Path{}, nil, "", err
	}
	if p.peek().kind == tokEOF {
		return path, nil, "", nil
	}
	e, err := p.valuePath(path, false)
	if err != nil {
		return Path{}, nil, "", err
	}
	vp := e.(*ValuePath)
	sub := ""
	if t := p.peek(); t.kind == tokWord && strings.HasPrefix(t.text, ".") {
		p.next()
		sub = t.text[1:]
		if !validName(sub) {
			return Path{}, nil, "", p.errorf(t, "bad sub-attribute %q", sub)
		}
	}
	if t := p.peek(); t.kind != tokEOF {
		return Path{}, nil, "", p.errorf(t, "unexpected %q after the path", t.text)
	}
	return path, vp.Filter, sub, nil
}

// parsePath splits a word into URI, attribute and sub-attribute.
func parsePath(t token) (Path, error) {
	s := t.text
	var path Path
	if strings.HasPrefix(strings.ToLower(s), "urn:") {
		i := strings.LastIndexByte(s, ':')
		path.URI, s = s[:i], s[i+1:]
		// The URI of a schema ends in a version ("2.0:User"); a dot
		// after it belongs to the attribute, not the URI.
	}
	attr, sub, hasSub := strings.Cut(s, ".")
	if !validName(attr) || (hasSub && !validName(sub)) {
		return Path{}, &Error{t.pos, fmt.Sprintf("bad attribute path %q", t.text)}
	}
	path.Attr, path.Sub = attr, sub
	return path, nil
}

// validName reports whether s is an ATTRNAME: ALPHA *(nameChar), or
// "$ref" (RFC 7643 section 2.1).
func validName(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	if strings.EqualFold(s, "$ref") {
		return true
	}
	for i, c := range s {
		alpha := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if i == 0 && !alpha {
			return false
		}
		if !alpha && !(c >= '0' && c <= '9') && c != '-' && c != '_' {
			return false
		}
	}
	return true
}
