package gateway

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// errAmbiguousPath refuses a request path that upstream servers read in
// different ways; see canonicalPath.
var errAmbiguousPath = errors.New("gateway: ambiguous request path")

// canonicalPath returns the one path that route matching, the role check
// and the upstream all use, from the escaped path of a request:
//
//   - percent-encoded unreserved characters are decoded (%2e is ".", %7E
//     is "~"), other escapes are kept with upper-case hex;
//   - repeated slashes are merged, "." and ".." segments are resolved
//     (after the decoding above, so "%2e%2e" is ".."); ".." above the root
//     is refused.
//
// It refuses (errAmbiguousPath) what some upstream reads as another path
// than the others:
//
//   - an encoded slash or backslash (%2F, %5C) or a literal backslash:
//     Tomcat, IIS and others take them as separators;
//   - double encoding (%25 followed by two hex digits): a server that
//     decodes twice reads "%252e" as ".";
//   - ";" in the path: Tomcat drops path parameters ("/a;x/..;/b" is
//     "/b" there, a literal segment elsewhere);
//   - a segment ending in "." or a space, or holding "::" (an NTFS stream)
//     or "~" and a digit (an 8.3 short name): IIS opens "admin." and
//     "ADMINI~1" as "admin";
//   - control characters and NUL, encoded or not;
//   - bytes that are not UTF-8 once decoded (overlong forms such as %C0%AE
//     for "." or %C0%AF for "/"), and the look-alikes some servers fold
//     to ".", "/" or "\" (fullwidth and small forms).
//
// Letter case is not refused: routes match without regard to case (see
// prefixMatch), so a case-insensitive upstream and a case-sensitive one
// are both covered by the most specific route.
func canonicalPath(escaped string) (string, error) {
	if escaped == "" {
		return "/", nil
	}
	if escaped[0] != '/' {
		return "", errAmbiguousPath
	}
	if isPlainPath(escaped) {
		return escaped, nil
	}
	// Decode what may be decoded, checking every byte.
	var b strings.Builder
	b.Grow(len(escaped))
	nonASCII := false
	for i := 0; i < len(escaped); i++ {
		c := escaped[i]
		switch {
		case c == '%':
			if i+2 >= len(escaped) || !isHex(escaped[i+1]) || !isHex(escaped[i+2]) {
				return "", errAmbiguousPath
			}
			v := unhex(escaped[i+1])<<4 | unhex(escaped[i+2])
			switch {
			case v == '/' || v == '\\' || v == ';' || v < 0x20 || v == 0x7f:
				return "", errAmbiguousPath
			case v == '%' && i+4 < len(escaped) && isHex(escaped[i+3]) && isHex(escaped[i+4]):
				return "", errAmbiguousPath // double encoding
			case isUnreserved(v):
				b.WriteByte(v)
			default:
				if v >= 0x80 {
					nonASCII = true
				}
				b.WriteByte('%')
				b.WriteByte(upperHex[v>>4])
				b.WriteByte(upperHex[v&15])
			}
			i += 2
		case c == '/' || isUnreserved(c) || isSubDelim(c):
			b.WriteByte(c)
		case c >= 0x80:
			nonASCII = true
			b.WriteByte(c)
		default:
			// Backslash, ";", controls, space and what a request's
			// escaped path never holds unescaped.
			return "", errAmbiguousPath
		}
	}
	decoded := b.String()
	if i := strings.Index(decoded, "%25"); i >= 0 && hasEscapedHexPair(decoded[i+3:]) {
		return "", errAmbiguousPath // double encoding, spelled with escaped hex digits
	}

	// Resolve the segments.
	segments := strings.Split(decoded[1:], "/")
	out := make([]string, 0, len(segments))
	for i, seg := range segments {
		last := i == len(segments)-1
		switch seg {
		case "":
			if last {
				out = append(out, "") // keep the trailing slash
			}
			continue // merge repeated slashes
		case ".":
			if last {
				out = append(out, "")
			}
			continue
		case "..":
			if len(out) == 0 {
				return "", errAmbiguousPath // above the root
			}
			out = out[:len(out)-1]
			if last {
				out = append(out, "")
			}
			continue
		}
		if err := checkSegment(seg, nonASCII); err != nil {
			return "", err
		}
		out = append(out, seg)
	}
	return "/" + strings.Join(out, "/"), nil
}

