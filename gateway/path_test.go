package gateway

import (
	"net/http"
	"net/url"
	"path"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestCanonicalPath: every spelling that some server reads as another
// path is either brought to the one canonical path or refused.
func TestCanonicalPath(t *testing.T) {
	const refused = "REFUSED"
	cases := []struct{ in, want string }{
		// Plain paths pass as they are.
		{"/", "/"},
		{"/portal/", "/portal/"},
		{"/portal/report.pdf", "/portal/report.pdf"},
		{"/.well-known/jwks.json", "/.well-known/jwks.json"},
		{"/~ada/home", "/~ada/home"},
		{"/wiki/Help:Contents", "/wiki/Help:Contents"},
		{"/a/b%20c", "/a/b%20c"},
		{"/caf%c3%a9", "/caf%C3%A9"},
		{"/q%3fx", "/q%3Fx"},
		// Dot segments and repeated slashes are resolved.
		{"/portal/x/../admin/secret.txt", "/portal/admin/secret.txt"},
		{"/portal/./admin/", "/portal/admin/"},
		{"/portal//admin/", "/portal/admin/"},
		{"//portal///admin", "/portal/admin"},
		{"/portal/admin/.", "/portal/admin/"},
		{"/portal/admin/x/..", "/portal/admin/"},
		{"/portal/x/%2e%2e/admin/", "/portal/admin/"},
		{"/portal/x/%2E%2E/admin/", "/portal/admin/"},
		{"/portal/x/.%2e/admin/", "/portal/admin/"},
		{"/portal/%2e/admin/", "/portal/admin/"},
		{"/%70ortal/%61dmin/", "/portal/admin/"},
		{"/portal/%7eada", "/portal/~ada"},
		// Above the root.
		{"/..", refused},
		{"/../portal/", refused},
		{"/portal/../../admin", refused},
		{"/%2e%2e/admin", refused},
		// Encoded separators and backslashes.
		{"/portal/x/..%2fadmin/", refused},
		{"/portal/x/..%2Fadmin/", refused},
		{"/portal%2fadmin/", refused},
		{"/portal/x/..%5cadmin/", refused},
		{"/portal/x/..%5Cadmin/", refused},
		{"/portal\\admin\\", refused},
		{"/portal/x/..\\admin/", refused},
		// Double encoding.
		{"/portal/x/%252e%252e/admin/", refused},
		{"/portal/x/..%252fadmin/", refused},
		{"/portal/%25%32%65", refused}, // decodes to %252e
		{"/portal/x/%25%32%65%25%32%65/admin/", refused},
		{"/portal/%25zz", "/portal/%25zz"},
		{"/portal/100%25", "/portal/100%25"},
		// Tomcat path parameters.
		{"/portal/..;/admin/", refused},
		{"/portal;x=1/admin/", refused},
		{"/portal/admin;jsessionid=1", refused},
		{"/portal/%3b/admin", refused},
		// IIS: trailing dots and spaces, streams, short names.
		{"/portal/admin./secret", refused},
		{"/portal/admin%2e/secret", refused},
		{"/portal/admin%20/secret", refused},
		{"/portal/admin.%20/secret", refused},
		{"/portal/admin...", refused},
		{"/portal/admin::$INDEX_ALLOCATION/secret", refused},
		{"/portal/admin%3a%3a$DATA", refused},
		{"/portal/ADMINI~1/secret", refused},
		{"/portal/admini%7e1/secret", refused},
		// Control characters and NUL.
		{"/portal/admin%00.txt", refused},
		{"/portal/%0a", refused},
		{"/portal/%0D%0Aadmin", refused},
		{"/portal/%7f", refused},
		{"/portal/\x00", refused},
		{"/portal/\t", refused},
		// Broken and overlong UTF-8.
		{"/portal/x/%c0%ae%c0%ae/admin/", refused},
		{"/portal/x/..%c0%afadmin/", refused},
		{"/portal/%e0%80%ae", refused},
		{"/portal/%c1%9c", refused},
		{"/portal/%ff", refused},
		{"/portal/%c3", refused},
		// Look-alikes folded to "." "/" "\".
		{"/portal/x/%ef%bc%8e%ef%bc%8e/admin/", refused},
		{"/portal/x%ef%bc%8fadmin/", refused},
		{"/portal/x%e2%88%95admin/", refused},
		{"/portal/x%ef%bc%bcadmin/", refused},
		// Broken escapes.
		{"/portal/%", refused},
		{"/portal/%2", refused},
		{"/portal/%zz", refused},
		{"portal", refused},
	}
	for _, c := range cases {
		got, err := canonicalPath(c.in)
		if err != nil {
			got = refused
		}
		if got != c.want {
			t.Errorf("canonicalPath(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestIdentityHeaderNames: every name that PHP, CGI, WSGI or Rack read as
// HTTP_X_LANYARD_* is an identity header; others are not.
func TestIdentityHeaderNames(t *testing.T) {
	for _, name := range []string{
		"X-Lanyard-User", "x-lanyard-user", "X-LANYARD-ROLES", "X_Lanyard_User", "x_lanyard_tenant",
		"X.Lanyard.User", "x.lanyard.email", "X-Lanyard_User", "X_Lanyard-Jwt", "X~Lanyard~User", "X!Lanyard!User",
		"X Lanyard User", "X[Lanyard_User", "X-Lanyard-", "X-Lanyard-Anything", "X-Lanyard-App-Cookie", "X-Lanyard-Login",
		"X|Lanyard|Roles", "X+Lanyard+Roles", "X#Lanyard#Roles", "X'Lanyard'Roles", "X`Lanyard`Roles", "X^Lanyard^Roles",
		"X*Lanyard*Roles", "X$Lanyard$Roles", "X%Lanyard%Roles", "X&Lanyard&Roles",
	} {
		if !isIdentityHeader(name) {
			t.Errorf("%q is not taken for an identity header", name)
		}
	}
	for _, name := range []string{"X-Lanyardx-User", "X-Lanyar-User", "Lanyard-User", "X-Forwarded-For", "Cookie", "X-Lanyard", "XX-Lanyard-User"} {
		if isIdentityHeader(name) {
			t.Errorf("%q is taken for an identity header", name)
		}
	}
}

// TestStripCookies: Lanyard's cookies leave the Cookie headers in any
// spelling and spacing; the others stay as they were.
func TestStripCookies(t *testing.T) {
	cases := []struct {
		in   []string
		want []string
	}{
		{[]string{"lanyard_session=abc"}, nil},
		{[]string{"theme=dark"}, []string{"theme=dark"}},
		{[]string{"theme=dark; lanyard_session=abc; lang=en"}, []string{"theme=dark; lang=en"}},
		{[]string{"theme=dark;lanyard_session=abc;lang=en"}, []string{"theme=dark; lang=en"}},
		{[]string{"  lanyard_session=abc  ;  theme=dark  "}, []string{"theme=dark"}},
		{[]string{"a=1", "lanyard_session=abc", "b=2; lanyard_csrf=x"}, []string{"a=1", "b=2"}},
		{[]string{"__Host-lanyard_session=abc; __Secure-lanyard_session=d; a=1"}, []string{"a=1"}},
		{[]string{"__host-LANYARD_SESSION=abc; a=1; Lanyard_Session=x; LANYARD.SESSION=y; lanyard session=z"}, []string{"a=1"}},
		{[]string{"lanyard_sso_binding=1; lanyard_autologin=1; lanyard_autologin_wish=1; lanyard_csrf=1"}, nil},
		{[]string{"mylanyard_session=1; lanyardx=2"}, []string{"mylanyard_session=1; lanyardx=2"}},
		{[]string{"a=1;;; lanyard_session=2;;b=3"}, []string{"a=1; b=3"}},
	}
	for _, c := range cases {
		h := http.Header{"Cookie": append([]string(nil), c.in...)}
		stripSessionCookie(h)
		got := h["Cookie"]
		if len(got) != len(c.want) {
			t.Errorf("%q: got %q, want %q", c.in, got, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%q: got %q, want %q", c.in, got, c.want)
			}
		}
	}
	res := &http.Response{Header: http.Header{"Set-Cookie": {
		"lanyard_session=planted; Path=/", "Lanyard_Session=x", "__Host-lanyard_session=y; Secure; Path=/",
		"__Secure-LANYARD_CSRF=z", "lanyard.session=w", "app=1; Path=/", " lanyard_session=v",
	}}}
	stripLanyardSetCookies(res)
	if got := res.Header["Set-Cookie"]; len(got) != 1 || got[0] != "app=1; Path=/" {
		t.Errorf("Set-Cookie after stripping: %q, want only the application's", got)
	}
}

// BenchmarkRequestChecks is what the proxy adds to a typical request:
// the canonical path, the scan of the header names for identity
// spellings, and the removal of Lanyard's cookie.
func BenchmarkRequestChecks(b *testing.B) {
	h := http.Header{
		"Accept": {"text/html"}, "Accept-Encoding": {"gzip"}, "Accept-Language": {"en"}, "User-Agent": {"Mozilla/5.0"},
		"Cookie": {"theme=dark; lanyard_session=0123456789abcdef0123456789abcdef0123456789a; lang=en"}, "Referer": {"https://app.example.com/"},
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := canonicalPath("/portal/reports/2026/q3.pdf"); err != nil {
			b.Fatal(err)
		}
		if forgedIdentityHeader(h) != "" {
			b.Fatal("forged")
		}
		if c := withoutLanyardCookies(h["Cookie"][0]); c != "theme=dark; lang=en" {
			b.Fatal(c)
		}
	}
}

// FuzzCanonicalPath: a path canonicalPath accepts reads the same to every
// server: canonical again as it is, decoding it once gives valid UTF-8
// without separators, controls or escapes left to decode, and its dot
// segments and repeated slashes are resolved already.
func FuzzCanonicalPath(f *testing.F) {
	for _, seed := range []string{"/", "/portal/x/../admin/", "/a//b/./c", "/%2e%2E/x", "/a%252e", "/a;b", "/a\\b", "/admin.", "/ADMINI~1",
		"/%c0%ae", "/%ef%bc%8e", "/caf%c3%a9/", "/a%20b/", "/a%25zz", "/%25%32%65", "/x::$DATA", "/q%3f?x"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := canonicalPath(in)
		if err != nil {
			return
		}
		if again, err := canonicalPath(out); err != nil || again != out {
			t.Fatalf("canonicalPath(%q) = %q, which is not canonical: %q, %v", in, out, again, err)
		}
		decoded, err := url.PathUnescape(out)
		if err != nil {
			t.Fatalf("canonicalPath(%q) = %q, which does not decode: %v", in, out, err)
		}
		if !utf8.ValidString(decoded) {
			t.Fatalf("canonicalPath(%q) decodes to invalid UTF-8 %q", in, decoded)
		}
		if twice, err := url.PathUnescape(decoded); err == nil && twice != decoded {
			t.Fatalf("canonicalPath(%q) = %q decodes to %q, and again to %q", in, out, decoded, twice)
		}
		for _, c := range decoded {
			if c < 0x20 || c == 0x7f || c == '\\' || c == ';' {
				t.Fatalf("canonicalPath(%q) decodes to %q, with %q", in, decoded, c)
			}
		}
		clean := path.Clean(decoded)
		if clean != decoded && clean+"/" != decoded {
			t.Fatalf("canonicalPath(%q) decodes to %q, which cleans to %q", in, decoded, clean)
		}
		for _, seg := range strings.Split(decoded, "/") {
			if seg != "" && (strings.HasSuffix(seg, ".") || strings.HasSuffix(seg, " ")) {
				t.Fatalf("canonicalPath(%q) decodes to %q, with the segment %q", in, decoded, seg)
			}
		}
	})
}
