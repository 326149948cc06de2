package devidp

import (
	"sort"
	"strings"
	"unicode/utf8"
)

// The XML this package sends is written as text by element: no XML
// declaration, no whitespace between elements, attributes in a fixed
// order, and every value escaped as canonical XML escapes it, so that what
// a configuration holds (control characters included, see xmlChars)
// cannot make a document ill-formed. Signing (sign.go) parses the element
// with etree and lets goxmldsig canonicalise it, so the form written here
// needs only to be well-formed: each signed element declares the
// namespace prefixes it uses.

// XML namespaces used in messages.
const (
	nsSAML  = "urn:oasis:names:tc:SAML:2.0:assertion"
	nsSAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
	nsMD    = "urn:oasis:names:tc:SAML:2.0:metadata"
	nsDSig  = "http://www.w3.org/2000/09/xmldsig#"
	nsXEnc  = "http://www.w3.org/2001/04/xmlenc#"
)

// attr is an XML attribute or namespace declaration ("xmlns:saml").
type attr struct {
	name, value string
}

// ns returns the declaration of prefix for the namespace uri.
func ns(prefix, uri string) attr { return attr{"xmlns:" + prefix, uri} }

// element returns an element: start tag with the namespace declarations
// and then the attributes sorted by name, the content (elements written by
// element, or text), and an end tag. Attributes with an empty value are
// left out, so that optional ones can be passed unconditionally.
func element(name string, attrs []attr, content ...string) string {
	var b strings.Builder
	b.WriteString("<" + name)
	decls, plain := make([]attr, 0, 2), make([]attr, 0, len(attrs))
	for _, a := range attrs {
		switch {
		case a.value == "" && !strings.HasPrefix(a.name, "xmlns"):
			continue
		case a.name == "xmlns" || strings.HasPrefix(a.name, "xmlns:"):
			decls = append(decls, a)
		default:
			plain = append(plain, a)
		}
	}
	// xmlns sorts before xmlns:p, and prefixes compare as strings.
	sort.Slice(decls, func(i, j int) bool { return decls[i].name < decls[j].name })
	// Unprefixed attributes are in no namespace and sort by local name.
	sort.Slice(plain, func(i, j int) bool { return plain[i].name < plain[j].name })
	for _, a := range append(decls, plain...) {
		b.WriteString(" " + a.name + `="` + escapeAttr(a.value) + `"`)
	}
	b.WriteString(">")
	for _, c := range content {
		b.WriteString(c)
	}
	b.WriteString("</" + name + ">")
	return b.String()
}

// text returns s as character data, escaped as canonical XML does.
func text(s string) string {
	var b strings.Builder
	for _, r := range xmlChars(s) {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '\r':
			b.WriteString("&#xD;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// escapeAttr returns s as an attribute value (without quotes), escaped as
// canonical XML does: tab, LF and CR as character references, which
// attribute-value normalisation would turn into spaces.
func escapeAttr(s string) string {
	var b strings.Builder
	for _, r := range xmlChars(s) {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '"':
			b.WriteString("&quot;")
		case '\t':
			b.WriteString("&#x9;")
		case '\n':
			b.WriteString("&#xA;")
		case '\r':
			b.WriteString("&#xD;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// xmlChars returns the runes of s with every character XML 1.0 forbids
// (most control characters, invalid UTF-8) replaced by U+FFFD, so that
// values from configuration can never make a document ill-formed.
func xmlChars(s string) []rune {
	out := make([]rune, 0, len(s))
	for i, w := 0, 0; i < len(s); i += w {
		r, size := utf8.DecodeRuneInString(s[i:])
		w = size
		valid := r == '\t' || r == '\n' || r == '\r' ||
			(r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF)
		if r == utf8.RuneError && size == 1 {
			valid = false
		}
		if !valid {
			r = utf8.RuneError
		}
		out = append(out, r)
	}
	return out
}
