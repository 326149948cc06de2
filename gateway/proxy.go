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
	"unicode"
	"unicode/utf8"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/internal/tracing"
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
	// prefixSegments is how many path segments StripPrefix removes: the
	// route matched them without regard to case, so their bytes may
	// differ from PathPrefix.
	prefixSegments int
}

// routeTable holds the routes, most specific first: routes with a host
// before those without, longer path prefixes before shorter ones.
type routeTable struct {
	routes  []*route
	origins map[string]bool // of the routes' hosts, canonical
}

// match returns the route of the request whose decoded canonical path
// (see canonicalPath) is path, or nil.
func (t *routeTable) match(r *http.Request, path string) *route {
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
		if prefixMatch(path, rt.PathPrefix) {
			return rt
		}
	}
	return nil
}

// prefixMatch: "/app/" matches what is below it; "/app" also matches
// itself, but not "/apple". Letter case does not count ("/APP/x" is below
// "/app/"): an upstream on a case-insensitive file system or server reads
// both as one path, and the most specific route, with its roles, must
// decide.
func prefixMatch(path, prefix string) bool {
	n, ok := hasPrefixFold(path, prefix)
	if !ok {
		return false
	}
	return strings.HasSuffix(prefix, "/") || n == len(path) || path[n] == '/'
}

