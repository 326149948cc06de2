// Package relay holds what the session-keeping face and the SSO face share
// about session checks: the paths and messages of session.js, the relay page
// that tells the page running a check how it ended, and which application
// origins may run checks.
//
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
package relay

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"html/template"
	"log/slog"
	"net/http"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/web/internal/ui"
)

// Paths of the session-keeping endpoints.
const (
	SessionScriptPath = "/lanyard/session.js"
	ScriptPath        = "/lanyard/relay.js"
	SessionStatePath  = "/lanyard/session"
	PopupDonePath     = "/lanyard/popup-done"
)

// Messages the relay page posts to the page that opened the check or the
// sign-in window. session.js accepts them from Lanyard's own origin only.
const (
	MsgRefreshed = "lanyard:refreshed"
	MsgExpired   = "lanyard:expired"
	MsgSignedIn  = "lanyard:signed-in"
	// MsgUnconfirmed: the IdP said no to a check in a hidden frame, where
	// it may not see its cookies; the page checks again in a window.
	MsgUnconfirmed = "lanyard:unconfirmed"
)

// OriginParam names the origin of the application page that runs a check
// or a sign-in window, when it is not Lanyard's own.
const OriginParam = "origin"

//go:embed relay.js
var script []byte

// Script is relay.js, the relay page's only script.
func Script() []byte { return script }

// ScriptVersion is the content hash of relay.js.
var ScriptVersion = ContentVersion(script)

// ContentVersion is the short content hash that versions a script's URL.
func ContentVersion(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:6])
}

// OriginTruster says which application origins Lanyard serves.
type OriginTruster interface {
	AllowsOrigin(origin string) bool
}

// Origins validates the origin of a page that runs session.js.
type Origins struct {
	// Self is the origin of Lanyard's base URL, canonical
	// (lanyard.CanonicalOrigin).
	Self string
	// Trusted knows the applications' origins; nil trusts none.
	Trusted OriginTruster
}

// Validate returns the origin of the page that runs session.js. The empty
// origin and Lanyard's own mean Lanyard's pages (answered ""); any other
// must be one the gateway trusts.
func (o Origins) Validate(origin string) (string, bool) {
	if origin == "" {
		return "", true
	}
	if c, ok := lanyard.CanonicalOrigin(origin); ok && c == o.Self {
		return "", true
	}
	if o.Trusted == nil || !o.Trusted.AllowsOrigin(origin) {
		return "", false
	}
	return origin, true
}

// Refuse answers a check or sign-in started by a page Lanyard does not
// trust. The origin is logged, never shown: the page must not echo what a
// request made up.
func Refuse(k *ui.Kit, w http.ResponseWriter, r *http.Request, origin string) {
	k.Logger.Warn("session keeping refused to a page of an untrusted origin", "origin", ui.TruncateForLog(origin), "path", r.URL.Path)
	w.Header().Set("Cache-Control", "no-store")
	k.Render(w, r, http.StatusBadRequest, "error", ui.ErrorView{
		Title:   "Not allowed",
		Message: "This session check comes from a page Lanyard does not serve. Its administrator must add the page's host as a proxy route or a trusted host, on the same scheme as Lanyard.",
	})
}

// View is the data of the relay page.
type View struct {
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

// page is a standalone page (no layout: it lives in frames and small
// windows). Its only script is relay.js, so the site-wide CSP holds.
var page = template.Must(template.New("relay").Parse(`<!doctype html>
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

// Write answers with the relay page. It may be shown in a frame of
// Lanyard's own pages and of the validated origin in v.Origin, no other.
func Write(logger *slog.Logger, w http.ResponseWriter, status int, v View) {
	v.ScriptURL = ScriptPath + "?v=" + ScriptVersion
	h := w.Header()
	h.Set("Content-Security-Policy", ui.FramableCSP(v.Origin))
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := page.Execute(w, v); err != nil {
		logger.Error("relay page failed", "err", err)
	}
}
