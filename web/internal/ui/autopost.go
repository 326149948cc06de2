package ui

import (
	"crypto/rand"
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"

	"github.com/lanyard-sso/lanyard/saml"
)

// WriteAutoPost answers with the auto-posting form of msg (the one form
// of the SAML POST binding, saml.Message.PostForm). Its
// Content-Security-Policy allows only the nonce's script and a post to the
// IdP's endpoint; only Lanyard's own pages, and frameOrigin (the validated
// origin of the application page that runs a session check, "" for none),
// may frame it.
func (k *Kit) WriteAutoPost(w http.ResponseWriter, msg *saml.Message, frameOrigin string) {
	var b [16]byte
	_, _ = rand.Read(b[:])
	nonce := base64.RawURLEncoding.EncodeToString(b[:]) // no characters HTML escapes
	action := "'self'"
	if u, err := url.Parse(msg.URL); err == nil && u.Host != "" {
		action = u.Scheme + "://" + u.Host
	}
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'nonce-"+nonce+"'; form-action "+action+"; frame-ancestors "+FrameAncestors(frameOrigin)+"; base-uri 'none'")
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	_, _ = w.Write(msg.PostForm(nonce))
}

// ContentSecurityPolicy allows Lanyard's own pages to load only Lanyard's own
// resources, to be framed by nobody and to post forms only to Lanyard.
// Handlers whose pages need more (the SAML POST binding posts to an IdP)
// replace the header before writing.
const ContentSecurityPolicy = "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"

// FramableCSP is the site-wide policy, except that Lanyard's own pages, and
// the application page of origin when it is not "", may frame the page (the
// hidden frame of the session check). origin must have been validated.
func FramableCSP(origin string) string {
	return "default-src 'self'; frame-ancestors " + FrameAncestors(origin) + "; form-action 'self'; base-uri 'none'"
}

// FrameAncestors is the frame-ancestors source list of a session check's
// pages: 'self', and the validated origin of the application page.
func FrameAncestors(origin string) string {
	if origin == "" {
		return "'self'"
	}
	return "'self' " + origin
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

// WriteContinue answers a form post with a page that goes on to target.
func (k *Kit) WriteContinue(w http.ResponseWriter, target, title, text string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	if err := continuePage.Execute(w, struct{ URL, Title, Text string }{target, title, text}); err != nil {
		k.Logger.Error("continue page failed", "err", err)
	}
}
