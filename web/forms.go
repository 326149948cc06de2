package web

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/lanyard-sso/lanyard"
)

// parseForm reads a posted form (bounded by limitForm) and says what to do
// when it cannot.
func parseForm(r *http.Request) error {
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

// safeNext returns p when it is a path on this site, else "": the only
// places a "next" parameter may send a browser.
func safeNext(p string) string {
	if lanyard.IsLocalPath(p) {
		return p
	}
	return ""
}

// loginURL is the administrator sign-in page, returning to next afterwards.
func loginURL(next string) string {
	if next = safeNext(next); next == "" || next == adminHome {
		return "/admin/login"
	}
	return "/admin/login?" + url.Values{"next": {next}}.Encode()
}

// redirect answers 303 See Other: after a form post the browser follows
// with a GET (post/redirect/get).
func redirect(w http.ResponseWriter, r *http.Request, to string) {
	http.Redirect(w, r, to, http.StatusSeeOther)
}
