// Package httperr turns an error into what an HTTP client is told: the
// status of its kind, a title and a user-safe message. Pages and the JSON
// API both answer through it, so a kind means the same everywhere.
package httperr

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/lanyard-sso/lanyard"
)

// kindAnswer is how one kind of error is answered.
type kindAnswer struct {
	status int
	title  string
	// fallback is told when the error carries no user-safe message, and
	// always for internal errors, whose message may hold details.
	fallback string
}

// answers maps every error kind to its HTTP status and default text: the one
// place where that choice is made.
var answers = map[lanyard.Kind]kindAnswer{
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

// Answer is what a client is told about an error.
type Answer struct {
	Kind    lanyard.Kind
	Status  int
	Title   string
	Message string // user-safe: never the detail of an internal error
}

// Resolve returns the answer to err. An error that is not a *lanyard.Error,
// or of an unknown kind, is internal.
func Resolve(err error) Answer {
	kind := lanyard.ErrorKind(err)
	a, ok := answers[kind]
	if !ok {
		kind, a = lanyard.KindInternal, answers[lanyard.KindInternal]
	}
	message := a.fallback
	var le *lanyard.Error
	if kind != lanyard.KindInternal && errors.As(err, &le) && le.Message != "" &&
		// The store sentinels' terse texts ("not found") read worse than
		// the kind's own.
		le.Message != lanyard.ErrNotFound.Message && le.Message != lanyard.ErrConflict.Message {
		message = le.Message
	}
	return Answer{Kind: kind, Status: a.status, Title: a.title, Message: message}
}

// Status returns the HTTP status of err's kind.
func Status(err error) int { return Resolve(err).Status }

// retryAfterer is an error that knows how long the client should wait.
type retryAfterer interface {
	RetryAfter() time.Duration
}

// SetRetryAfter sets the Retry-After header when err says how long to
// wait, and to 5 seconds for any other unavailable error.
func SetRetryAfter(w http.ResponseWriter, err error) {
	var ra retryAfterer
	if errors.As(err, &ra) {
		wait := ra.RetryAfter()
		secs := int64((wait + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.FormatInt(max(secs, 1), 10))
		return
	}
	if lanyard.ErrorKind(err) == lanyard.KindUnavailable {
		w.Header().Set("Retry-After", "5")
	}
}

// Prepare resolves err, logs it (internal errors as errors with the whole
// chain, refusals as information) and sets Retry-After on w; the caller
// then writes the answer's body in its own format.
func Prepare(logger *slog.Logger, w http.ResponseWriter, r *http.Request, err error) Answer {
	a := Resolve(err)
	if a.Kind == lanyard.KindInternal {
		logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	} else {
		logger.Info("request refused", "method", r.Method, "path", r.URL.Path, "kind", a.Kind.String(), "err", err)
	}
	SetRetryAfter(w, err)
	return a
}
