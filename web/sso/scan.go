package sso

import "strings"

// Plain scans of a decoded SAML message for the observations of a login
// and the clock offset of a trace. Every successful login pays for them,
// so they are string searches rather than regular expressions (a lazy
// `.*?` over a whole response backtracks through every byte of it). Each
// function documents the pattern it finds; the tests hold them to it.

// isWordByte reports whether c is an ASCII word character ([0-9A-Za-z_]).
func isWordByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// isPrefixByte reports whether c may follow the first character of a
// namespace prefix ([\w.-]).
func isPrefixByte(c byte) bool { return isWordByte(c) || c == '.' || c == '-' }

// tagStart reports where the tag whose local name starts at i begins: the
// index of its '<' when doc[..i] ends with "<" + open + an optional
// "prefix:" (prefix [A-Za-z_][\w.-]*), else -1. open is "" for a start
// tag and "/" for an end tag.
func tagStart(doc string, i int, open string) int {
	j := i
	if j > 0 && doc[j-1] == ':' {
		k := j - 1
		for k > 0 && isPrefixByte(doc[k-1]) {
			k--
		}
		// The prefix is doc[k:j-1]; it must be non-empty and start with
		// a letter or '_'.
		if k == j-1 {
			return -1
		}
		// A prefix starts with a letter or '_'; as '<' is no prefix byte,
		// no shorter prefix can start after a '<' either.
		if c := doc[k]; !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return -1
		}
		j = k
	}
	if j < len(open)+1 || doc[j-len(open)-1] != '<' || doc[j-len(open):j] != open {
		return -1
	}
	return j - len(open) - 1
}

// findTag finds the first tag at or after from whose local name is local:
// "<" + open + optional "prefix:" + local, followed by a non-word byte or
// the end of doc (endTag false: the regexp `<(?:P:)?local\b`), or by '>'
// (endTag true, open "/": `</(?:P:)?local>`). It returns the index of its
// '<' and the index just after the name (after the '>' of an end tag), or
// -1, -1.
func findTag(doc string, from int, local, open string, endTag bool) (start, end int) {
	for i := from; i <= len(doc); {
		k := strings.Index(doc[i:], local)
		if k < 0 {
			return -1, -1
		}
		at := i + k
		after := at + len(local)
		i = at + 1
		if endTag {
			if after >= len(doc) || doc[after] != '>' {
				continue
			}
			after++
		} else if after < len(doc) && isWordByte(doc[after]) {
			continue
		}
		s := tagStart(doc, at, open)
		if s < 0 || s < from {
			continue
		}
		return s, after
	}
	return -1, -1
}

// firstAssertion returns the first Assertion element of doc, from its
// start tag to the first end tag after it (the regexp
// `(?s)<(?:P:)?Assertion\b.*?</(?:P:)?Assertion>`), or "".
func firstAssertion(doc string) string {
	start, nameEnd := findTag(doc, 0, "Assertion", "", false)
	if start < 0 {
		return ""
	}
	// A later start tag has no more end tags after it than the first:
	// when the first has none, nothing matches.
	_, end := findTag(doc, nameEnd, "Assertion", "/", true)
	if end < 0 {
		return ""
	}
	return doc[start:end]
}

// hasSignatureStart reports whether s holds a Signature start tag
// (`<(?:P:)?Signature\b`).
func hasSignatureStart(s string) bool {
	start, _ := findTag(s, 0, "Signature", "", false)
	return start >= 0
}

// isXMLSpace reports whether c is white space for the regexp \s.
func isXMLSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'
}

// firstSignatureMethod returns the Algorithm of the first SignatureMethod
// in doc (`SignatureMethod\s+Algorithm="([^"]{1,200})"`), "" when none.
func firstSignatureMethod(doc string) string {
	const name, attr = "SignatureMethod", `Algorithm="`
	for i := 0; ; {
		k := strings.Index(doc[i:], name)
		if k < 0 {
			return ""
		}
		j := i + k + len(name)
		i = i + k + 1
		sp := j
		for j < len(doc) && isXMLSpace(doc[j]) {
			j++
		}
		if j == sp || !strings.HasPrefix(doc[j:], attr) {
			continue
		}
		v := doc[j+len(attr):]
		q := strings.IndexByte(v, '"')
		if q < 1 || q > 200 {
			continue
		}
		return v[:q]
	}
}

// issueInstants calls fn with the IssueInstant of each Assertion and
// Response start tag of doc, in order, as the regexp
// `<(?:P:)?(Assertion|Response)\b[^>]*?\sIssueInstant="([^"]+)"` finds
// them (non-overlapping, leftmost first); element is "Assertion" or
// "Response".
func issueInstants(doc string, fn func(element, value string)) {
	const attr = `IssueInstant="`
	for from := 0; from < len(doc); {
		as, aEnd := findTag(doc, from, "Assertion", "", false)
		rs, rEnd := findTag(doc, from, "Response", "", false)
		element, start, nameEnd := "Assertion", as, aEnd
		// The leftmost tag; when one '<' reads both ways
		// ("<Assertion-x:Response"), the reading with a prefix, as the
		// pattern tries it first.
		if as < 0 || rs >= 0 && (rs < as || rs == as && rEnd > aEnd) {
			element, start, nameEnd = "Response", rs, rEnd
		}
		if start < 0 {
			return
		}
		// The attribute, preceded by white space, before the tag's first
		// '>' (its value may run past it).
		limit := strings.IndexByte(doc[nameEnd:], '>')
		if limit < 0 {
			limit = len(doc)
		} else {
			limit += nameEnd
		}
		matched := false
		for i := nameEnd; i < limit; {
			k := strings.Index(doc[i:limit], attr)
			if k < 0 {
				break
			}
			at := i + k
			i = at + 1
			if at == nameEnd || !isXMLSpace(doc[at-1]) {
				continue
			}
			v := doc[at+len(attr):]
			q := strings.IndexByte(v, '"')
			if q < 1 {
				continue
			}
			fn(element, v[:q])
			from = at + len(attr) + q + 1
			matched = true
			break
		}
		if !matched {
			from = start + 1
		}
	}
}

// isGUID reports whether s is a GUID in its hexadecimal 8-4-4-4-12 form.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}
