package lanyard

import (
	"errors"
	"fmt"
	"slices"
)

// Kind classifies an error for callers that must choose an HTTP status or an
// exit code. The zero value is KindInternal.
type Kind int

// Error kinds. Each maps to one HTTP status in the web package.
const (
	KindInternal     Kind = iota // a bug or an unavailable dependency
	KindInvalid                  // the input is malformed or violates a rule
	KindNotFound                 // the thing asked for does not exist
	KindConflict                 // the change clashes with existing data
	KindUnauthorized             // the caller is not (or no longer) authenticated
	KindForbidden                // the caller is authenticated but not allowed
	KindUnavailable              // try again later (e.g. still initialising)
	KindThrottled                // too many attempts
)

func (k Kind) String() string {
	switch k {
	case KindInvalid:
		return "invalid"
	case KindNotFound:
		return "not found"
	case KindConflict:
		return "conflict"
	case KindUnauthorized:
		return "unauthorized"
	case KindForbidden:
		return "forbidden"
	case KindUnavailable:
		return "unavailable"
	case KindThrottled:
		return "throttled"
	}
	return "internal"
}

// Sentinel errors that are part of the store contract. Store methods wrap
// them; test with errors.Is.
var (
	// ErrNotFound: the record does not exist (or has expired).
	ErrNotFound = &Error{Kind: KindNotFound, Message: "not found"}
	// ErrConflict: a uniqueness rule would be broken (duplicate slug, login, link...).
	ErrConflict = &Error{Kind: KindConflict, Message: "already exists"}
	// ErrReplayed: an assertion marked used inside a transaction had been
	// used already, which the store found after MarkAssertionUsed reported
	// a first use (see ReplayCache). The transaction commits nothing.
	ErrReplayed = &Error{Kind: KindInvalid, Message: "already used"}
)

// Error is Lanyard's error type. Message is safe to show to a user; Err holds
// the detail for the log. An Error whose Err is a *ValidationError lists
// those problems in its Message (ValidationError.Err does), so that callers
// which show only the message show them all, and callers which need them
// one by one take them with errors.As.
type Error struct {
	Op      string // the operation, e.g. "sqlstore.CreateUser"
	Kind    Kind
	Message string // short, user-safe text
	Err     error  // the wrapped cause, if any
}

func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = e.Kind.String()
	}
	// The problems of a wrapped ValidationError are in the message
	// already (see Error); they are not said twice.
	detail := ""
	if _, listed := e.Err.(*ValidationError); e.Err != nil && !listed {
		detail = e.Err.Error()
	}
	switch {
	case e.Op != "" && detail != "":
		return fmt.Sprintf("%s: %s: %s", e.Op, msg, detail)
	case e.Op != "":
		return e.Op + ": " + msg
	case detail != "":
		return msg + ": " + detail
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrNotFound) and errors.Is(err, ErrConflict) match
// any *Error of that kind, so adapters may add an Op and a message.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok {
		return false
	}
	return (t == ErrNotFound || t == ErrConflict) && t.Kind == e.Kind
}

// Errorf returns an *Error of the given kind with a formatted user-safe message.
func Errorf(kind Kind, format string, args ...any) error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// ErrorKind reports the Kind of err, KindInternal when err is not an *Error.
func ErrorKind(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// ErrorMessage returns the user-safe message of err, or a generic text when
// err carries none.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Message != "" {
		return e.Message
	}
	return "An internal error occurred."
}

// ValidationError collects every problem found in an input at once, so a
// user fixes them all in one go.
type ValidationError struct {
	Problems []string
}

func (v *ValidationError) Error() string {
	if len(v.Problems) == 1 {
		return v.Problems[0]
	}
	s := fmt.Sprintf("%d problems:", len(v.Problems))
	for _, p := range v.Problems {
		s += "\n  - " + p
	}
	return s
}

// Add records a problem.
func (v *ValidationError) Add(format string, args ...any) {
	v.Problems = append(v.Problems, fmt.Sprintf(format, args...))
}

// Err returns nil when no problem was recorded, else an *Error of KindInvalid
// wrapping a copy of v: errors.As(err, &ve) gives back the list of
// problems, and later Adds to v do not change the error.
func (v *ValidationError) Err() error {
	if len(v.Problems) == 0 {
		return nil
	}
	c := &ValidationError{Problems: slices.Clone(v.Problems)}
	return &Error{Kind: KindInvalid, Message: c.Error(), Err: c}
}
