package httperr

import (
	"errors"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
)

type wait time.Duration

func (w wait) Error() string             { return "wait" }
func (w wait) RetryAfter() time.Duration { return time.Duration(w) }

func TestResolve(t *testing.T) {
	for _, tc := range []struct {
		name       string
		err        error
		status     int
		message    string
		retryAfter string
	}{
		{"plain error is internal", errors.New("db: connection refused"), 500, answers[lanyard.KindInternal].fallback, ""},
		{"internal message stays hidden", &lanyard.Error{Kind: lanyard.KindInternal, Message: "secret detail"}, 500, answers[lanyard.KindInternal].fallback, ""},
		{"invalid shows its message", lanyard.Errorf(lanyard.KindInvalid, "Give a name."), 400, "Give a name.", ""},
		{"wrapped keeps its kind", fmt.Errorf("op: %w", lanyard.Errorf(lanyard.KindForbidden, "No.")), 403, "No.", ""},
		{"not-found sentinel reads the kind's text", fmt.Errorf("x: %w", lanyard.ErrNotFound), 404, answers[lanyard.KindNotFound].fallback, ""},
		{"conflict sentinel reads the kind's text", lanyard.ErrConflict, 409, answers[lanyard.KindConflict].fallback, ""},
		{"empty message reads the kind's text", &lanyard.Error{Kind: lanyard.KindUnauthorized}, 401, answers[lanyard.KindUnauthorized].fallback, ""},
		{"unknown kind is internal", &lanyard.Error{Kind: lanyard.Kind(99), Message: "odd"}, 500, answers[lanyard.KindInternal].fallback, ""},
		{"unavailable waits 5 s", lanyard.Errorf(lanyard.KindUnavailable, "Starting."), 503, "Starting.", "5"},
		{"throttled carries its wait, rounded up", &lanyard.Error{Kind: lanyard.KindThrottled, Message: "Wait.", Err: wait(90*time.Second + time.Millisecond)}, 429, "Wait.", "91"},
		{"a wait under a second is one second", &lanyard.Error{Kind: lanyard.KindThrottled, Message: "Wait.", Err: wait(time.Millisecond)}, 429, "Wait.", "1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := Resolve(tc.err)
			if a.Status != tc.status || a.Message != tc.message || a.Title == "" {
				t.Errorf("Resolve = %+v, want status %d and message %q", a, tc.status, tc.message)
			}
			if Status(tc.err) != tc.status {
				t.Errorf("Status = %d, want %d", Status(tc.err), tc.status)
			}
			rec := httptest.NewRecorder()
			SetRetryAfter(rec, tc.err)
			if got := rec.Header().Get("Retry-After"); got != tc.retryAfter {
				t.Errorf("Retry-After %q, want %q", got, tc.retryAfter)
			}
		})
	}
	if len(answers) != int(lanyard.KindThrottled)+1 {
		t.Errorf("%d kinds answered, want every kind up to KindThrottled", len(answers))
	}
}
