package lanyard

import (
	"net/netip"
	"strconv"
	"strings"
)

// Origins are compared whole: scheme, host and port (RFC 6454). A page of
// http://app.example.com, or of https://app.example.com:8443, is not the
// application at https://app.example.com, and neither is a page of
// app.example.com.evil or app.example.com. (trailing dot).

// CanonicalOrigin returns the origin s names, serialized as browsers send
// it in the Origin header: scheme http or https and host in lower case,
// the port only when it is not the scheme's default. ok is false for
// anything that is not exactly an origin: "null", a path (even "/"), a
// query, a fragment, userinfo, a host with a trailing dot or characters
// outside ASCII letters, digits, '-' and '.' (browsers send an
// internationalized name in its punycode form, xn--...), an IPv6 address
// with a zone, or a port that is not a plain number from 1 to 65535.
func CanonicalOrigin(s string) (string, bool) {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return "", false
	}
	scheme = strings.ToLower(scheme)
	if scheme != "http" && scheme != "https" {
		return "", false
	}
	var host, port string
	if strings.HasPrefix(rest, "[") {
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return "", false
		}
		addr, err := netip.ParseAddr(rest[1:end])
		if err != nil || !addr.Is6() || addr.Zone() != "" {
			return "", false
		}
		host = "[" + addr.String() + "]"
		switch after := rest[end+1:]; {
		case after == "":
		case strings.HasPrefix(after, ":"):
			port = after[1:]
		default:
			return "", false
		}
	} else {
		host, port, _ = strings.Cut(rest, ":")
		if !validHostName(host) {
			return "", false
		}
		host = strings.ToLower(host)
	}
	if port != "" || strings.HasSuffix(rest, ":") {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != port {
			return "", false
		}
		if (scheme == "http" && n == 80) || (scheme == "https" && n == 443) {
			port = ""
		}
	}
	if port != "" {
		return scheme + "://" + host + ":" + port, true
	}
	return scheme + "://" + host, true
}

// validHostName reports whether h is a DNS name or IPv4 address in ASCII:
// labels of letters, digits and '-', separated by single dots, no dot at
// either end.
func validHostName(h string) bool {
	if h == "" || len(h) > 253 || h[0] == '.' || h[len(h)-1] == '.' || strings.Contains(h, "..") {
		return false
	}
	for i := 0; i < len(h); i++ {
		switch c := h[i]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '.':
		default:
			return false
		}
	}
	return true
}
