package web

import (
	"net"
	"net/http"
	"strings"
)

// CanonicalHost sends requests for Lanyard's own pages that name another
// host than the base URL's (http://127.0.0.1:8080 for a base URL at
// localhost:8080) to the base URL, keeping the path and the query, before
// anything else happens: Lanyard's cookies belong to the base URL's host,
// so a sign-in begun under another name could never finish. A reverse
// proxy's X-Forwarded-Host names the host when present.
//
// Served on any host: the probes (/healthz, /readyz, /metrics), /auth/
// (forward-auth asks /auth/verify under the name its proxy uses, and the
// hand-off answers on applications' hosts), /.well-known/, and every
// request for a host appHost reports as an application's (nil: none).
func CanonicalHost(base string, appHost func(host string) bool, next http.Handler) http.Handler {
	scheme, host, ok := strings.Cut(base, "://")
	host = strings.TrimSuffix(host, "/")
	if !ok || host == "" || strings.Contains(host, "/") {
		return next
	}
	want := normalHost(scheme, host)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := r.Host
		if fwd := r.Header.Get("X-Forwarded-Host"); fwd != "" {
			got, _, _ = strings.Cut(fwd, ",")
			got = strings.TrimSpace(got)
		}
		if got == "" || normalHost(scheme, got) == want || anyHost(r.URL.Path) || (appHost != nil && appHost(got)) {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		// 307 keeps the method and body; not permanent, so that a base URL
		// changed later is followed.
		http.Redirect(w, r, scheme+"://"+host+r.URL.RequestURI(), http.StatusTemporaryRedirect)
	})
}

// anyHost reports whether path is served under any host name.
func anyHost(path string) bool {
	switch path {
	case "/healthz", "/readyz", "/metrics":
		return true
	}
	return strings.HasPrefix(path, "/auth/") || strings.HasPrefix(path, "/.well-known/")
}

// normalHost lower-cases host and drops the scheme's default port.
func normalHost(scheme, host string) string {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if h, port, err := net.SplitHostPort(host); err == nil {
		if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
			return strings.TrimSuffix(strings.Trim(h, "[]"), ".")
		}
		return net.JoinHostPort(strings.TrimSuffix(h, "."), port)
	}
	return strings.Trim(host, "[]")
}
