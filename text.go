package lanyard

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// HasControl reports whether s holds a character that must never reach a
// header, a log line or a terminal raw: a control character (CR, LF, NUL,
// ESC...), a line or paragraph separator, a format character
// (bidirectional overrides, zero-width
// characters) or bytes that are not UTF-8.
func HasControl(s string) bool {
	if !utf8.ValidString(s) {
		return true
	}
	for _, r := range s {
		if isControl(r) {
			return true
		}
	}
	return false
}

func isControl(r rune) bool {
	return unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp) || r == utf8.RuneError
}

// CleanText makes s fit for one line of display: every control or format
// character, and every run of white space, becomes one space; the result is
// trimmed and cut to at most maxBytes bytes on a character boundary (no cut
// when maxBytes is 0).
func CleanText(s string, maxBytes int) string {
	var b strings.Builder
	space := false
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		if isControl(r) || unicode.IsSpace(r) {
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	out := b.String()
	if maxBytes > 0 && len(out) > maxBytes {
		cut := maxBytes
		for cut > 0 && !utf8.RuneStart(out[cut]) {
			cut--
		}
		out = strings.TrimSpace(out[:cut])
	}
	return out
}
