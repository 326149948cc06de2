package gateway

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/session"
)

// NewTransport returns the transport of proxied requests: keep-alive
// connections to upstreams, many idle ones per upstream (a busy upstream
// must not pay a TCP handshake per request), HTTP/2 to https upstreams
// that offer it, and no proxy from the environment.
func NewTransport() *http.Transport {
	return &http.Transport{
		DialContext: (&net.Dialer{
			Timeout:   10 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          2048,
		MaxIdleConnsPerHost:   512,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// route is a ProxyRoute ready to serve.
type route struct {
	lanyard.ProxyRoute
	upstream *url.URL
	proxy    *httputil.ReverseProxy
}

// routeTable holds the routes, most specific first: routes with a host
// before those without, longer path prefixes before shorter ones.
type routeTable struct {
	routes  []*route
	origins map[string]bool // of the routes' hosts, canonical
}

// match returns the route of the request, or nil.
func (t *routeTable) match(r *http.Request) *route {
	if len(t.routes) == 0 {
		return nil
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	for _, rt := range t.routes {
		if rt.Host != "" && !strings.EqualFold(rt.Host, host) {
			continue
		}
		if prefixMatch(r.URL.Path, rt.PathPrefix) {
			return rt
		}
	}
	return nil
}

// prefixMatch: "/app/" matches what is below it; "/app" also matches
// itself, but not "/apple".
func prefixMatch(path, prefix string) bool {
	if !strings.HasPrefix(path, prefix) {
		return false
	}
	return strings.HasSuffix(prefix, "/") || len(path) == len(prefix) || path[len(prefix)] == '/'
}

// Routes returns the routes in use, most specific first.
func (g *Gateway) Routes() []lanyard.ProxyRoute {
	var out []lanyard.ProxyRoute
	for _, rt := range g.routes.Load().routes {
		out = append(out, rt.ProxyRoute)
	}
	return out
}

// LoadRoutes reads the routes from the store and puts them in use together
// with the static ones.
func (g *Gateway) LoadRoutes(ctx context.Context) error {
	if g.routeStore == nil {
		return nil
	}
	stored, err := g.routeStore.ProxyRoutes(ctx)
	if err != nil {
		return fmt.Errorf("gateway: load proxy routes: %w", err)
	}
	table, err := g.buildTable(stored)
	if err != nil {
		return err
	}
	if !sameRoutes(g.routes.Load(), table) {
		g.logger.Info("proxy routes loaded", "routes", len(table.routes))
	}
	g.routes.Store(table)
	return nil
}

// Run reloads the routes every RouteRefresh until ctx is done, so that a
// route added by the CLI or another node is served within that time.
func (g *Gateway) Run(ctx context.Context) {
	t := time.NewTicker(g.refresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := g.LoadRoutes(ctx); err != nil && ctx.Err() == nil {
			g.logger.Warn("proxy routes not reloaded; the previous routes stay in use", "err", err)
		}
	}
}

// buildTable merges the static routes and the stored ones (a stored route
// replaces a static one of the same name) into a table. An invalid route
// is an error, naming every problem.
func (g *Gateway) buildTable(stored []lanyard.ProxyRoute) (*routeTable, error) {
	byName := map[string]lanyard.ProxyRoute{}
	for _, r := range g.static {
		byName[r.Name] = r
	}
	for _, r := range stored {
		byName[r.Name] = r
	}
	old := map[string]*route{}
	if cur := g.routes.Load(); cur != nil {
		for _, rt := range cur.routes {
			old[rt.Name] = rt
		}
	}
	var v lanyard.ValidationError
	table := &routeTable{origins: map[string]bool{}}
	for _, r := range byName {
		r.Normalize()
		if err := r.Validate(); err != nil {
			v.Add("proxy route %q: %s", r.Name, lanyard.ErrorMessage(err))
			continue
		}
		if err := g.checkRouteOrigin(r); err != nil {
			v.Add("proxy route %q: %v", r.Name, err)
			continue
		}
		if prev := old[r.Name]; prev != nil && sameRoute(prev.ProxyRoute, r) {
			table.routes = append(table.routes, prev) // keep its proxy
			continue
		}
		rt, err := g.newRoute(r)
		if err != nil {
			v.Add("proxy route %q: %v", r.Name, err)
			continue
		}
		table.routes = append(table.routes, rt)
	}
	for _, rt := range table.routes {
		if o, ok := g.routeOrigin(rt.Host); ok && rt.Host != "" {
			table.origins[o] = true
		}
	}
	if err := v.Err(); err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	sort.Slice(table.routes, func(i, j int) bool {
		a, b := table.routes[i], table.routes[j]
		if (a.Host != "") != (b.Host != "") {
			return a.Host != ""
		}
		if len(a.PathPrefix) != len(b.PathPrefix) {
			return len(a.PathPrefix) > len(b.PathPrefix)
		}
		return a.Name < b.Name
	})
	return table, nil
}

func sameRoute(a, b lanyard.ProxyRoute) bool {
	return a.Name == b.Name && a.Host == b.Host && a.PathPrefix == b.PathPrefix && a.Upstream == b.Upstream &&
		a.Tenant == b.Tenant && strings.Join(a.Roles, ",") == strings.Join(b.Roles, ",") &&
		a.BearerToken == b.BearerToken && a.StripPrefix == b.StripPrefix
}

func sameRoutes(a, b *routeTable) bool {
	if a == nil || len(a.routes) != len(b.routes) {
		return false
	}
	for i := range a.routes {
		if a.routes[i] != b.routes[i] {
			return false
		}
	}
	return true
}

// newRoute makes the reverse proxy of r.
func (g *Gateway) newRoute(r lanyard.ProxyRoute) (*route, error) {
	up, err := url.Parse(r.Upstream)
	if err != nil {
		return nil, fmt.Errorf("upstream %q: %w", r.Upstream, err)
	}
	rt := &route{ProxyRoute: r, upstream: up}
	rt.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			if rt.StripPrefix {
				stripPrefix(pr.Out.URL, strings.TrimSuffix(rt.PathPrefix, "/"))
			}
			pr.SetURL(up)
			pr.SetXForwarded()
			// SetURL sends the upstream's host; applications behind a
			// proxy mostly want the host the user asked for.
			pr.Out.Host = pr.In.Host
		},
		Transport:  g.transport,
		BufferPool: g.buffers,
		ErrorLog:   nil,
		ErrorHandler: func(w http.ResponseWriter, req *http.Request, err error) {
			if errors.Is(err, context.Canceled) {
				return // the client went away
			}
			g.logger.Warn("proxy: upstream failed", "route", rt.Name, "upstream", rt.Upstream, "err", err)
			http.Error(w, "The application behind Lanyard does not answer ("+rt.Name+"); try again shortly.", http.StatusBadGateway)
		},
	}
	return rt, nil
}

// stripPrefix removes prefix (without its trailing slash) from u's path.
func stripPrefix(u *url.URL, prefix string) {
	if prefix == "" {
		return
	}
	u.Path = strings.TrimPrefix(u.Path, prefix)
	if u.RawPath != "" {
		u.RawPath = strings.TrimPrefix(u.RawPath, prefix)
	}
	if u.Path == "" || u.Path[0] != '/' {
		u.Path = "/" + u.Path
		if u.RawPath != "" {
			u.RawPath = "/" + u.RawPath
		}
	}
}

// lanyardPath reports whether path belongs to Lanyard on every host, even
// one a route claims: the SAML endpoints, /auth/... and the key set.
func lanyardPath(path string) bool {
	switch {
	case strings.HasPrefix(path, "/auth/"), path == "/.well-known/jwks.json":
		return true
	case strings.HasPrefix(path, "/t/"):
		rest := path[len("/t/"):]
		i := strings.IndexByte(rest, '/')
		return i > 0 && strings.HasPrefix(rest[i:], "/saml/")
	}
	return false
}

// Wrap returns a handler that proxies the requests a route matches and
// hands every other request to next (Lanyard's own server). Lanyard's own
// SSO paths (/t/{tenant}/saml/..., /auth/..., /.well-known/jwks.json) are
// never proxied, so a user can sign in on a host an application occupies;
// Wrap itself answers the hand-off (/auth/handoff, /auth/session) when the
// gateway has a Store.
//
// A proxied request needs a live session of the route's tenant holding
// the route's roles. Without one, a browser's GET or HEAD is redirected
// to the login, which comes back to the same URL; other requests get 401
// (with X-Lanyard-Login) or 403. The request then goes upstream with the
// identity headers and X-Lanyard-JWT, without any X-Lanyard-* header the
// client sent and without Lanyard's session cookie. Bodies stream both
// ways and WebSocket upgrades pass.
func (g *Gateway) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.serveAdminOrigin(w, r, next) {
			return
		}
		if g.store != nil && g.serveAuthPath(w, r) {
			return
		}
		rt := g.routes.Load().match(r)
		if rt == nil || lanyardPath(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		if g.held.Load() {
			answerStarting(w)
			return
		}
		g.serveObserved(w, r, rt)
	})
}

func (g *Gateway) serveRoute(w http.ResponseWriter, r *http.Request, rt *route) {
	e, err := g.identify(r.Context(), r)
	switch {
	case errors.Is(err, session.ErrNoSession):
		g.sendToLogin(w, r, rt)
		return
	case err != nil:
		g.logger.Error("proxy: session check failed", "route", rt.Name, "err", err)
		http.Error(w, "Lanyard could not check your session (its store failed); try again shortly.", http.StatusServiceUnavailable)
		return
	}
	if e.snap.Tenant.Slug != rt.Tenant {
		g.sendToLogin(w, r, rt)
		return
	}
	if !e.hasRoles(rt.Roles) {
		http.Error(w, "Your account does not hold the role this application requires ("+strings.Join(rt.Roles, ", ")+"). Ask an administrator for access.", http.StatusForbidden)
		return
	}
	h := r.Header
	stripIdentityHeaders(h)
	stripSessionCookie(h)
	for _, ih := range e.headers {
		h[ih.name] = ih.value
	}
	if tok := g.token(e, rt.Name); tok != "" { // the route's name is the token's audience
		h[jwtKey] = []string{tok}
		if rt.BearerToken {
			h["Authorization"] = []string{"Bearer " + tok}
		}
	}
	// The server's read and write timeouts suit Lanyard's own pages, not
	// a long download, an upload or a WebSocket: the upstream decides.
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
	rt.proxy.ServeHTTP(w, r)
}

// sendToLogin answers a request without a suitable session: a browser's
// GET or HEAD goes to the login and comes back here; anything else gets
// 401 with X-Lanyard-Login.
func (g *Gateway) sendToLogin(w http.ResponseWriter, r *http.Request, rt *route) {
	login := g.signInURL(rt.Tenant, schemeOf(r), r.Host, r.URL.RequestURI())
	w.Header().Set(HeaderLogin, login)
	w.Header().Set("Cache-Control", "no-store")
	if (r.Method == http.MethodGet || r.Method == http.MethodHead) && wantsHTML(r) && r.Header.Get("Upgrade") == "" {
		http.Redirect(w, r, login, http.StatusFound)
		return
	}
	http.Error(w, "Sign in first: "+login, http.StatusUnauthorized)
}

// stripIdentityHeaders removes every header whose name starts with
// X-Lanyard- in any case, or with X_Lanyard_ (which some frameworks read
// as the same header).
func stripIdentityHeaders(h http.Header) {
	for name := range h {
		if len(name) >= len(identityPrefix) && strings.EqualFold(strings.ReplaceAll(name[:len(identityPrefix)], "_", "-"), identityPrefix) {
			delete(h, name)
		}
	}
}

// stripSessionCookie removes Lanyard's session cookie from the Cookie
// headers: the application gets the identity, not a credential it could
// replay.
func stripSessionCookie(h http.Header) {
	cookies := h["Cookie"]
	if len(cookies) == 0 {
		return
	}
	var kept []string
	for _, line := range cookies {
		if !strings.Contains(line, SessionCookie) {
			kept = append(kept, line)
			continue
		}
		var parts []string
		for _, part := range strings.Split(line, ";") {
			name, _, _ := strings.Cut(strings.TrimSpace(part), "=")
			if name != SessionCookie && name != securePrefix+SessionCookie {
				parts = append(parts, strings.TrimSpace(part))
			}
		}
		if len(parts) > 0 {
			kept = append(kept, strings.Join(parts, "; "))
		}
	}
	if len(kept) == 0 {
		delete(h, "Cookie")
		return
	}
	h["Cookie"] = kept
}

// bufferPool recycles the copy buffers of proxied bodies.
type bufferPool struct{ p sync.Pool }

func newBufferPool() *bufferPool {
	return &bufferPool{p: sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}}
}

func (b *bufferPool) Get() []byte  { return *(b.p.Get().(*[]byte)) }
func (b *bufferPool) Put(p []byte) { b.p.Put(&p) }
