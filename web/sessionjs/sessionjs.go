// Package sessionjs is the session-keeping face: the script session.js
// that Lanyard's and applications' pages include, the relay script, the
// state endpoint it polls and the page a sign-in window lands on (see
// package relay for how a check runs).
package sessionjs

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/web/internal/httperr"
	"github.com/lanyard-sso/lanyard/web/internal/relay"
	"github.com/lanyard-sso/lanyard/web/internal/ui"
)

//go:embed session.js
var sessionScript []byte

// sessionScriptVersion is the content hash of session.js: pages that load
// /lanyard/session.js?v=VERSION get it cached for a year.
var sessionScriptVersion = relay.ContentVersion(sessionScript)

// SessionScriptURL is the path applications put in their script tag to
// include Lanyard's session keeping, versioned so that browsers cache it.
func SessionScriptURL() string { return relay.SessionScriptPath + "?v=" + sessionScriptVersion }

// handleScript serves an embedded script. With the current version in
// ?v= it may be cached for a year (the URL changes with the content);
// otherwise the browser revalidates it with its ETag.
func handleScript(body []byte, version string) http.Handler {
	etag := `"` + version + `"`
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "text/javascript; charset=utf-8")
		h.Set("ETag", etag)
		if r.URL.Query().Get("v") == version {
			h.Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			h.Set("Cache-Control", "no-cache")
		}
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		_, _ = w.Write(body)
	})
}

// State is the JSON answer of GET /lanyard/session. A signed-in answer
// carries every field, zero values included: a 0 is a value (refresh_in 0
// means a check is due now), and leaving it out made scripts treat it as
// unknown. A signed-out answer is {"signed_in":false} alone.
type State struct {
	SignedIn bool     `json:"signed_in"`
	Tenant   string   `json:"tenant"`
	Login    string   `json:"login"`
	Name     string   `json:"name"`
	Roles    []string `json:"roles"`
	// Kind is "sso" or "password"; only SSO sessions are re-checked.
	Kind string `json:"kind"`
	// ExpiresIn is the number of seconds until the session ends unless
	// the user is active.
	ExpiresIn int `json:"expires_in"`
	// RefreshInterval and RefreshIn (seconds; 0: due now) schedule the
	// passive re-check with the IdP. Zero for password sessions.
	RefreshInterval int `json:"refresh_interval"`
	RefreshIn       int `json:"refresh_in"`
	// CheckURL runs the passive re-check (add ?passive=frame or popup);
	// empty for password sessions. LoginURL runs an SP-initiated sign-in
	// in a window that reports back.
	CheckURL string `json:"check_url"`
	LoginURL string `json:"login_url"`
}

// MarshalJSON writes a signed-out state as {"signed_in":false} and a
// signed-in one with all its fields (roles as a list, never null).
func (s State) MarshalJSON() ([]byte, error) {
	if !s.SignedIn {
		return []byte(`{"signed_in":false}`), nil
	}
	type fields State
	f := fields(s)
	if f.Roles == nil {
		f.Roles = []string{}
	}
	return json.Marshal(f)
}

// allowCORS lets a trusted application's page read the answer of a
// credentialed fetch. Another origin gets no CORS headers, so its browser
// withholds the answer.
func (d *Deps) allowCORS(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Add("Vary", "Origin")
	origin := r.Header.Get("Origin")
	if trusted, ok := d.Origins.Validate(origin); !ok || trusted == "" {
		// Lanyard's own pages need no CORS; others are not trusted.
		return
	}
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Allow-Credentials", "true")
}

// handleSessionState answers GET /lanyard/session for session.js. It reads
// the session without extending its idle expiry: a page left open must not
// keep its session alive by polling. The fetch is a simple request (GET, no
// custom header), so no preflight is needed.
func handleSessionState(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.allowCORS(w, r)
		state, err := d.currentState(r)
		if err != nil {
			a := httperr.Prepare(d.Kit.Logger, w, r, err)
			w.Header().Set("Cache-Control", "no-store")
			code := "internal"
			if a.Kind == lanyard.KindUnavailable {
				code = "unavailable"
			}
			http.Error(w, `{"error":"`+code+`"}`, a.Status)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(state)
	})
}