// isPlainPath reports whether p needs no work: only unreserved
// characters and "/", no repeated slash, no dot segment, no segment ending
// in "." and no "~" before a digit.
func isPlainPath(p string) bool {
	prev := byte('/')
	for i := 1; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '/':
			if prev == '/' || prev == '.' {
				return false
			}
		case c == '.':
			if prev == '/' {
				return false
			}
		case c == '~':
			if i+1 < len(p) && '0' <= p[i+1] && p[i+1] <= '9' {
				return false
			}
		case c == ':':
			return false // maybe an NTFS stream: checkSegment
		case !isUnreserved(c) && !isSubDelim(c):
			return false
		}
		prev = c
	}
	return prev != '.'
}

// checkSegment refuses a path segment (escaped, dot segments excluded)
// that IIS or a Unicode-folding server reads as another name.
func checkSegment(seg string, nonASCII bool) error {
	if n := len(seg); seg[n-1] == '.' || strings.HasSuffix(seg, "%20") {
		return errAmbiguousPath // IIS drops trailing dots and spaces
	}
	if strings.Contains(seg, "::") || strings.Contains(seg, "%3A%3A") || strings.Contains(seg, ":%3A") || strings.Contains(seg, "%3A:") {
		return errAmbiguousPath // NTFS alternate data stream
	}
	for i := 0; i+1 < len(seg); i++ {
		if seg[i] == '~' && '0' <= seg[i+1] && seg[i+1] <= '9' {
			return errAmbiguousPath // 8.3 short name
		}
	}
	if !nonASCII {
		return nil
	}
	raw, ok := unescapeSegment(seg)
	if !ok || !utf8.ValidString(raw) {
		return errAmbiguousPath // overlong or broken UTF-8
	}
	for _, r := range raw {
		if lookAlike(r) {
			return errAmbiguousPath
		}
	}
	return nil
}

// lookAlike reports the characters that Unicode compatibility folding
// (NFKC, Windows "best fit") turns into ".", "/" or "\".
func lookAlike(r rune) bool {
	switch r {
	case '\uff0e', '\ufe52', '\u2024', // full stops
		'\uff0f', '\u2215', '\u2044', '\u29f8', // slashes
		'\uff3c', '\ufe68', '\u2216', '\u29f5', '\u29f9', // backslashes
		'\u2025', '\u2026', '\u00a0', '\u3000': // two and three dots, no-break and ideographic spaces
		return true
	}
	return false
}

// unescapeSegment decodes a segment escaped by canonicalPath.
func unescapeSegment(s string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
			return "", false
		}
		b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
		i += 2
	}
	return b.String(), true
}

// hasEscapedHexPair reports whether s contains "%25" before two hex
// digits anywhere, the spelling of an escaped escape.
func hasEscapedHexPair(s string) bool {
	for {
		if len(s) >= 2 && isHex(s[0]) && isHex(s[1]) {
			return true
		}
		i := strings.Index(s, "%25")
		if i < 0 {
			return false
		}
		s = s[i+3:]
	}
}

const upperHex = "0123456789ABCDEF"

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// isUnreserved: the characters RFC 3986 says are the same encoded or not
// (ALPHA, DIGIT, "-", ".", "_", "~"); their escapes are decoded.
func isUnreserved(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return c == '-' || c == '.' || c == '_' || c == '~'
}

// isSubDelim: the other characters a path carries unencoded (RFC 3986
// sub-delims, ":" and "@"), except ";", Tomcat's path parameters.
func isSubDelim(c byte) bool {
	switch c {
	case '!', '$', '&', '\'', '(', ')', '*', '+', ',', '=', ':', '@':
		return true
	}
	return false
}
