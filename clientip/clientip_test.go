package clientip

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func TestAddress(t *testing.T) {
	trusted, err := ParseTrusted("10.0.0.0/8, 127.0.0.1, ::1")
	if err != nil {
		t.Fatal(err)
	}
	behindProxies := New(trusted)
	for _, tc := range []struct {
		name     string
		resolver *Resolver
		peer     string
		xff      []string
		want     string
	}{
		{"no proxy trusted: the header is ignored", New(nil), "203.0.113.9:5000", []string{"198.51.100.1"}, "203.0.113.9"},
		{"zero resolver", nil, "203.0.113.9:5000", []string{"198.51.100.1"}, "203.0.113.9"},
		{"untrusted peer: the header is ignored", behindProxies, "203.0.113.9:5000", []string{"198.51.100.1"}, "203.0.113.9"},
		{"trusted peer, one hop", behindProxies, "127.0.0.1:5000", []string{"198.51.100.1"}, "198.51.100.1"},
		{"trusted peer over IPv6", behindProxies, "[::1]:5000", []string{"2001:db8::7"}, "2001:db8::7"},
		{"a chain of trusted proxies is skipped", behindProxies, "127.0.0.1:5000", []string{"198.51.100.1, 10.1.2.3, 10.4.5.6"}, "198.51.100.1"},
		{"a forged entry left of the real client is not believed", behindProxies, "127.0.0.1:5000", []string{"6.6.6.6, 198.51.100.1"}, "198.51.100.1"},
		{"several header lines", behindProxies, "10.0.0.1:5000", []string{"6.6.6.6", "198.51.100.1, 10.9.9.9"}, "198.51.100.1"},
		{"hop with a port", behindProxies, "127.0.0.1:5000", []string{"198.51.100.1:4711"}, "198.51.100.1"},
		{"garbage stops the walk at the last good hop", behindProxies, "127.0.0.1:5000", []string{"198.51.100.1, not-an-ip, 10.0.0.2"}, "10.0.0.2"},
		{"no header: the proxy itself", behindProxies, "127.0.0.1:5000", nil, "127.0.0.1"},
		{"every hop trusted: the leftmost", behindProxies, "127.0.0.1:5000", []string{"10.0.0.5, 10.0.0.6"}, "10.0.0.5"},
		{"IPv4-mapped peer", behindProxies, "[::ffff:127.0.0.1]:5000", []string{"198.51.100.1"}, "198.51.100.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.peer
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := tc.resolver.Address(r); got != tc.want {
				t.Errorf("Address = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestParseTrusted(t *testing.T) {
	got, err := ParseTrusted(" 192.0.2.0/24 ,, 198.51.100.7,2001:db8::/32, 10.1.2.3/8 ")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range got {
		names = append(names, p.String())
	}
	if s := strings.Join(names, " "); s != "192.0.2.0/24 198.51.100.7/32 2001:db8::/32 10.0.0.0/8" {
		t.Errorf("parsed %s", s)
	}
	_, err = ParseTrusted("10.0.0.0/8, proxy.example.com, 300.1.1.1")
	if err == nil || !strings.Contains(err.Error(), `"proxy.example.com", "300.1.1.1"`) {
		t.Errorf("error %v, want both bad entries named", err)
	}
	if got, err := ParseTrusted(""); err != nil || len(got) != 0 {
		t.Errorf("empty list: %v %v", got, err)
	}
}

// TestSetTrusted: a reload replaces the trusted proxies while requests are
// resolved (run under -race), and a zero Resolver trusts none.
func TestSetTrusted(t *testing.T) {
	res := &Resolver{}
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.0.0.1:5000"
	r.Header.Set("X-Forwarded-For", "198.51.100.1")
	if got := res.Address(r); got != "10.0.0.1" {
		t.Errorf("zero resolver: %s", got)
	}
	trusted, _ := ParseTrusted("10.0.0.0/8")
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 1000 {
			res.Address(r)
		}
	}()
	res.SetTrusted(trusted)
	<-done
	if got := res.Address(r); got != "198.51.100.1" {
		t.Errorf("after SetTrusted: %s, want the forwarded client", got)
	}
	res.SetTrusted(nil)
	if got := res.Address(r); got != "10.0.0.1" {
		t.Errorf("after SetTrusted(nil): %s, want the peer", got)
	}
}
