package devidp

import (
	"net/http"
	"strings"
	"time"
)

// sessionCookie names the IdP session cookie.
const sessionCookie = "devidp_session"

// pendingLoginTTL bounds how long a login form stays usable.
const pendingLoginTTL = 15 * time.Minute

// session is a user's login at the IdP, shared by every SP it signed the
// user in to.
type session struct {
	id           string // the cookie value
	user         *User
	index        string // SessionIndex sent to SPs (not the cookie value)
	csrf         string // token of the sign-out form
	authnInstant time.Time
	expires      time.Time
	sps          map[string]*spSession // by SP entity ID
	spOrder      []string
}

// spSession is what an SP was told about a session: the NameID it got.
type spSession struct {
	nameID, format string
}

// pendingLogin is an SSO request waiting for the user to log in.
type pendingLogin struct {
	key          string // the login form's hidden field
	sp           *SP
	requestID    string // "" for IdP-initiated SSO
	acsURL       string
	relayState   string
	nameIDFormat string // requested, or ""
	forceAuthn   bool
	expires      time.Time
}

// currentSession returns the live session named by r's cookie, or nil.
func (idp *IdP) currentSession(r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	idp.mu.Lock()
	defer idp.mu.Unlock()
	s := idp.sessions[c.Value]
	if s == nil || !idp.now().Before(s.expires) {
		delete(idp.sessions, c.Value)
		return nil
	}
	return s
}

// startSession records a new login of u and sets its cookie on w.
func (idp *IdP) startSession(w http.ResponseWriter, u *User) *session {
	now := idp.now()
	s := &session{
		id: randomToken(32), user: u, index: newID(), csrf: randomToken(18),
		authnInstant: now, expires: now.Add(idp.cfg.SessionTTL), sps: map[string]*spSession{},
	}
	idp.mu.Lock()
	idp.dropExpiredLocked(now)
	idp.sessions[s.id] = s
	idp.mu.Unlock()
	http.SetCookie(w, idp.cookie(s.id, s.expires))
	return s
}

// endSession forgets s; clearCookie also removes the cookie from w.
func (idp *IdP) endSession(w http.ResponseWriter, s *session, clearCookie bool) {
	idp.mu.Lock()
	delete(idp.sessions, s.id)
	idp.mu.Unlock()
	if clearCookie {
		http.SetCookie(w, idp.cookie("", time.Unix(0, 0)))
	}
}

// cookie returns the session cookie. Over https it is SameSite=None and
// Secure, so that an SP's hidden-frame session check (a cross-site frame)
// carries it; over http (a laptop) it is SameSite=Lax: localhost ports are
// the same site, and browsers refuse SameSite=None without Secure.
func (idp *IdP) cookie(value string, expires time.Time) *http.Cookie {
	c := &http.Cookie{
		Name: sessionCookie, Value: value, Path: idp.basePath + "/",
		Expires: expires, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	}
	if value == "" {
		c.MaxAge = -1
	}
	if idp.base.Scheme == "https" {
		c.Secure, c.SameSite = true, http.SameSiteNoneMode
	}
	return c
}

// dropExpiredLocked forgets expired sessions, logins and logout chains.
// idp.mu must be held.
func (idp *IdP) dropExpiredLocked(now time.Time) {
	for k, s := range idp.sessions {
		if !now.Before(s.expires) {
			delete(idp.sessions, k)
		}
	}
	for k, l := range idp.logins {
		if !now.Before(l.expires) {
			delete(idp.logins, k)
		}
	}
	for k, c := range idp.logouts {
		if !now.Before(c.expires) {
			delete(idp.logouts, k)
		}
	}
}

// savePendingLogin keeps l until the login form is posted.
func (idp *IdP) savePendingLogin(l *pendingLogin) {
	now := idp.now()
	l.key, l.expires = randomToken(24), now.Add(pendingLoginTTL)
	idp.mu.Lock()
	defer idp.mu.Unlock()
	idp.dropExpiredLocked(now)
	idp.logins[l.key] = l
}

// pendingLogin returns the live pending login with this key, or nil.
func (idp *IdP) pendingLogin(key string) *pendingLogin {
	idp.mu.Lock()
	defer idp.mu.Unlock()
	l := idp.logins[key]
	if l == nil || !idp.now().Before(l.expires) {
		return nil
	}
	return l
}

// takePendingLogin removes the pending login with this key.
func (idp *IdP) takePendingLogin(key string) {
	idp.mu.Lock()
	defer idp.mu.Unlock()
	delete(idp.logins, key)
}

// spNames lists the entity IDs of the SPs a session signed in to.
// idp.mu must be held.
func (s *session) spNames() []string {
	return append([]string(nil), s.spOrder...)
}

// describe names the session in logs. idp.mu must be held.
func (s *session) describe() string {
	return s.user.Username + " (" + strings.Join(s.spOrder, ", ") + ")"
}
