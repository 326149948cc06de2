package devidp

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"html/template"
	"net/http"
)

// The pages are self-contained: no external assets, one inline style
// sheet and (for the auto-submitting form) one inline script, both allowed
// by a per-response CSP nonce.

const pageStyle = `
body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1d2330}
main{max-width:30rem;margin:3rem auto;background:#fff;padding:2rem;border-radius:8px;box-shadow:0 1px 4px rgba(0,0,0,.15)}
h1{font-size:1.4rem;margin-top:0}
label{display:block;font-weight:600;margin-top:1rem}
input[type=text],input[type=password]{width:100%;box-sizing:border-box;padding:.5rem;font:inherit;border:1px solid #8a94a6;border-radius:4px}
button{margin-top:1.5rem;padding:.6rem 1.2rem;font:inherit;border:0;border-radius:4px;background:#2456c7;color:#fff;cursor:pointer}
button:focus,input:focus,a:focus{outline:3px solid #f5a623;outline-offset:2px}
button.secondary{background:#fff;color:#2456c7;border:1px solid #2456c7;margin-left:.5rem}
.error{background:#fdecea;border-left:4px solid #c62828;padding:.5rem 1rem}
.note{background:#eef3fd;border-left:4px solid #2456c7;padding:.5rem 1rem;font-size:.95rem}
.small{font-size:.9rem;color:#4a5264}
code{background:#eef0f4;padding:0 .2rem}
table{border-collapse:collapse}td,th{text-align:left;padding:.2rem .6rem .2rem 0}
`

