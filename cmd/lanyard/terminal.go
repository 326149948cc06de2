package main

import (
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// What the commands print comes partly from the store, where an IdP or an
// old release may have left control characters: a carriage return that
// overwrites a line, an escape sequence that drives the terminal, a
// bidirectional override that reorders what is shown. None reaches the
// terminal raw: values are escaped (printable), and the standard output passes
// through terminalSafe, which escapes every control or format character
// but the newlines and tabs that lay the output out.

// printable escapes the control, format and separator characters of a value
// (newlines and tabs included) as \xNN or \uNNNN, and bytes that are not
// UTF-8 as \xNN, so that it prints on one line as what it is.
func printable(s string) string {
	if !needsEscape(s, false) {
		return s
	}
	var b strings.Builder
	escapeTo(&b, s, false)
	return b.String()
}

func isTerminalControl(r rune) bool {
	return unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp)
}

func needsEscape(s string, keepLayout bool) bool {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && n == 1 && !keepLayout) || (isTerminalControl(r) && !(keepLayout && (r == '\n' || r == '\t'))) {
			return true
		}
		i += n
	}
	return false
}

func escapeTo(b *strings.Builder, s string, keepLayout bool) {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1 && keepLayout:
			// Possibly a character split across two writes: left as is.
			b.WriteByte(s[i])
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(b, `\x%02x`, s[i])
		case keepLayout && (r == '\n' || r == '\t'):
			b.WriteRune(r)
		case isTerminalControl(r) && r < 0x100:
			fmt.Fprintf(b, `\x%02x`, r)
		case isTerminalControl(r):
			fmt.Fprintf(b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
}

// terminalSafe is a writer that escapes what printable escapes except
// newlines, tabs and bytes that are not UTF-8 (a character split across two
// writes goes through whole). Data meant to be byte-exact (a CSV export)
// goes to the raw standard output instead.
type terminalSafe struct{ w io.Writer }

func (t terminalSafe) Write(p []byte) (int, error) {
	s := string(p)
	if !needsEscape(s, true) {
		return t.w.Write(p)
	}
	var b strings.Builder
	escapeTo(&b, s, true)
	if _, err := io.WriteString(t.w, b.String()); err != nil {
		return 0, err
	}
	return len(p), nil
}
