package lanyard

import "testing"

func TestHasControlAndCleanText(t *testing.T) {
	for _, tc := range []struct {
		in      string
		control bool
		clean   string
	}{
		{"Alice", false, "Alice"},
		{"Zoë Ångström", false, "Zoë Ångström"},
		{"a\r\nb", true, "a b"},
		{"a\nSet-Cookie: x", true, "a Set-Cookie: x"},
		{"tab\there", true, "tab here"},
		{"nul\x00", true, "nul"},
		{"\x1b[2Jclear", true, "[2Jclear"},
		{"del\x7f", true, "del"},
		{"c1\u0085next", true, "c1 next"},
		{"\u202eevil", true, "evil"},
		{"zero\u200bwidth", true, "zero width"},
		{"bom\ufeff", true, "bom"},
		{"bad\xffutf8", true, "bad utf8"},
		{"  spaced   out  ", false, "spaced out"},
		{"line\u2028sep", true, "line sep"},
	} {
		if got := HasControl(tc.in); got != tc.control {
			t.Errorf("HasControl(%q) = %v, want %v", tc.in, got, tc.control)
		}
		if got := CleanText(tc.in, 0); got != tc.clean {
			t.Errorf("CleanText(%q) = %q, want %q", tc.in, got, tc.clean)
		}
	}
	if got := CleanText("ééé", 5); got != "éé" {
		t.Errorf("cut on a character boundary: %q", got)
	}
}
