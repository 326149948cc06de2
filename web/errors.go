package web

import (
	"errors"
	"net/http"

	"github.com/lanyard-sso/lanyard"
)

// errorPage is how one kind of error looks to the user.
type errorPage struct {
	status int
	title  string
	// fallback is shown when the error carries no user-safe message, and
	// always for internal errors, whose message may hold details.
	fallback string
}

// errorPages maps every error kind to its HTTP status and page: the one
// place where that choice is made.
var errorPages = map[lanyard.Kind]errorPage{
	lanyard.KindInternal: {http.StatusInternalServerError, "Something went wrong",
		"An internal error occurred. It has been logged. Please try again; if it keeps happening, tell your administrator the time it happened."},
	lanyard.KindInvalid: {http.StatusBadRequest, "The request is not valid",
		"The request could not be understood. Go back, check what you entered and try again."},
	lanyard.KindNotFound: {http.StatusNotFound, "Not found",
		"There is nothing at this address. Check the link, or start again from the home page."},
	lanyard.KindConflict: {http.StatusConflict, "Conflict",
		"The change clashes with existing data. Reload the page and try again."},
	lanyard.KindUnauthorized: {http.StatusUnauthorized, "Sign-in required",
		"You need to sign in to see this page."},
	lanyard.KindForbidden: {http.StatusForbidden, "Access denied",
		"Your account may not use this page. Ask an administrator if you need access."},
	lanyard.KindUnavailable: {http.StatusServiceUnavailable, "Temporarily unavailable",
		"Lanyard cannot answer right now. Please try again in a few seconds."},
	lanyard.KindThrottled: {http.StatusTooManyRequests, "Too many attempts",
		"Too many attempts. Wait a few minutes and try again."},
}

// errorView is the data of the error page.
type errorView struct {
	Title   string
	Message string
	Link    *link
}

// link is a follow-up action on a page.
type link struct {
	Href string
	Text string
}

// renderError answers with the page of err's kind. The user sees the
// error's user-safe message (never the detail of an internal error); the log
// gets the whole chain.
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, err error) {
	s.renderErrorLink(w, r, err, nil)
}

// renderErrorLink is renderError with a follow-up link on the page.
func (s *Server) renderErrorLink(w http.ResponseWriter, r *http.Request, err error, next *link) {
	kind := lanyard.ErrorKind(err)
	page, ok := errorPages[kind]
	if !ok {
		kind, page = lanyard.KindInternal, errorPages[lanyard.KindInternal]
	}
	message := page.fallback
	var le *lanyard.Error
	if kind != lanyard.KindInternal && errors.As(err, &le) && le.Message != "" &&
		// The store sentinels' terse texts ("not found") read worse than
		// the page's own.
		le.Message != lanyard.ErrNotFound.Message && le.Message != lanyard.ErrConflict.Message {
		message = le.Message
	}
	if kind == lanyard.KindInternal {
		s.logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	} else {
		s.logger.Info("request refused", "method", r.Method, "path", r.URL.Path, "kind", kind.String(), "err", err)
	}
	if kind == lanyard.KindUnavailable {
		w.Header().Set("Retry-After", "5")
	}
	setRetryAfter(w, err)
	s.render(w, r, page.status, "error", errorView{Title: page.title, Message: message, Link: next})
}

// statusOf returns the HTTP status that errorPages gives err's kind.
func statusOf(err error) int {
	if p, ok := errorPages[lanyard.ErrorKind(err)]; ok {
		return p.status
	}
	return http.StatusInternalServerError
}
