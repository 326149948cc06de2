// Package clientip tells who the client of an HTTP request is when Lanyard
// runs behind reverse proxies (a TLS-terminating load balancer, nginx,
// Traefik, Caddy): the address that password throttling counts and that the
// audit trail, the sessions and the SAML tracer record.
//
// X-Forwarded-For is believed only when the connection comes from a proxy
// the operator named, and only as far back as the chain of named proxies
// goes: the first address, from the right, that is not a trusted proxy is
// the client. A client cannot push its own choice in front of the list,
// since everything to the left of the first untrusted hop is ignored.
package clientip

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
)

// Resolver finds the client address of requests. The zero value trusts no
// proxy: the client is the peer of the TCP connection.
type Resolver struct {
	// trusted is swapped whole by SetTrusted while requests read it.
	trusted atomic.Pointer[[]netip.Prefix]
}

// New returns a resolver that believes X-Forwarded-For from the proxies
// in trusted.
func New(trusted []netip.Prefix) *Resolver {
	res := &Resolver{}
	res.SetTrusted(trusted)
	return res
}

// SetTrusted replaces the trusted proxies (a configuration reload); requests
// resolved from then on use the new list.
func (res *Resolver) SetTrusted(trusted []netip.Prefix) {
	list := append([]netip.Prefix(nil), trusted...)
	res.trusted.Store(&list)
}

// Trusted returns the trusted proxies.
func (res *Resolver) Trusted() []netip.Prefix {
	if res == nil {
		return nil
	}
	if p := res.trusted.Load(); p != nil {
		return *p
	}
	return nil
}

// ParseTrusted reads a comma-separated list of proxy addresses and networks
// ("10.0.0.0/8, 192.0.2.7, ::1"). Every bad entry is named in the error.
func ParseTrusted(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	var bad []string
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if p, err := netip.ParsePrefix(item); err == nil {
			out = append(out, p.Masked())
			continue
		}
		if a, err := netip.ParseAddr(item); err == nil {
			a = a.Unmap()
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		bad = append(bad, fmt.Sprintf("%q", item))
	}
	if len(bad) > 0 {
		return nil, errors.New("not an IP address or network (want e.g. 10.0.0.0/8 or 192.0.2.7): " + strings.Join(bad, ", "))
	}
	return out, nil
}

// Address returns the client address of r, without a port.
func (res *Resolver) Address(r *http.Request) string {
	peer := hostOf(r.RemoteAddr)
	trusted := res.Trusted()
	if len(trusted) == 0 {
		return peer
	}
	addr, err := netip.ParseAddr(peer)
	if err != nil || !isTrusted(trusted, addr) {
		return peer
	}
	// Walk the hops from the nearest back; each header line may hold several.
	client := addr
	hops := r.Header.Values("X-Forwarded-For")
	for i := len(hops) - 1; i >= 0; i-- {
		items := strings.Split(hops[i], ",")
		for j := len(items) - 1; j >= 0; j-- {
			hop, err := netip.ParseAddr(hostOf(strings.TrimSpace(items[j])))
			if err != nil {
				// Garbage in the chain: nothing further left can be believed.
				return client.String()
			}
			client = hop.Unmap()
			if !isTrusted(trusted, client) {
				return client.String()
			}
		}
	}
	return client.String()
}

func isTrusted(trusted []netip.Prefix, a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// hostOf strips a port and IPv6 brackets: "192.0.2.1:443", "[::1]:80",
// "[::1]" and "::1" all give the bare address.
func hostOf(s string) string {
	if h, _, err := net.SplitHostPort(s); err == nil {
		return h
	}
	return strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
}
