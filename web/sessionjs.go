package web

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/lanyard-sso/lanyard"
)

// Session keeping: the script /lanyard/session.js, which Lanyard's pages and
// applications' pages include, asks GET /lanyard/session who is signed in
// and when the next check with the IdP is due; it then runs a passive
// AuthnRequest (/t/{t}/saml/login?passive=frame|popup) in a hidden frame, or
// in a small window when the IdP refuses to be framed. The ACS answers such
// a check with a relay page (relay.js) that tells the page through
// postMessage whether the session was refreshed or has ended.
//
// An application on a host of its own (a route's host, or a trusted host of
// forward-auth) includes the script by Lanyard's absolute URL. Its calls are
// then cross-origin: GET /lanyard/session answers CORS for the origins the
// gateway trusts, and the checks carry the page's origin (?origin=), which
// is validated, kept with the pending request, and names the only origin
// that may frame the relay page and receive its message.

// Paths of the session-keeping endpoints.
const (
	sessionScriptPath = "/lanyard/session.js"
	relayScriptPath   = "/lanyard/relay.js"
	sessionStatePath  = "/lanyard/session"
	popupDonePath     = "/lanyard/popup-done"
)

// Messages the relay page posts to the page that opened the check or the
// sign-in window. session.js accepts them from Lanyard's own origin only.
const (
	msgRefreshed = "lanyard:refreshed"
	msgExpired   = "lanyard:expired"
	msgSignedIn  = "lanyard:signed-in"
	// msgUnconfirmed: the IdP said no to a check in a hidden frame, where
	// it may not see its cookies; the page checks again in a window.
	msgUnconfirmed = "lanyard:unconfirmed"
)

//go:embed static/session.js
var sessionScript []byte

//go:embed static/relay.js
var relayScript []byte

// sessionScriptVersion is the content hash of session.js: pages that load
// /lanyard/session.js?v=VERSION get it cached for a year.
var sessionScriptVersion = contentVersion(sessionScript)

var relayScriptVersion = contentVersion(relayScript)

func contentVersion(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:6])
}

// SessionScriptURL is the path applications put in their script tag to
// include Lanyard's session keeping, versioned so that browsers cache it.
func SessionScriptURL() string { return sessionScriptPath + "?v=" + sessionScriptVersion }

// handleScript serves an embedded script. With the current version in
// ?v= it may be cached for a year (the URL changes with the content);
// otherwise the browser revalidates it with its ETag.
func handleScript(body []byte, version string) http.Handler {
	etag := `"` + version + `"`
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "text/javascript; charset=utf-8")
		h.Set("ETag", etag)
		if r.URL.Query().Get("v") == version {
			h.Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			h.Set("Cache-Control", "no-cache")
		}
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		_, _ = w.Write(body)
	})
}

// sessionState is the JSON answer of GET /lanyard/session.
type sessionState struct {
	SignedIn bool     `json:"signed_in"`
	Tenant   string   `json:"tenant,omitempty"`
	Login    string   `json:"login,omitempty"`
	Name     string   `json:"name,omitempty"`
	Roles    []string `json:"roles,omitempty"`
	// Kind is "sso" or "password"; only SSO sessions are re-checked.
	Kind string `json:"kind,omitempty"`
	// ExpiresIn is the number of seconds until the session ends unless
	// the user is active.
	ExpiresIn int `json:"expires_in,omitempty"`
	// RefreshInterval and RefreshIn (seconds; 0: due now) schedule the
	// passive re-check with the IdP. Zero for password sessions.
	RefreshInterval int `json:"refresh_interval,omitempty"`
	RefreshIn       int `json:"refresh_in,omitempty"`
	// CheckURL runs the passive re-check (add &passive=frame or popup);
	// LoginURL runs an SP-initiated sign-in in a window that reports back.
	CheckURL string `json:"check_url,omitempty"`
	LoginURL string `json:"login_url,omitempty"`
}

// originParam names the origin of the application page that runs a check
// or a sign-in window, when it is not Lanyard's own.
const originParam = "origin"

// pageOrigin validates the origin of the page that runs session.js. The
// empty origin and Lanyard's own mean Lanyard's pages (answered ""); any
// other must be one the gateway trusts. Without a gateway nothing
// cross-origin is allowed.
func (s *Server) pageOrigin(origin string) (string, bool) {
	if origin == "" || origin == s.selfOrigin {
		return "", true
	}
	if s.gateway == nil || !s.gateway.AllowsOrigin(origin) {
		return "", false
	}
	return origin, true
}

