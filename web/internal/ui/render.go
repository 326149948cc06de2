package ui

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/admin"
	"github.com/lanyard-sso/lanyard/web/internal/httperr"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pages holds one parsed template per page, each with the shared layout.
type pages struct {
	byName map[string]*template.Template
}

// pageFuncs are the template functions of every page.
var pageFuncs = template.FuncMap{
	"fmtTime": func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"isoTime": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"join":    strings.Join,
	"skew": func(d time.Duration) string {
		switch {
		case d == 0:
			return "none: the clocks agree within a second (or the message had no IssueInstant)"
		case d > 0:
			return "the IdP's clock is " + d.String() + " ahead of Lanyard's"
		}
		return "the IdP's clock is " + (-d).String() + " behind Lanyard's"
	},
	"certWarning":             func(t time.Time) string { return admin.CertificateWarning(t, time.Now()) },
	"legacyEncryptionWarning": func() string { return admin.LegacyEncryptionWarning },
	"pathEscape":              url.PathEscape,
	"list":                    func(s ...string) []string { return s },
	"navigation":              navigationOf,
}

// mustParsePages parses the embedded templates. A parse error is a bug in
// the binary, found by every test, so it panics.
func mustParsePages() *pages {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	p := &pages{byName: map[string]*template.Template{}}
	for _, name := range names {
		if path.Base(name) == "layout.html" || strings.HasPrefix(path.Base(name), "partial_") {
			continue
		}
		// Partials (templates/partial_*.html) define blocks that pages share.
		t := template.Must(template.New("").Funcs(pageFuncs).ParseFS(templateFS, "templates/layout.html", "templates/partial_*.html", name))
		p.byName[strings.TrimSuffix(path.Base(name), ".html")] = t
	}
	return p
}

// Render writes the named page with status. It renders into a buffer first,
// so a template error becomes a clean 500 instead of half a page.
func (k *Kit) Render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	t, ok := k.pages.byName[name]
	if !ok {
		k.RenderError(w, r, fmt.Errorf("web: no page template %q", name))
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		if name == "error" {
			// Rendering the error page itself failed: fall back to text.
			k.Logger.Error("error page failed to render", "err", err)
			http.Error(w, "An internal error occurred.", http.StatusInternalServerError)
			return
		}
		k.RenderError(w, r, fmt.Errorf("web: render %s: %w", name, err))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	// Pages carry forms with CSRF tokens and personal data: keep them out of
	// shared and back-button caches.
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(buf.Bytes())
	}
}

// StaticHandler serves the embedded stylesheets and scripts of the pages.
func StaticHandler() http.Handler {
	files := http.FileServerFS(staticFS)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			// Files only: no directory listings.
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	})
}

// PageTitle is the data of pages that show only a title.
type PageTitle struct {
	Title string
}

// RenderStarting answers while the server is not ready yet.
func (k *Kit) RenderStarting(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Retry-After", "5")
	k.Render(w, r, http.StatusServiceUnavailable, "starting", PageTitle{Title: "Starting"})
}

// ErrorView is the data of the error page.
type ErrorView struct {
	Title   string
	Message string
	Link    *Link
	// Nav is the navigation of a signed-in administrator, nil for others.
	Nav *Navigation
}

// Navigation lets the layout show an administrator's navigation.
func (v ErrorView) Navigation() *Navigation { return v.Nav }

// Link is a follow-up action on a page.
type Link struct {
	Href string
	Text string
}

// RenderError answers with the page of err's kind. The user sees the
// error's user-safe message (never the detail of an internal error); the log
// gets the whole chain.
func (k *Kit) RenderError(w http.ResponseWriter, r *http.Request, err error) {
	k.RenderErrorLink(w, r, err, nil)
}

// RenderErrorLink is RenderError with a follow-up link on the page.
func (k *Kit) RenderErrorLink(w http.ResponseWriter, r *http.Request, err error, next *Link) {
	a := httperr.Prepare(k.Logger, w, r, err)
	view := ErrorView{Title: a.Title, Message: a.Message, Link: next}
	if k.adminNav != nil && AdminFrom(r.Context()).User.ID != 0 {
		view.Nav = k.adminNav(r)
	}
	k.Render(w, r, a.Status, "error", view)
}

// NotFound answers every path no route claims.
func (k *Kit) NotFound() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k.RenderError(w, r, &notFound)
	})
}

// notFound is the refusal of a path no route claims.
var notFound = lanyard.Error{Kind: lanyard.KindNotFound, Message: "There is nothing at this address. Check the link, or start again from the home page."}
