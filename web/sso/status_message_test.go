package sso

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestDisplayableStatusMessage: a signed StatusMessage reaches the page
// without control or format characters, on one line, cut short.
func TestDisplayableStatusMessage(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Account disabled", "Account disabled"},
		{"  padded\t\ttabs  ", "padded tabs"},
		{"line one\r\nline two", "line one line two"},
		{"bell\aand\x00nul", "bell and nul"},
		{"\u202eevil\u202c text", "evil text"},
		{"zero\u200bwidth", "zero width"},
		{"bad \xff byte", "bad byte"},
		{"\x1b[31mred\x1b[0m", "[31mred [0m"},
		{"", ""},
		{"\r\n\t", ""},
	} {
		if got := displayableStatusMessage(tc.in); got != tc.want {
			t.Errorf("%q: %q, want %q", tc.in, got, tc.want)
		}
	}
	long := displayableStatusMessage(strings.Repeat("é", 500))
	if n := utf8.RuneCountInString(long); n != maxStatusMessageRunes+1 || !strings.HasSuffix(long, "…") {
		t.Errorf("long message: %d runes %q", n, long[len(long)-8:])
	}
}