// refuseOrigin answers a check or sign-in started by a page Lanyard does not
// trust. The origin is logged, never shown: the page must not echo what a
// request made up.
func (s *Server) refuseOrigin(w http.ResponseWriter, r *http.Request, origin string) {
	s.logger.Warn("session keeping refused to a page of an untrusted origin", "origin", truncateForLog(origin), "path", r.URL.Path)
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, http.StatusBadRequest, "error", errorView{
		Title:   "Not allowed",
		Message: "This session check comes from a page Lanyard does not serve. Its administrator must add the page's host as a proxy route or a trusted host, on the same scheme as Lanyard.",
	})
}

// allowCORS lets a trusted application's page read the answer of a
// credentialed fetch. Another origin gets no CORS headers, so its browser
// withholds the answer.
func (s *Server) allowCORS(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Add("Vary", "Origin")
	origin := r.Header.Get("Origin")
	if origin == "" || origin == s.selfOrigin || s.gateway == nil || !s.gateway.AllowsOrigin(origin) {
		return
	}
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Allow-Credentials", "true")
}

// handleSessionState answers GET /lanyard/session for session.js. It reads
// the session without extending its idle expiry: a page left open must not
// keep its session alive by polling. The fetch is a simple request (GET, no
// custom header), so no preflight is needed.
func (s *Server) handleSessionState() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.allowCORS(w, r)
		state, err := s.sessionState(r)
		if err != nil {
			s.logger.Error("session state failed", "err", err)
			w.Header().Set("Cache-Control", "no-store")
			http.Error(w, `{"error":"internal"}`, http.StatusInternalServerError)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(state)
	})
}

// sessionState describes the request's session, if it is live.
func (s *Server) sessionState(r *http.Request) (sessionState, error) {
	ctx := r.Context()
	id := sessionID(r)
	if id == "" {
		return sessionState{}, nil
	}
	now := s.now()
	sess, err := s.store.Session(ctx, lanyard.HashSessionID(id), now)
	if errors.Is(err, lanyard.ErrNotFound) {
		return sessionState{}, nil
	}
	if err != nil {
		return sessionState{}, err
	}
	user, err := s.store.User(ctx, sess.UserID)
	if errors.Is(err, lanyard.ErrNotFound) {
		return sessionState{}, nil
	}
	if err != nil {
		return sessionState{}, err
	}
	if user.Status != lanyard.StatusActive || user.Locked {
		return sessionState{}, nil
	}
	tenant, err := s.store.TenantByID(ctx, sess.TenantID)
	if err != nil {
		return sessionState{}, err
	}
	st := sessionState{
		SignedIn:  true,
		Tenant:    tenant.Slug,
		Login:     user.Login,
		Name:      user.FullName(),
		Roles:     user.RoleNames(),
		Kind:      string(sess.Kind),
		ExpiresIn: int(sess.ExpiresAt().Sub(now).Seconds()),
		LoginURL:  ssoPath(tenant.Slug) + "login?" + url.Values{"return_to": {popupDonePath}}.Encode(),
	}
	if sess.Kind == lanyard.SessionSSO {
		tenant.SSO.Normalize()
		interval := time.Duration(tenant.SSO.RefreshInterval)
		last := sess.LastRefreshAt
		if last.IsZero() {
			// The login itself was the first check.
			last = sess.CreatedAt
		}
		st.RefreshInterval = int(interval.Seconds())
		st.RefreshIn = max(0, int(last.Add(interval).Sub(now).Seconds()))
		st.CheckURL = ssoPath(tenant.Slug) + "login"
	}
	return st, nil
}

// relayView is the data of the relay page.
type relayView struct {
	Title, Heading, Text string
	// Message is posted to the parent frame or the opener window.
	Message string
	// Mode is "frame" (hidden frame: post, nothing to see), "popup" (the
	// session-keeping window: post, stay open until sign-out) or "login"
	// (the sign-in window: post, then close).
	Mode string
	// Origin is the application page's origin the message goes to, and
	// the only other origin that may frame the page; "": Lanyard's own.
	Origin       string
	ScriptURL    string
	ContinueHref string
}

