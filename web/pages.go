package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pages holds one parsed template per page, each with the shared layout.
type pages struct {
	byName map[string]*template.Template
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

// render writes the named page with status. It renders into a buffer first,
// so a template error becomes a clean 500 instead of half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	t, ok := s.pages.byName[name]
	if !ok {
		s.renderError(w, r, fmt.Errorf("web: no page template %q", name))
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		if name == "error" {
			// Rendering the error page itself failed: fall back to text.
			s.logger.Error("error page failed to render", "err", err)
			http.Error(w, "An internal error occurred.", http.StatusInternalServerError)
			return
		}
		s.renderError(w, r, fmt.Errorf("web: render %s: %w", name, err))
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

// staticHandler serves the embedded stylesheet (and any future asset).
func staticHandler() http.Handler {
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

// pageTitle is the data of pages that show only a title.
type pageTitle struct {
	Title string
}

// renderStarting answers while the server is not ready yet.
func (s *Server) renderStarting(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Retry-After", "5")
	s.render(w, r, http.StatusServiceUnavailable, "starting", pageTitle{Title: "Starting"})
}
