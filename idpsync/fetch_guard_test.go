package idpsync

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/lanyard-sso/lanyard"
)

func TestPublicAddr(t *testing.T) {
	for _, tc := range []struct {
		addr   string
		public bool
	}{
		{"127.0.0.1", false}, {"127.1.2.3", false}, {"::1", false},
		{"10.0.0.1", false}, {"172.16.0.1", false}, {"172.31.255.255", false}, {"192.168.1.1", false},
		{"169.254.169.254", false}, {"fe80::1", false}, {"fc00::1", false}, {"fd12:3456::1", false},
		{"0.0.0.0", false}, {"0.1.2.3", false}, {"::", false}, {"100.64.0.1", false}, {"100.127.255.254", false},
		{"::ffff:127.0.0.1", false}, {"::ffff:10.0.0.1", false}, {"::ffff:169.254.169.254", false},
		{"224.0.0.1", false}, {"ff02::1", false}, {"ff05::2", false}, {"255.255.255.255", false},
		{"192.0.2.1", false}, {"198.18.0.1", false}, {"203.0.113.9", false}, {"240.0.0.1", false},
		{"64:ff9b::7f00:1", false}, {"2001:db8::1", false}, {"2002:7f00:1::1", false},
		{"8.8.8.8", true}, {"1.1.1.1", true}, {"2606:4700:4700::1111", true}, {"172.32.0.1", true},
		{"11.0.0.1", true}, {"100.128.0.1", true}, {"::ffff:8.8.8.8", true},
	} {
		if got := PublicAddr(netip.MustParseAddr(tc.addr)); got != tc.public {
			t.Errorf("PublicAddr(%s) = %v, want %v", tc.addr, got, tc.public)
		}
	}
}

// listenOn starts a metadata server on the loopback address addr.
func listenOn(t *testing.T, addr string, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", addr+":0")
	if err != nil {
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestFetchRefusesNonPublic fetches metadata from servers on loopback:
// refused by default whether named by address or by a host name, and when
// an allowed server redirects to a refused one; allowed by AllowPrivate.
// Tests may only use loopback, so 127.0.0.1 plays a public address here
// and 127.0.0.2 an internal one: the check is the same.
func TestFetchRefusesNonPublic(t *testing.T) {
	md := []byte("<EntityDescriptor/>")
	internal := listenOn(t, "127.0.0.2", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(md) }))
	public := listenOn(t, "127.0.0.1", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/metadata":
			w.Write(md)
		case "/to-internal":
			http.Redirect(w, r, internal+"/metadata", http.StatusFound)
		}
	}))
	onlyFirst := func(a netip.Addr) bool { return a == netip.MustParseAddr("127.0.0.1") }
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(public, "http://"))
	for _, tc := range []struct {
		name string
		f    *HTTPFetcher
		url  string
		ok   bool
	}{
		{"loopback by address, default rules", &HTTPFetcher{}, public + "/metadata", false},
		{"loopback by name, default rules", &HTTPFetcher{}, "http://localhost:" + port + "/metadata", false},
		{"internal address", &HTTPFetcher{public: onlyFirst}, internal + "/metadata", false},
		{"public address", &HTTPFetcher{public: onlyFirst}, public + "/metadata", true},
		{"redirect to an internal address", &HTTPFetcher{public: onlyFirst}, public + "/to-internal", false},
		{"allowed by the operator", &HTTPFetcher{AllowPrivate: true}, public + "/to-internal", true},
		{"allowed, direct", &HTTPFetcher{AllowPrivate: true}, internal + "/metadata", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body, err := tc.f.FetchMetadata(t.Context(), tc.url)
			if tc.ok {
				if err != nil || string(body) != string(md) {
					t.Fatalf("%q, %v", body, err)
				}
				return
			}
			if lanyard.ErrorKind(err) != lanyard.KindInvalid || !strings.Contains(err.Error(), "not a public address") || !strings.Contains(err.Error(), "metadata_allow_private") {
				t.Fatalf("want a refusal naming the rule, got %v", err)
			}
		})
	}
}
