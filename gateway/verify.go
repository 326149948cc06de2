package gateway

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/session"
)

// Verify answers the forward-auth check of nginx (auth_request), Traefik
// (ForwardAuth) and Caddy (forward_auth), at GET /auth/verify:
//
//   - 200 with the identity headers and X-Lanyard-JWT when the request's
//     session cookie names a live session of the tenant that holds the
//     required roles;
//   - 401 with X-Lanyard-Login, the URL that signs the user in and comes
//     back to the original URL, when there is no such session (or it
//     belongs to another tenant);
//   - 403 when the user lacks a required role;
//   - 500 when the store fails (the proxy refuses the request).
//
// Query parameters, all optional:
//
//	tenant=SLUG    the session must belong to this tenant (default: any;
//	               the login URL then names the default tenant)
//	roles=a,b      the user must hold every one of these roles
//	aud=NAME       the audience of the identity token (the application's
//	               name, as its verifier expects it); default: the origin
//	               the user reached, from X-Forwarded-Proto and
//	               X-Forwarded-Host (e.g. https://app.example.com)
//	redirect=true  answer 302 to the login URL instead of 401 when the
//	               original request is a browser's GET or HEAD (Traefik
//	               and Caddy pass the answer on to the browser; nginx
//	               cannot, it uses X-Lanyard-Login with error_page)
//
// The original URL comes from X-Original-URI (nginx), X-Forwarded-Uri
// (Traefik, Caddy) or X-Original-URL; only its path and query are used, so
// the return after login never leaves the site.
func (g *Gateway) Verify() http.Handler {
	params := &verifyParamsCache{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Cache-Control"] = noStore
		p := params.get(r.URL.RawQuery)
		if name := forgedIdentityHeader(r.Header); name != "" {
			// The proxy in front passes the client's headers on to the
			// application; whatever it removes or replaces, a spelling it
			// does not know would arrive. Refuse the request instead.
			g.logger.Warn("forward-auth: request carrying an identity header refused", "header", name)
			http.Error(w, "The request carries a header an application would read as Lanyard's identity ("+name+"), which only Lanyard may set; Lanyard refuses it. Send the request without that header.", http.StatusForbidden)
			return
		}
		if !plainOriginalPath(r) {
			// The proxy matched its location on its own reading of the
			// path; the application may read it otherwise.
			g.logger.Info("forward-auth: ambiguous original path refused", "uri", r.Header.Get("X-Original-Uri")+r.Header.Get("X-Forwarded-Uri"))
			http.Error(w, ambiguousPathMessage, http.StatusForbidden)
			return
		}
		e, err := g.identify(r.Context(), r)
		switch {
		case errors.Is(err, session.ErrNoSession):
			g.unauthenticated(w, r, p.tenant, p.redirect)
			return
		case lanyard.ErrorKind(err) == lanyard.KindUnavailable:
			// The database is out (unreachable, full...): the proxy shows a
			// 503 that says to come back, as the login pages do.
			g.logger.Warn("forward-auth: session check failed: the database is unavailable; answering 503", "err", err)
			h.Set("Retry-After", "5")
			http.Error(w, "Lanyard cannot check the session right now (its database is unavailable). Please try again in a few seconds.", http.StatusServiceUnavailable)
			return
		case err != nil:
			g.logger.Error("forward-auth: session check failed; the proxy refuses the request with 500", "err", err)
			http.Error(w, "Lanyard could not check the session (the store failed); try again.", http.StatusInternalServerError)
			return
		}
		if p.tenant != "" && e.snap.Tenant.Slug != p.tenant {
			g.unauthenticated(w, r, p.tenant, p.redirect)
			return
		}
		if !e.hasRoles(p.roles) {
			http.Error(w, "Your account does not hold the role this application requires ("+strings.Join(p.roles, ", ")+"). Ask an administrator for access.", http.StatusForbidden)
			return
		}
		for _, ih := range e.headers {
			h[ih.name] = ih.value
		}
		if tok := g.token(e, g.verifyAudience(r, p)); tok != "" {
			h[jwtKey] = []string{tok}
		}
		if c := appCookies(r.Header); c != "" {
			h[appCookieKey] = []string{c}
		}
		w.WriteHeader(http.StatusOK)
	})
}

// forgedIdentityHeader returns the name of a client header that an
// application would read as an identity header (isIdentityHeader), or "".
func forgedIdentityHeader(h http.Header) string {
	for name := range h {
		if isIdentityHeader(name) {
			return name
		}
	}
	return ""
}

// appCookieKey is HeaderAppCookie as http.Header keys it.
var appCookieKey = http.CanonicalHeaderKey(HeaderAppCookie)

// appCookies returns the request's cookies without Lanyard's, as one
// Cookie header value, or "" when none is left.
func appCookies(h http.Header) string {
	lines := h["Cookie"]
	switch len(lines) {
	case 0:
		return ""
	case 1:
		return withoutLanyardCookies(lines[0])
	}
	var kept []string
	for _, line := range lines {
		if line = withoutLanyardCookies(line); line != "" {
			kept = append(kept, line)
		}
	}
	return strings.Join(kept, "; ")
}

// verifyParams are the query parameters of a forward-auth request.
type verifyParams struct {
	tenant   string
	roles    []string
	audience string
	redirect bool
}

// verifyParamsCache keeps the parsed parameters by raw query: a proxy asks
// with the same few queries millions of times.
type verifyParamsCache struct {
	m sync.Map // raw query -> *verifyParams
	n atomic.Int32
}