// currentState describes the request's session, if it is live.
func (d *Deps) currentState(r *http.Request) (State, error) {
	ctx := r.Context()
	id := d.Kit.SessionID(r)
	if id == "" {
		return State{}, nil
	}
	now := d.Kit.Now()
	sess, err := d.Store.Session(ctx, lanyard.HashSessionID(id), now)
	if errors.Is(err, lanyard.ErrNotFound) || (err == nil && sess.Origin != "") {
		return State{}, nil // no session, or a copy for an application's host
	}
	if err != nil {
		return State{}, err
	}
	user, err := d.Store.User(ctx, sess.UserID)
	if errors.Is(err, lanyard.ErrNotFound) {
		return State{}, nil
	}
	if err != nil {
		return State{}, err
	}
	if user.Status != lanyard.StatusActive || user.Locked {
		return State{}, nil
	}
	tenant, err := d.Store.TenantByID(ctx, sess.TenantID)
	if err != nil {
		return State{}, err
	}
	st := State{
		SignedIn:  true,
		Tenant:    tenant.Slug,
		Login:     user.Login,
		Name:      user.FullName(),
		Roles:     user.RoleNames(),
		Kind:      string(sess.Kind),
		ExpiresIn: int(sess.ExpiresAt().Sub(now).Seconds()),
		LoginURL:  ui.SSOPath(tenant.Slug) + "login?" + url.Values{"return_to": {relay.PopupDonePath}}.Encode(),
	}
	if sess.Kind == lanyard.SessionSSO {
		tenant.SSO.Normalize()
		interval := time.Duration(tenant.SSO.RefreshInterval)
		last := sess.LastRefreshAt
		if last.IsZero() {
			// The login itself was the first check.
			last = sess.CreatedAt
		}
		st.RefreshInterval = int(interval.Seconds())
		st.RefreshIn = max(0, int(last.Add(interval).Sub(now).Seconds()))
		st.CheckURL = ui.SSOPath(tenant.Slug) + "login"
	}
	return st, nil
}

// handlePopupDone answers GET /lanyard/popup-done, where a sign-in started
// from the "session expired" dialog lands: the page tells its opener that
// the user is signed in again, and closes.
func handlePopupDone(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw := r.URL.Query().Get(relay.OriginParam)
		origin, ok := d.Origins.Validate(raw)
		if !ok {
			relay.Refuse(d.Kit, w, r, raw)
			return
		}
		state, err := d.currentState(r)
		if err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		if !state.SignedIn {
			relay.Write(d.Kit.Logger, w, http.StatusOK, relay.View{
				Title: "Not signed in", Heading: "You are not signed in",
				Text: "The sign-in did not complete. Close this window and press Log in again.",
				Mode: "none", ContinueHref: "/login",
			})
			return
		}
		relay.Write(d.Kit.Logger, w, http.StatusOK, relay.View{
			Title: "Signed in", Heading: "You are signed in again",
			Text:    "You can close this window and go back to your work.",
			Message: relay.MsgSignedIn, Mode: "login", Origin: origin, ContinueHref: "/",
		})
	})
}

// Store is what session keeping reads: the session, its account and tenant.
type Store interface {
	Session(ctx context.Context, hash []byte, now time.Time) (lanyard.Session, error)
	User(ctx context.Context, id int64) (lanyard.User, error)
	TenantByID(ctx context.Context, id int64) (lanyard.Tenant, error)
}

// Deps is what the session-keeping face needs.
type Deps struct {
	Kit   *ui.Kit
	Store Store
	// Origins says which application pages may use session.js across
	// origins.
	Origins relay.Origins
	// Ready wraps the endpoints that need a migrated database.
	Ready func(http.Handler) http.Handler
}

// Routes registers session.js, relay.js, the state endpoint and the page
// where a sign-in window lands.
func Routes(mux *http.ServeMux, deps Deps) {
	d := &deps
	mux.Handle("GET "+relay.SessionScriptPath, handleScript(sessionScript, sessionScriptVersion))
	mux.Handle("GET "+relay.ScriptPath, handleScript(relay.Script(), relay.ScriptVersion))
	mux.Handle("GET "+relay.SessionStatePath, d.Ready(handleSessionState(d)))
	mux.Handle("GET "+relay.PopupDonePath, d.Ready(handlePopupDone(d)))
}