// relayPage is a standalone page (no layout: it lives in frames and small
// windows). Its only script is relay.js, so the site-wide CSP holds.
var relayPage = template.Must(template.New("relay").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · Lanyard</title><link rel="stylesheet" href="/static/style.css"></head>
<body id="lanyard-relay" data-message="{{.Message}}" data-mode="{{.Mode}}"{{with .Origin}} data-origin="{{.}}"{{end}}>
<main id="main">
<h1>{{.Heading}}</h1>
<p role="status">{{.Text}}</p>
{{with .ContinueHref}}<p><a href="{{.}}">Continue</a></p>{{end}}
</main>
<script src="{{.ScriptURL}}"></script>
</body></html>
`))

// writeRelay answers with the relay page. It may be shown in a frame of
// Lanyard's own pages and of the validated origin in v.Origin, no other.
func (s *Server) writeRelay(w http.ResponseWriter, status int, v relayView) {
	v.ScriptURL = relayScriptPath + "?v=" + relayScriptVersion
	h := w.Header()
	h.Set("Content-Security-Policy", framableCSP(v.Origin))
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := relayPage.Execute(w, v); err != nil {
		s.logger.Error("relay page failed", "err", err)
	}
}

// framableCSP is the site-wide policy, except that Lanyard's own pages, and
// the application page of origin when it is not "", may frame the page (the
// hidden frame of the session check). origin must have passed pageOrigin.
func framableCSP(origin string) string {
	return "default-src 'self'; frame-ancestors " + frameAncestors(origin) + "; form-action 'self'; base-uri 'none'"
}

// frameAncestors is the frame-ancestors source list of a session check's
// pages: 'self', and the validated origin of the application page.
func frameAncestors(origin string) string {
	if origin == "" {
		return "'self'"
	}
	return "'self' " + origin
}

// handlePopupDone answers GET /lanyard/popup-done, where a sign-in started
// from the "session expired" dialog lands: the page tells its opener that
// the user is signed in again, and closes.
func (s *Server) handlePopupDone() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw := r.URL.Query().Get(originParam)
		origin, ok := s.pageOrigin(raw)
		if !ok {
			s.refuseOrigin(w, r, raw)
			return
		}
		state, err := s.sessionState(r)
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		if !state.SignedIn {
			s.writeRelay(w, http.StatusOK, relayView{
				Title: "Not signed in", Heading: "You are not signed in",
				Text: "The sign-in did not complete. Close this window and press Log in again.",
				Mode: "none", ContinueHref: "/login",
			})
			return
		}
		s.writeRelay(w, http.StatusOK, relayView{
			Title: "Signed in", Heading: "You are signed in again",
			Text:    "You can close this window and go back to your work.",
			Message: msgSignedIn, Mode: "login", Origin: origin, ContinueHref: "/",
		})
	})
}

// continuePage sends the browser on with a meta refresh instead of a
// redirect. A form's answer must not redirect to another site: browsers
// check the whole redirect chain of a form submission against the page's
// CSP form-action ('self'), and the IdP is another site.
var continuePage = template.Must(template.New("continue").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="0; url={{.URL}}">
<title>{{.Title}} · Lanyard</title><link rel="stylesheet" href="/static/style.css"></head>
<body><main id="main">
<h1>{{.Title}}</h1>
<p role="status">{{.Text}} If nothing happens, <a id="continue" href="{{.URL}}">continue</a>.</p>
</main></body></html>
`))

// writeContinue answers a form post with a page that goes on to target.
func (s *Server) writeContinue(w http.ResponseWriter, target, title, text string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	if err := continuePage.Execute(w, struct{ URL, Title, Text string }{target, title, text}); err != nil {
		s.logger.Error("continue page failed", "err", err)
	}
}

// allowSessionFrames sets the Content-Security-Policy of a page that
// includes session.js: the site-wide policy, except that frames may load
// the IdPs of the signed-in user's tenant, where the hidden frame of the
// passive check is redirected. Without a session, or when the tenant
// cannot be read, the site-wide policy stays (the check then falls back to
// a window).
func (s *Server) allowSessionFrames(w http.ResponseWriter, r *http.Request) {
	id := sessionID(r)
	if id == "" {
		return
	}
	ctx := r.Context()
	sess, err := s.store.Session(ctx, lanyard.HashSessionID(id), s.now())
	if err != nil || sess.Kind != lanyard.SessionSSO {
		return
	}
	tenant, err := s.store.TenantByID(ctx, sess.TenantID)
	if err != nil {
		return
	}
	snap, err := s.tenants.Snapshot(ctx, tenant.Slug)
	if err != nil {
		return
	}
	sources := []string{"'self'"}
	seen := map[string]bool{}
	for _, idp := range snap.IdPs {
		for _, ep := range idp.SSO {
			u, err := url.Parse(ep.Location)
			if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
				continue
			}
			if origin := u.Scheme + "://" + u.Host; !seen[origin] {
				seen[origin] = true
				sources = append(sources, origin)
			}
		}
	}
	w.Header().Set("Content-Security-Policy", contentSecurityPolicy+"; frame-src "+strings.Join(sources, " "))
}