// maxVerifyQueries bounds the cache; other queries are parsed each time.
const maxVerifyQueries = 1024

func (c *verifyParamsCache) get(raw string) *verifyParams {
	if p, ok := c.m.Load(raw); ok {
		return p.(*verifyParams)
	}
	q, _ := url.ParseQuery(raw)
	p := &verifyParams{tenant: q.Get("tenant"), roles: lanyard.ParseRoles(q.Get("roles")), audience: q.Get("aud"), redirect: q.Get("redirect") == "true"}
	// Count only while there is room, so the counter cannot wrap around.
	if c.n.Load() < maxVerifyQueries && c.n.Add(1) <= maxVerifyQueries {
		c.m.Store(raw, p)
	}
	return p
}

var noStore = []string{"no-store"}

// verifyAudience is the audience of the token a forward-auth answer
// carries: the aud parameter, else the origin the user reached.
func (g *Gateway) verifyAudience(r *http.Request, p *verifyParams) string {
	if p.audience != "" {
		return p.audience
	}
	return g.audiences.originOf(schemeOf(r), hostOf(r, true), g.baseOrigin)
}

// audienceCache keeps the canonical origin by scheme and host: a proxy
// asks for the same few hosts millions of times.
type audienceCache struct {
	mu       sync.RWMutex
	byScheme [2]map[string]string // http, https: host -> origin
}

// originOf returns the canonical origin of scheme://host, or fallback
// when that is no origin.
func (c *audienceCache) originOf(scheme, host, fallback string) string {
	i := 0
	if scheme == "https" {
		i = 1
	}
	c.mu.RLock()
	o, ok := c.byScheme[i][host]
	c.mu.RUnlock()
	if ok {
		return o
	}
	o, ok = lanyard.CanonicalOrigin(scheme + "://" + host)
	if !ok {
		return fallback
	}
	c.mu.Lock()
	if c.byScheme[i] == nil {
		c.byScheme[i] = map[string]string{}
	}
	if len(c.byScheme[i]) < maxVerifyQueries {
		c.byScheme[i][host] = o
	}
	c.mu.Unlock()
	return o
}

// unauthenticated answers 401 with the login URL, or, when redirect is
// asked and the original request is a browser's GET or HEAD, 302 to it.
func (g *Gateway) unauthenticated(w http.ResponseWriter, r *http.Request, tenant string, redirect bool) {
	if tenant == "" {
		tenant = lanyard.DefaultTenantSlug
	}
	login := g.signInURL(tenant, schemeOf(r), hostOf(r, true), originalPath(r))
	w.Header().Set(HeaderLogin, login)
	method := r.Header.Get("X-Forwarded-Method")
	if method == "" {
		method = http.MethodGet
	}
	if redirect && (method == http.MethodGet || method == http.MethodHead) && wantsHTML(r) {
		http.Redirect(w, r, login, http.StatusFound)
		return
	}
	http.Error(w, "Sign in first: "+login, http.StatusUnauthorized)
}

// plainOriginalPath reports whether the path of the original request (as
// the proxy names it, see originalPath) is one that every server reads
// alike: canonicalPath accepts it, and it has no dot segment or repeated
// slash to resolve. A request the proxy does not describe passes.
func plainOriginalPath(r *http.Request) bool {
	uri := ""
	for _, name := range [...]string{"X-Original-Uri", "X-Forwarded-Uri"} {
		if v := r.Header[name]; len(v) > 0 {
			uri = v[0]
			break
		}
	}
	if uri == "" {
		return true
	}
	p, _, _ := strings.Cut(uri, "?")
	if p == "" || p[0] != '/' {
		return true // not a path (an absolute URL); originalPath ignores it
	}
	if isPlainPath(p) {
		return true
	}
	if _, err := canonicalPath(p); err != nil {
		return false
	}
	segments := strings.Split(p[1:], "/")
	for i, seg := range segments {
		if seg == "" && i < len(segments)-1 {
			return false // repeated slash
		}
		switch strings.ToLower(seg) {
		case ".", "..", "%2e", "%2e%2e", ".%2e", "%2e.":
			return false
		}
	}
	return true
}

// originalPath returns the local path and query of the request the proxy
// is asking about.
func originalPath(r *http.Request) string {
	for _, name := range []string{"X-Original-Uri", "X-Forwarded-Uri"} {
		if v := r.Header.Get(name); v != "" {
			return localPath(v)
		}
	}
	if v := r.Header.Get("X-Original-Url"); v != "" {
		if i := strings.Index(v, "://"); i >= 0 {
			v = v[i+3:]
			if j := strings.IndexByte(v, '/'); j >= 0 {
				return localPath(v[j:])
			}
			return "/"
		}
		return localPath(v)
	}
	return "/"
}

// wantsHTML reports whether the client is a browser navigating (it accepts
// HTML), rather than a script that should get the status.
func wantsHTML(r *http.Request) bool {
	accept := r.Header.Get("Accept")
	return accept == "" || strings.Contains(accept, "text/html") || strings.Contains(accept, "*/*")
}

// JWKS serves the public keys of the identity tokens at
// /.well-known/jwks.json. Applications may cache it for a few minutes, and
// fetch it again when a token names an unknown key.
func (g *Gateway) JWKS() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "application/jwk-set+json")
		h.Set("Cache-Control", "public, max-age=300")
		if g.keys == nil {
			w.Write([]byte(`{"keys":[]}`))
			return
		}
		w.Write(g.keys.JWKS())
	})
}
