// Package admin is Lanyard's administration service: the one layer over the
// store that the CLI, the web admin UI and the JSON API all use, so that
// nothing is possible in one of them that is impossible in the others.
//
// Every method takes the actor (who does it: "cli", "system" or an
// administrator's login) and writes an audit event for every change, in the
// same transaction as the change. Errors are *lanyard.Error values whose
// Message is safe to show and says what to do next.
package admin

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/spkeys"
)

// Actors that are not administrators' logins.
const (
	// ActorCLI is the actor of changes made with the lanyard command.
	ActorCLI = "cli"
	// ActorSystem is the actor of changes Lanyard makes by itself, such as
	// creating the default tenant on first start.
	ActorSystem = "system"
)

// Options configure a Service. The zero value works.
type Options struct {
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time
	// BaseURL is the external base URL of Lanyard, used to build links
	// (password reset, SP metadata). Nil means links are relative to the
	// site root ("/admin/reset?token=...").
	BaseURL *url.URL
	// Logger receives a line per change. Nil means no logging.
	Logger *slog.Logger
	// Fetcher fetches IdP metadata from URLs (imports and refreshes). Nil
	// means URL sources are refused with a hint to import the file.
	Fetcher MetadataFetcher
}

// Service runs administration use cases over a store. It is safe for
// concurrent use.
type Service struct {
	store   lanyard.Store
	now     func() time.Time
	baseURL *url.URL
	log     *slog.Logger
	fetcher MetadataFetcher
	// generateKey makes SP key pairs; tests may swap it for a faster one.
	generateKey func(slug string, use lanyard.KeyUse, now time.Time) (lanyard.SPKey, error)
}

// New returns a Service over store.
func New(store lanyard.Store, opts Options) *Service {
	s := &Service{
		store:       guardedStore{store},
		now:         opts.Now,
		log:         opts.Logger,
		fetcher:     opts.Fetcher,
		generateKey: spkeys.Generate,
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.BaseURL != nil {
		u := *opts.BaseURL
		u.Path = strings.TrimSuffix(u.Path, "/")
		u.RawPath = ""
		s.baseURL = &u
	}
	return s
}

// BaseURL returns the external base URL without a trailing slash, or nil.
func (s *Service) BaseURL() *url.URL {
	if s.baseURL == nil {
		return nil
	}
	u := *s.baseURL
	return &u
}

// link returns the absolute (or, without a base URL, site-relative) URL of
// path with the query q.
func (s *Service) link(path string, q url.Values) string {
	u := &url.URL{Path: path}
	if s.baseURL != nil {
		u = s.baseURL.JoinPath(path)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// audit appends an event through tx, filling the time and the outcome.
func (s *Service) audit(ctx context.Context, tx lanyard.Store, e lanyard.AuditEvent) error {
	if e.Time.IsZero() {
		e.Time = s.now().UTC()
	}
	if e.Outcome == "" {
		e.Outcome = lanyard.OutcomeSuccess
	}
	if err := tx.AppendAudit(ctx, &e); err != nil {
		return fmt.Errorf("audit %s: %w", e.Action, err)
	}
	return nil
}

// logChange logs a change that was just committed.
func (s *Service) logChange(ctx context.Context, action, actor string, attrs ...any) {
	s.log.InfoContext(ctx, action, append([]any{"actor", actor}, attrs...)...)
}

// errorf returns a *lanyard.Error of kind with a user-safe message,
// wrapping cause (which may be nil).
func errorf(kind lanyard.Kind, cause error, format string, args ...any) error {
	return &lanyard.Error{Kind: kind, Message: fmt.Sprintf(format, args...), Err: cause}
}

// invalidf returns a KindInvalid error.
func invalidf(format string, args ...any) error {
	return errorf(lanyard.KindInvalid, nil, format, args...)
}
