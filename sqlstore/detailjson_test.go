package sqlstore

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// detailFamily is every spelling encodeDetail must escape as encoding/json
// does: each byte alone and between others, broken and truncated UTF-8,
// encoded surrogates, the JavaScript line terminators, HTML specials.
func detailFamily() []string {
	var f []string
	for c := range 256 {
		b := string([]byte{byte(c)})
		f = append(f, b, "a"+b+"z", b+b+b, "é"+b, b+"é", b+"\u2028")
	}
	f = append(f,
		"", " ", "plain text", "ü é ß 日本 🙂", "\ufffd", "\xef\xbf\xbd\xff",
		// Truncated sequences, alone and before ASCII or another lead byte.
		"\xc3", "\xc3a", "\xe2\x80", "\xe2\x80a", "\xf0\x9f\x98", "\xf0\x9f\x98a", "\xf0\x9f", "\xf0\xc3\xa9",
		// Overlong forms, encoded surrogates, past U+10FFFF, stray continuations.
		"\xc0\xaf", "\xc1\xbf", "\xe0\x80\xaf", "\xf0\x80\x80\xaf", "\xed\xa0\x80", "\xed\xbf\xbf",
		"\xed\xa0\xbd\xed\xb8\x80", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\x80", "\xbf\xbf", "\xfe\xff",
		// The line and paragraph separators, valid and cut short, and their neighbours.
		"\u2028", "\u2029", "a\u2028b\u2029c", "\u2027\u202a", "\xe2\x80\xa8\xe2\x80", "\xe2\x80\xa9\x80",
		// What the HTML escaping is for, and every short escape at once.
		"</script><script>alert(1)</script>", "a&b<c>d", `"\/'`, "\b\f\n\r\t\v\x00\x1f\x7f",
		strings.Repeat("<&>\u2028\xff", 100), strings.Repeat("x", 5000),
	)
	return f
}

func marshalDetail(t testing.TB, m map[string]string) string {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestEncodeDetailMatchesJSON(t *testing.T) {
	t.Parallel()
	family := detailFamily()
	var cases []map[string]string
	for _, s := range family {
		cases = append(cases,
			map[string]string{s: s},
			map[string]string{"k": s},
			map[string]string{s: "v", "k": s, "": ""},
		)
	}
	// Keys the escaping makes equal or reorders (sorting is by the raw
	// bytes, before escaping), and maps of many keys.
	cases = append(cases,
		map[string]string{"\xff": "1", "\xfe": "2", "\ufffd": "3", "\u2028": "4", "\\u2028": "5"},
		map[string]string{"<": "1", "\\u003c": "2", "a": "3", "A": "4", "é": "5", "e\u0301": "6"},
		map[string]string{"": "empty key"}, map[string]string{"empty value": ""}, map[string]string{},
	)
	for _, n := range []int{15, 16, 17, 100, 1000} {
		m := map[string]string{}
		for i := range n {
			m[fmt.Sprintf("key%d\xff%s", n-i, family[i%len(family)])] = family[(i*7)%len(family)]
		}
		cases = append(cases, m)
	}
	all := map[string]string{}
	for i, s := range family {
		all[fmt.Sprint(i)+s] = s
	}
	cases = append(cases, all)
	for i, m := range cases {
		want := marshalDetail(t, m)
		if got := encodeDetail(m); got != want {
			t.Errorf("case %d %q:\n got %q\nwant %q", i, m, got, want)
		}
	}
}

func FuzzEncodeDetail(f *testing.F) {
	for _, s := range detailFamily() {
		if len(s) < 100 {
			f.Add(s, s, "k", "")
		}
	}
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		m := map[string]string{k1: v1, k2: v2, k1 + k2: v2 + v1}
		if got, want := encodeDetail(m), marshalDetail(t, m); got != want {
			t.Fatalf("encodeDetail(%q) = %q, json.Marshal gives %q", m, got, want)
		}
	})
}

func BenchmarkEncodeDetail(b *testing.B) {
	// The detail of a successful SSO login's event.
	m := map[string]string{"attributes": "uid|mail|givenName|sn", "found_by": "link", "idp": "https://idp.bench.test",
		"idp_initiated": "true", "landing": "/", "nameid": "user042@bench.test",
		"nameid_format": "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress", "session": "17",
		"signature_method": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256", "assertion_signed": "true", "clock_offset_s": "0"}
	b.Run("encodeDetail", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			_ = encodeDetail(m)
		}
	})
	b.Run("json.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			_, _ = json.Marshal(m)
		}
	})
}