// hasPrefixFold reports whether s starts with prefix under Unicode simple
// case folding, and how many bytes of s the prefix covers.
func hasPrefixFold(s, prefix string) (int, bool) {
	i := 0
	for j := 0; j < len(prefix); {
		if i >= len(s) {
			return 0, false
		}
		a, b := s[i], prefix[j]
		if a < utf8.RuneSelf && b < utf8.RuneSelf {
			if a != b && lowerASCII(a) != lowerASCII(b) {
				return 0, false
			}
			i++
			j++
			continue
		}
		ra, na := utf8.DecodeRuneInString(s[i:])
		rb, nb := utf8.DecodeRuneInString(prefix[j:])
		if !equalFoldRune(ra, rb) {
			return 0, false
		}
		i += na
		j += nb
	}
	return i, true
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// equalFoldRune: a and b are the same letter under simple case folding
// (which also makes the Kelvin sign a "k" and the long s an "s"), or
// have the same upper or lower case (Windows compares upper cases: the
// dotless ı is "I" there, and the dotted İ lowers to "i").
func equalFoldRune(a, b rune) bool {
	if a == b || unicode.ToUpper(a) == unicode.ToUpper(b) || unicode.ToLower(a) == unicode.ToLower(b) {
		return true
	}
	for r := unicode.SimpleFold(a); r != a; r = unicode.SimpleFold(r) {
		if r == b {
			return true
		}
	}
	return false
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
	g.loadMu.Lock()
	defer g.loadMu.Unlock()
	table, err := g.buildTable(stored)
	if err != nil {
		return err
	}
	if !sameRoutes(g.routes.Load(), table) {
		g.logger.Info("proxy routes loaded", "routes", len(table.routes))
	}
	g.stored = stored
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
	rt := &route{ProxyRoute: r, upstream: up, prefixSegments: strings.Count(strings.TrimSuffix(r.PathPrefix, "/"), "/")}
	rt.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			if rt.StripPrefix {
				stripSegments(pr.Out.URL, rt.prefixSegments)
			}
			pr.SetURL(up)
			pr.SetXForwarded()
			// SetURL sends the upstream's host; applications behind a
			// proxy mostly want the host the user asked for.
			pr.Out.Host = pr.In.Host
		},
		ModifyResponse: stripLanyardSetCookies,
		Transport:      g.transport,
		BufferPool:     g.buffers,
		ErrorLog:       nil,
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

// stripSegments removes the first n segments from u's path, which
// canonicalPath made: the same segments in Path and RawPath.
func stripSegments(u *url.URL, n int) {
	if n == 0 {
		return
	}
	u.Path = dropSegments(u.Path, n)
	if u.RawPath != "" {
		u.RawPath = dropSegments(u.RawPath, n)
	}
}

// dropSegments returns p ("/a/b/c") without its first n segments ("/c"
// for 2), at least "/".
func dropSegments(p string, n int) string {
	i := 0
	for ; n > 0 && i < len(p); n-- {
		j := strings.IndexByte(p[i+1:], '/')
		if j < 0 {
			return "/"
		}
		i += 1 + j
	}
	return p[i:]
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

// ambiguousPathMessage is the answer to a path that servers could read
// differently: what was wrong, and what to do.
const ambiguousPathMessage = "The request path is ambiguous (encoded or repeated separators, path parameters such as ;jsessionid, dot segments, backslashes, control characters or look-alike characters), so Lanyard refuses it: applications could read it differently. Open the address with a plain path; if a link of the application led here, tell its administrator."

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
// identity headers and X-Lanyard-JWT, without any header the client sent
// that an application reads as one of them (isIdentityHeader) and without
// Lanyard's cookies; an upstream's Set-Cookie of Lanyard's names is
// dropped. Bodies stream both ways and WebSocket upgrades pass.
//
// Routes match the canonical path (canonicalPath), which is also what goes
// upstream; an ambiguous path is refused with 400 when any route is
// configured.
func (g *Gateway) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.serveAdminOrigin(w, r, next) {
			return
		}
		if g.store != nil && g.serveAuthPath(w, r) {
			return
		}
		table := g.routes.Load()
		if len(table.routes) == 0 || !strings.HasPrefix(r.URL.Path, "/") {
			next.ServeHTTP(w, r) // no route, or "*" and CONNECT
			return
		}
		path, ok := canonicalRequestPath(r)
		if !ok {
			g.logger.Info("proxy: ambiguous request path refused", "path", r.URL.EscapedPath(), "host", r.Host)
			http.Error(w, ambiguousPathMessage, http.StatusBadRequest)
			return
		}
		rt := table.match(r, path)
		if rt == nil || lanyardPath(path) {
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
	r, endSpan := traceRoute(r, rt)
	defer endSpan()
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
	tracing.Inject(r.Context(), h) // the upstream continues Lanyard's trace (W3C traceparent)
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

// canonicalRequestPath puts the canonical path (see canonicalPath) in
// r.URL and returns it decoded; false for an ambiguous path.
func canonicalRequestPath(r *http.Request) (string, bool) {
	escaped := r.URL.EscapedPath()
	canon, err := canonicalPath(escaped)
	if err != nil {
		return "", false
	}
	if canon == escaped {
		return r.URL.Path, true
	}
	decoded, err := url.PathUnescape(canon)
	if err != nil {
		return "", false
	}
	r.URL.Path, r.URL.RawPath = decoded, canon
	return decoded, true
}

// cgiName returns the name a CGI-style gateway (PHP, WSGI, Rack, CGI)
// derives from a header name, without its HTTP_ prefix, for the first
// len(want) bytes: upper case, and every character that is not a letter
// or digit as "_" (PHP maps "-", ".", " " and "[" to "_"; CGI servers map
// "-", and frameworks differ on the rest).
func cgiNameHasPrefix(name, want string) bool {
	if len(name) < len(want) {
		return false
	}
	for i := 0; i < len(want); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		case 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		default:
			c = '_'
		}
		if c != want[i] {
			return false
		}
	}
	return true
}

// identityCGIPrefix is what the CGI name of every identity header starts
// with (X-Lanyard- is HTTP_X_LANYARD_).
const identityCGIPrefix = "X_LANYARD_"

// isIdentityHeader reports whether name reads, to some application, as
// one of Lanyard's identity headers: X-Lanyard-User, x_lanyard_user,
// X.Lanyard.User, X~Lanyard~User...
func isIdentityHeader(name string) bool {
	return cgiNameHasPrefix(name, identityCGIPrefix)
}

// stripIdentityHeaders removes every header an application could read as
// an identity header (isIdentityHeader), and, from Connection, the names
// of such headers: the proxy drops the headers Connection names, and
// Lanyard's own must reach the application.
func stripIdentityHeaders(h http.Header) {
	for name := range h {
		if isIdentityHeader(name) {
			delete(h, name)
		}
	}
	conn, ok := h["Connection"]
	if !ok {
		return
	}
	var kept []string
	for _, line := range conn {
		for _, token := range strings.Split(line, ",") {
			if token = strings.TrimSpace(token); token != "" && !isIdentityHeader(token) {
				kept = append(kept, token)
			}
		}
	}
	if len(kept) == 0 {
		delete(h, "Connection")
		return
	}
	h["Connection"] = []string{strings.Join(kept, ", ")}
}

// isLanyardCookie reports whether a cookie of this name is Lanyard's, as
// an application could read it: lanyard_* in any case and with any
// separator (PHP reads "lanyard.session" as lanyard_session), also with
// the __Host- and __Secure- prefixes.
func isLanyardCookie(name string) bool {
	name = strings.TrimLeft(name, " \t")
	if len(name) > 0 && name[0] == '_' {
		switch {
		case cgiNameHasPrefix(name, "__HOST_"):
			name = name[len("__Host-"):]
		case cgiNameHasPrefix(name, "__SECURE_"):
			name = name[len("__Secure-"):]
		}
	}
	return cgiNameHasPrefix(name, "LANYARD_")
}

// stripSessionCookie removes Lanyard's cookies (isLanyardCookie) from the
// Cookie headers, keeping the others as they were: the application gets
// the identity, not a credential it could replay.
func stripSessionCookie(h http.Header) {
	cookies := h["Cookie"]
	if len(cookies) == 0 {
		return
	}
	changed := false
	for _, line := range cookies {
		if withoutLanyardCookies(line) != line {
			changed = true
			break
		}
	}
	if !changed {
		return
	}
	var kept []string
	for _, line := range cookies {
		if line = withoutLanyardCookies(line); line != "" {
			kept = append(kept, line)
		}
	}
	if len(kept) == 0 {
		delete(h, "Cookie")
		return
	}
	h["Cookie"] = kept
}

// withoutLanyardCookies returns the Cookie header value line without
// Lanyard's cookies (the others joined by "; "), line itself when it has
// none of them, "" when nothing is left.
func withoutLanyardCookies(line string) string {
	if !containsFold(line, "lanyard") {
		return line
	}
	var b strings.Builder
	for rest := line; rest != ""; {
		var part string
		part, rest, _ = strings.Cut(rest, ";")
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, _, _ := strings.Cut(part, "=")
		if isLanyardCookie(name) {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("; ")
		}
		b.WriteString(part)
	}
	return b.String()
}

// stripLanyardSetCookies drops the Set-Cookie headers of an upstream's
// answer that set one of Lanyard's cookies (isLanyardCookie): an
// application must not plant or replace a session in the browser.
func stripLanyardSetCookies(res *http.Response) error {
	sc := res.Header["Set-Cookie"]
	if len(sc) == 0 {
		return nil
	}
	kept := sc[:0:0]
	for _, line := range sc {
		name, _, _ := strings.Cut(line, "=")
		if !isLanyardCookie(strings.TrimSpace(name)) {
			kept = append(kept, line)
		}
	}
	if len(kept) == 0 {
		delete(res.Header, "Set-Cookie")
		return nil
	}
	res.Header["Set-Cookie"] = kept
	return nil
}

// containsFold reports whether s contains the lower-case ASCII word in
// any case.
func containsFold(s, word string) bool {
	for i := 0; i+len(word) <= len(s); i++ {
		j := 0
		for j < len(word) && lowerASCII(s[i+j]) == word[j] {
			j++
		}
		if j == len(word) {
			return true
		}
	}
	return false
}

// bufferPool recycles the copy buffers of proxied bodies.
type bufferPool struct{ p sync.Pool }

func newBufferPool() *bufferPool {
	return &bufferPool{p: sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}}
}

func (b *bufferPool) Get() []byte  { return *(b.p.Get().(*[]byte)) }
func (b *bufferPool) Put(p []byte) { b.p.Put(&p) }
