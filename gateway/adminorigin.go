package gateway

import (
	"errors"
	"net/http"
	"strings"

	"github.com/lanyard-sso/lanyard"
)

// An application's page runs in the origin of the host it is served on.
// On the origin of the admin UI it could read an administrator's CSRF
// token, or call the admin API with the administrator's cookie. So the
// administration and the applications never share an origin: either the
// admin UI and API have a host of their own (Config.AdminHost), which
// proxies nothing, or no route is served on Lanyard's host.

// errRouteOnAdminOrigin refuses a route that would share the admin UI's
// origin.
var errRouteOnAdminOrigin = errors.New("it would be served on the origin of the admin UI, whose pages it could then use " +
	"with an administrator's rights: give the route a host of its own, or put the admin UI on an origin of its own (admin_base_url)")

// checkRouteOrigin refuses a route on the admin UI's host: Lanyard's own
// host (a route without a host matches it too) when the admin UI is there,
// else the admin host.
func (g *Gateway) checkRouteOrigin(r lanyard.ProxyRoute) error {
	host := strings.ToLower(r.Host)
	if g.adminHost == "" {
		if host == "" || host == strings.ToLower(g.base.Hostname()) {
			return errRouteOnAdminOrigin
		}
		return nil
	}
	if host != "" && (host == g.adminHost || host == hostName(g.adminHost)) {
		return errRouteOnAdminOrigin
	}
	return nil
}

// hostName is host without its port.
func hostName(host string) string {
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.Contains(host[i:], "]") {
		return host[:i]
	}
	return host
}

// adminPath reports whether path is the admin UI's or the admin API's.
func adminPath(path string) bool {
	for _, p := range []string{"/admin", "/api"} {
		if path == p || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	return false
}

// serveAdminOrigin keeps the administration on its own host, when it has
// one: there every request goes to Lanyard (next), never to a route;
// elsewhere the admin paths answer 404. It reports whether it answered.
func (g *Gateway) serveAdminOrigin(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
	if g.adminHost == "" {
		return false
	}
	if strings.EqualFold(r.Host, g.adminHost) {
		next.ServeHTTP(w, r)
		return true
	}
	if adminPath(r.URL.Path) {
		w.Header().Set("Cache-Control", "no-store")
		http.Error(w, "The administration is not served on this host.", http.StatusNotFound)
		return true
	}
	return false
}
