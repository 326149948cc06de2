package xmldsig

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// checkCharsReference is checkChars the slow, obvious way.
func checkCharsReference(s string) (int, bool) {
	if !utf8.ValidString(s) {
		return -1, false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
			return i, true
		}
	}
	return -1, true
}

func TestCheckChars(t *testing.T) {
	for _, c := range []struct {
		in    string
		want  int
		valid bool
	}{
		{"", -1, true}, {"abc", -1, true}, {"abcdefgh\tijklmnop\r\n", -1, true}, {"héllo wörld ünïcode ☃☃☃", -1, true},
		{"\x00", 0, true}, {"abcdefghij\x01", 10, true}, {"abcdefg\x1f", 7, true}, {"\n\n\n\n\n\n\n\n\x0b", 8, true},
		{"\x7f\x7f\x7f\x7f\x7f\x7f\x7f\x7f\x7f", -1, true}, {"\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\x7f", -1, false},
		// A control character before invalid UTF-8: the encoding error wins.
		{"a\x01bcdefgh\xc3", -1, false},
	} {
		if got, ok := checkChars(c.in); got != c.want || ok != c.valid {
			t.Errorf("%q: got %d, %v, want %d, %v", c.in, got, ok, c.want, c.valid)
		}
	}
	// Every special byte or sequence at every offset of the eight-byte
	// words and of the first 32-byte block and into the next, alone and
	// after another one.
	specials := []string{"\x00", "\x01", "\x1f", "\t", "\n", "\r", " ", "\x7f", "\x80", "\xbf", "\xc0\x80", "\xc3\xa9", "\xc3",
		"\xe2\x98\x83", "\xe2\x98", "\xed\xa0\x80", "\xef\xbf\xbd", "\xf0\x9f\x98\x80", "\xf4\x90\x80\x80", "\xf8\x88\x80\x80\x80"}
	base := strings.Repeat("abcdefgh", 10)
	for _, a := range specials {
		for i := 0; i <= 41; i++ {
			s1 := base[:i] + a + base[i:]
			for _, b := range append([]string{""}, specials...) {
				for j := i + len(a); j <= len(s1); j += 5 {
					s := s1[:j] + b + s1[j:]
					wi, wok := checkCharsReference(s)
					if gi, gok := checkChars(s); gi != wi || gok != wok {
						t.Fatalf("%q: got %d, %v, want %d, %v", s, gi, gok, wi, wok)
					}
				}
			}
		}
	}
}
