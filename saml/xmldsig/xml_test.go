package xmldsig

import "testing"

func TestControlChar(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int
	}{
		{"", -1}, {"abc", -1}, {"abcdefgh\tijklmnop\r\n", -1}, {"héllo wörld ünïcode ☃☃☃", -1},
		{"\x00", 0}, {"abcdefghij\x01", 10}, {"abcdefg\x1f", 7}, {"\n\n\n\n\n\n\n\n\x0b", 8}, {"\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\x7f", -1},
	} {
		if got := controlChar(c.in); got != c.want {
			t.Errorf("%q: got %d, want %d", c.in, got, c.want)
		}
	}
}
