package ui

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/lanyard-sso/lanyard"
)

// MaxFormBytes bounds the body of Lanyard's own forms; none comes close.
const MaxFormBytes = 64 << 10

// AdminHome is where administrators land after signing in.
const AdminHome = "/admin/"

// LimitForm bounds the request body of a form handler.
func LimitForm(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, MaxFormBytes)
		next.ServeHTTP(w, r)
	})
}

// ParseForm reads a posted form (bounded by LimitForm) and says what to do
// when it cannot.
func ParseForm(r *http.Request) error {
	err := r.ParseForm()
	if err == nil {
		return nil
	}
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return &lanyard.Error{Kind: lanyard.KindInvalid, Message: "The form is too large to be accepted. Reload the page and send it again.", Err: err}
	}
	return &lanyard.Error{Kind: lanyard.KindInvalid, Message: "The form could not be read. Reload the page and send it again.", Err: err}
}

// SafeNext returns p when it is a path on this site, else "": the only
// places a "next" parameter may send a browser.
func SafeNext(p string) string {
	if lanyard.IsLocalPath(p) {
		return p
	}
	return ""
}

// AdminLoginURL is the administrator sign-in page, returning to next
// afterwards.
func AdminLoginURL(next string) string {
	if next = SafeNext(next); next == "" || next == AdminHome {
		return "/admin/login"
	}
	return "/admin/login?" + url.Values{"next": {next}}.Encode()
}

// Redirect answers 303 See Other: after a form post the browser follows
// with a GET (post/redirect/get).
func Redirect(w http.ResponseWriter, r *http.Request, to string) {
	http.Redirect(w, r, to, http.StatusSeeOther)
}