var pages = template.Must(template.New("layout").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{.Title}} · Lanyard devidp</title>
<style nonce="{{.Nonce}}">` + pageStyle + `</style></head>
<body><main>
<h1>{{.Title}}</h1>
{{template "body" .}}
<p class="small">Lanyard development IdP: for testing only, never for real accounts.</p>
</main></body></html>
{{define "login"}}
{{if .SP}}<p><strong>{{.SP}}</strong> asks you to sign in.</p>{{end}}
{{if .Error}}<p class="error" role="alert" id="login-error">{{.Error}}</p>{{end}}
<form method="post" action="{{.Action}}">
<input type="hidden" name="login" value="{{.LoginKey}}">
<label for="username">Username</label>
<input type="text" id="username" name="username" value="{{.Username}}" autocomplete="username" autocapitalize="none" spellcheck="false" required{{if not .Username}} autofocus{{end}}{{if .Error}} aria-describedby="login-error"{{end}}>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required{{if .Username}} autofocus{{end}}>
<button type="submit">Sign in</button>
<button type="submit" name="cancel" value="1" formnovalidate class="secondary">Cancel</button>
</form>
{{if .DemoUsers}}<div class="note"><p>Demo users (password <code>{{.DemoPassword}}</code>):</p>
<ul>{{range .DemoUsers}}<li><code>{{.Username}}</code>{{with index .Attributes "groups"}} (groups: {{range $i, $g := .}}{{if $i}}, {{end}}{{$g}}{{end}}){{end}}</li>{{end}}</ul></div>{{end}}
{{end}}
{{define "message"}}
{{range .Paragraphs}}<p>{{.}}</p>{{end}}
{{if .Items}}<ul>{{range .Items}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{if .Link}}<p><a href="{{.Link}}">{{.LinkText}}</a></p>{{end}}
{{end}}
{{define "logout"}}
<p>You are signed in as <strong>{{.Username}}</strong>{{if .Items}} to:{{else}}.{{end}}</p>
{{if .Items}}<ul>{{range .Items}}<li>{{.}}</li>{{end}}</ul>{{end}}
<form method="post" action="{{.Action}}">
<input type="hidden" name="csrf" value="{{.CSRF}}">
<button type="submit">Sign out everywhere</button>
</form>
{{end}}
{{define "post"}}
<p>Sending you to <strong>{{.Target}}</strong>…</p>
<form method="post" action="{{.URL}}" id="saml-post">
<input type="hidden" name="{{.Param}}" value="{{.Value}}">
{{if .RelayState}}<input type="hidden" name="RelayState" value="{{.RelayState}}">{{end}}
<noscript><p>JavaScript is off: press Continue to go on.</p><button type="submit">Continue</button></noscript>
</form>
<script nonce="{{.Nonce}}">document.getElementById("saml-post").submit()</script>
{{end}}
{{define "index"}}
{{if .Username}}<p>You are signed in as <strong>{{.Username}}</strong>. <a href="{{.LogoutURL}}">Sign out</a></p>
{{else}}<p>You are not signed in.</p>{{end}}
<p>Metadata: <a href="{{.MetadataURL}}">{{.MetadataURL}}</a></p>
<h2>Applications</h2>
{{if .SPs}}<ul>{{range .SPs}}<li><a href="{{.InitURL}}">Sign in to {{.EntityID}}</a> <span class="small">(IdP-initiated)</span></li>{{end}}</ul>
{{else}}<p>No service provider is trusted yet: give the IdP an SP's metadata (<code>lanyard devidp --sp-metadata FILE|URL</code>).</p>{{end}}
<h2>Users</h2>
<table><tr><th scope="col">Username</th><th scope="col">Attributes</th></tr>
{{range .Users}}<tr><td><code>{{.Username}}</code></td><td>{{range $k, $v := .Attributes}}{{$k}}={{range $i, $x := $v}}{{if $i}};{{end}}{{$x}}{{end}} {{end}}</td></tr>{{end}}</table>
{{if .Demo}}<p class="note">Every demo user's password is <code>{{.DemoPassword}}</code>.</p>{{end}}
{{end}}
`))

// pageTemplates holds one template per page body, each the layout with
// its "body" defined.
var pageTemplates = func() map[string]*template.Template {
	m := map[string]*template.Template{}
	for _, name := range []string{"login", "message", "logout", "post", "index"} {
		t := template.Must(pages.Clone())
		template.Must(t.New("body").Parse(`{{template "` + name + `" .}}`))
		m[name] = t
	}
	return m
}()

// page is the data of every page; body names the template of its content.
type page struct {
	Title string
	Nonce string

	// login
	SP, Error, Action, LoginKey, Username string
	DemoUsers                             []User
	DemoPassword                          string
	// message
	Paragraphs []string
	Items      []string
	Link       string
	LinkText   string
	// logout
	CSRF string
	// post
	Target, URL, Param, Value, RelayState string
	// index
	MetadataURL, LogoutURL string
	SPs                    []indexSP
	Users                  []User
	Demo                   bool
}

type indexSP struct{ EntityID, InitURL string }

// render writes a page with its security headers and status.
func (idp *IdP) render(w http.ResponseWriter, status int, body string, p page) {
	nonce := randomToken(18)
	p.Nonce = nonce
	if p.DemoPassword == "" {
		p.DemoPassword = DemoPassword
	}
	var b bytes.Buffer
	if err := pageTemplates[body].Execute(&b, p); err != nil {
		idp.log.Error("devidp: rendering a page", "page", body, "err", err)
		http.Error(w, "internal error rendering the page", http.StatusInternalServerError)
		return
	}
	csp := "default-src 'none'; style-src 'nonce-" + nonce + "'; script-src 'nonce-" + nonce + "'; base-uri 'none'"
	if body != "post" {
		// The auto-submitted form posts to the SP; other forms stay here.
		csp += "; form-action 'self'"
	}
	h := w.Header()
	if idp.cfg.DenyFraming {
		csp += "; frame-ancestors 'none'"
		h.Set("X-Frame-Options", "DENY")
	}
	h.Set("Content-Security-Policy", csp)
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// message renders a page that says what happened and what to do.
func (idp *IdP) message(w http.ResponseWriter, status int, title string, paragraphs ...string) {
	idp.render(w, status, "message", page{Title: title, Paragraphs: paragraphs, Link: idp.StartURL(), LinkText: "Development IdP start page"})
}

// randomToken returns n random bytes, base64url-encoded.
func randomToken(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// newID returns a fresh SAML ID: an NCName (it starts with a letter or
// underscore) with 160 random bits.
func newID() string {
	b := make([]byte, 20)
	rand.Read(b)
	const hexdigits = "0123456789abcdef"
	out := make([]byte, 1, 41)
	out[0] = '_'
	for _, c := range b {
		out = append(out, hexdigits[c>>4], hexdigits[c&15])
	}
	return string(out)
}
