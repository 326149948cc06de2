package web

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/internal/simplesamlphp"
	"github.com/lanyard-sso/lanyard/session"
)

// sessionCookie returns the browser's Lanyard session cookie value, or "".
func (e *ssoEnv) sessionCookie(b *browser) string {
	e.t.Helper()
	u, _ := url.Parse(e.base)
	for _, c := range b.jar.Cookies(u) {
		if c.Name == sessionCookieName {
			return c.Value
		}
	}
	return ""
}

// state asks GET /lanyard/session as the browser.
func (e *ssoEnv) state(b *browser) sessionState {
	e.t.Helper()
	resp, err := b.noFollow.Get(e.base + sessionStatePath)
	if err != nil {
		e.t.Fatal(err)
	}
	var st sessionState
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		e.t.Fatalf("GET %s: %v", sessionStatePath, err)
	}
	resp.Body.Close()
	return st
}

// forgetIdPSession drops the browser's SimpleSAMLphp cookies: for the IdP,
// the browser is no longer signed in.
func (e *ssoEnv) forgetIdPSession(b *browser) {
	u, _ := url.Parse(e.idp.BaseURL)
	var expired []*http.Cookie
	for _, c := range b.jar.Cookies(u) {
		expired = append(expired, &http.Cookie{Name: c.Name, Value: "", Path: "/", MaxAge: -1})
	}
	b.jar.SetCookies(u, expired)
}

var relayMessage = regexp.MustCompile(`data-message="([^"]*)"`)

// relayMessageOf returns the message a relay page posts, or "".
func relayMessageOf(body string) string {
	if m := relayMessage.FindStringSubmatch(body); m != nil {
		return m[1]
	}
	return ""
}

// TestSessionKeepingWithSimpleSAMLphp runs the periodic re-check (about
// every 4.5 minutes) against a real IdP: a passive AuthnRequest while the IdP session
// lives is answered without any prompt and refreshes the account (a role
// removed by hand comes back from the IdP's groups) and the session's
// LastRefreshAt; once the IdP no longer knows the browser it answers
// NoPassive: in a hidden frame the page is asked to confirm in a window,
// and there the Lanyard session ends.
func TestSessionKeepingWithSimpleSAMLphp(t *testing.T) {
	e := newSSOEnv(t, "sqlite", []simplesamlphp.User{
		idpUser("alice", "alice@example.com", "Alice", "Liddell", []string{"eng"}),
	})
	// The IdP signs in real time while this server's clock is moved ahead
	// to make a check due: a message lifetime longer than that move keeps
	// the message-age rule (tested on its own) out of this test.
	acme := e.addTenant("acme", tenantOptions{settings: []string{"jit=true", "group_roles.eng=engineer", "message_lifetime=10m"}})
	b := newBrowser()
	if a := b.post(t, e.spLogin(b, "acme", "/", "alice")); a.status != http.StatusSeeOther || a.session == "" {
		t.Fatalf("login: status %d, session %q: %s", a.status, a.session, a.body)
	}

	st := e.state(b)
	if !st.SignedIn || st.Kind != "sso" || st.Login != "alice" || st.Tenant != "acme" {
		t.Fatalf("state after login: %+v", st)
	}
	if st.RefreshInterval != 270 || st.RefreshIn < 260 || st.RefreshIn > 270 {
		t.Errorf("refresh: interval %d, in %d; want 270 and about 270 (the login was the first check)", st.RefreshInterval, st.RefreshIn)
	}
	if st.CheckURL != "/t/acme/saml/login" || !strings.Contains(st.LoginURL, "return_to=%2Flanyard%2Fpopup-done") {
		t.Errorf("check URL %q, login URL %q", st.CheckURL, st.LoginURL)
	}

	// A role taken away by hand; the IdP still says the user is in eng.
	alice := e.user(acme, "alice")
	if _, err := e.store.UpdateUser(context.Background(), alice.ID, func(u *lanyard.User) error {
		u.Roles = nil
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	e.clock.Set(5 * time.Minute) // the check is due

	// Due now: refresh_in is 0, and there, like every field.
	resp, err := b.noFollow.Get(e.base + sessionStatePath)
	if err != nil {
		t.Fatal(err)
	}
	due := readAll(resp)
	if fields := assertAllStateFields(t, due); fields["refresh_in"] != 0.0 || fields["refresh_interval"] != 270.0 {
		t.Errorf("state when the check is due: %s; want refresh_in 0", due)
	}

	t.Run("passive check while the IdP session lives", func(t *testing.T) {
		f, err := e.idp.Follow(b.follow, e.base+"/t/acme/saml/login?passive=frame")
		if err != nil {
			t.Fatalf("the IdP did not answer the passive request without a prompt: %v", err)
		}
		if !strings.Contains(decodeForm(t, f), "urn:oasis:names:tc:SAML:2.0:status:Success") {
			t.Fatalf("IdP answer is not a success: %s", decodeForm(t, f))
		}
		a := b.post(t, f)
		if a.status != http.StatusOK || relayMessageOf(a.body) != msgRefreshed || a.session != "" {
			t.Fatalf("ACS answered %d, message %q, new session %q: %s", a.status, relayMessageOf(a.body), a.session, a.body)
		}
		if got := e.user(acme, "alice"); !got.HasRole("engineer") {
			t.Errorf("roles after the check: %v; want engineer back from the IdP's groups", got.RoleNames())
		}
		if st := e.state(b); !st.SignedIn || st.RefreshIn < 260 {
			t.Errorf("state after the check: %+v; want signed in with the next check in about 270s", st)
		}
		sess, err := e.store.Session(context.Background(), lanyard.HashSessionID(e.sessionCookie(b)), e.clock.Now())
		if err != nil || sess.LastRefreshAt.Sub(sess.CreatedAt) < 4*time.Minute {
			t.Errorf("session LastRefreshAt not moved to the check (clock +5m): %v %+v", err, sess)
		}
	})

	t.Run("no session: the page learns at once", func(t *testing.T) {
		status, body := newBrowser().get(t, e.base+"/t/acme/saml/login?passive=frame")
		if status != http.StatusOK || relayMessageOf(body) != msgExpired {
			t.Errorf("passive check without a session: %d %q", status, relayMessageOf(body))
		}
	})

	t.Run("IdP session ended: NoPassive ends the Lanyard session", func(t *testing.T) {
		// The copy the gateway made of the session for an application's
		// host (same IdP session), and the user's session of another IdP
		// session (another browser).
		ctx := context.Background()
		orig, err := e.store.Session(ctx, lanyard.HashSessionID(e.sessionCookie(b)), e.clock.Now())
		if err != nil || orig.SessionIndex == "" {
			t.Fatalf("the session: %v, SessionIndex %q", err, orig.SessionIndex)
		}
		manager := session.NewManager(e.store, session.Options{Now: e.clock.Now})
		openCopy := func(sessionIndex string) string {
			t.Helper()
			id, _, err := manager.Open(ctx, acme, e.user(acme, "alice"), lanyard.SessionSSO, session.Meta{
				IdPEntityID: orig.IdPEntityID, NameID: orig.NameID, NameIDFormat: orig.NameIDFormat, SessionIndex: sessionIndex})
			if err != nil {
				t.Fatal(err)
			}
			return id
		}
		appHostCopy, otherBrowser := openCopy(orig.SessionIndex), openCopy(orig.SessionIndex+"-elsewhere")

		e.forgetIdPSession(b)
		// In a hidden frame, a "no" is not trusted (the IdP may not see
		// its cookies there): the page is asked to confirm in a window.
		f, err := e.idp.Follow(b.follow, e.base+"/t/acme/saml/login?passive=frame")
		if err != nil {
			t.Fatalf("the IdP did not answer the passive request: %v", err)
		}
		if a := b.post(t, f); relayMessageOf(a.body) != msgUnconfirmed || !e.state(b).SignedIn {
			t.Fatalf("NoPassive in a frame: message %q, signed in %v; want unconfirmed, still signed in", relayMessageOf(a.body), e.state(b).SignedIn)
		}
		f, err = e.idp.Follow(b.follow, e.base+"/t/acme/saml/login?passive=popup")
		if err != nil {
			t.Fatalf("the IdP did not answer the passive request: %v", err)
		}
		if xml := decodeForm(t, f); !strings.Contains(xml, "urn:oasis:names:tc:SAML:2.0:status:NoPassive") {
			t.Fatalf("IdP answer is not NoPassive: %s", xml)
		}
		a := b.post(t, f)
		if a.status != http.StatusOK || relayMessageOf(a.body) != msgExpired || !strings.Contains(a.body, "no longer signed in") {
			t.Fatalf("ACS answered %d, message %q: %s", a.status, relayMessageOf(a.body), a.body)
		}
		if st := e.state(b); st.SignedIn {
			t.Errorf("still signed in after NoPassive: %+v", st)
		}
		if _, err := e.store.Session(ctx, lanyard.HashSessionID(appHostCopy), e.clock.Now()); err == nil {
			t.Error("the session's copy on an application's host outlived the IdP session")
		}
		if _, err := e.store.Session(ctx, lanyard.HashSessionID(otherBrowser), e.clock.Now()); err != nil {
			t.Errorf("the user's session of another IdP session ended too: %v", err)
		}
		evs, err := e.store.AuditEvents(context.Background(), lanyard.AuditFilter{TenantID: acme.ID, Action: actionSessionCheck})
		if err != nil || len(evs) != 1 || !strings.Contains(evs[0].Message, "NoPassive") {
			t.Errorf("audit of the ended session: %v %+v", err, evs)
		}
	})
}

// TestSingleLogoutWithSimpleSAMLphp runs Single Logout both ways against a
// real IdP. SP-initiated: /logout ends the Lanyard session, the IdP ends
// its own and answers, the user reads that both are over, and the next
// sign-in asks for the password again. IdP-initiated: the IdP's
// LogoutRequest ends the sessions of that IdP session (NameID and
// SessionIndex), seen by another node on the same store, and not the
// user's session from another IdP session.
func TestSingleLogoutWithSimpleSAMLphp(t *testing.T) {
	e := newSSOEnv(t, "sqlite", []simplesamlphp.User{
		idpUser("alice", "alice@example.com", "Alice", "Liddell", nil),
	})
	e.addTenant("acme", tenantOptions{settings: []string{"jit=true"}})

	t.Run("SP-initiated", func(t *testing.T) {
		b := newBrowser()
		if a := b.post(t, e.spLogin(b, "acme", "/", "alice")); a.status != http.StatusSeeOther {
			t.Fatalf("login: %d %s", a.status, a.body)
		}
		id := e.sessionCookie(b)
		// Copies made for applications' hosts by the hand-off end with it,
		// whatever their IdP session fields say.
		copies := e.handoffCopies(t, id, "acme", "alice")
		_, page := b.get(t, e.base+"/logout")
		token := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindStringSubmatch(page)
		if token == nil {
			t.Fatalf("no sign-out form: %s", page)
		}
		resp, err := b.follow.PostForm(e.base+"/logout", url.Values{csrfField: {token[1]}})
		if err != nil {
			t.Fatal(err)
		}
		// The sign-out form's answer goes on to the IdP by a meta refresh.
		next := regexp.MustCompile(`http-equiv="refresh" content="0; url=([^"]+)"`).FindStringSubmatch(readAll(resp))
		if next == nil {
			t.Fatal("the sign-out answer does not go on to the IdP")
		}
		if resp, err = b.follow.Get(html.UnescapeString(next[1])); err != nil {
			t.Fatal(err)
		}
		body := readAll(resp)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "You are also signed out of your identity provider.") {
			t.Fatalf("after the IdP's LogoutResponse: %d at %s: %s", resp.StatusCode, resp.Request.URL, body)
		}
		if !strings.HasPrefix(resp.Request.URL.String(), e.base+"/t/acme/saml/slo?SAMLResponse=") {
			t.Errorf("final page at %s; want the SLO endpoint", resp.Request.URL)
		}
		if _, err := e.store.Session(context.Background(), lanyard.HashSessionID(id), e.clock.Now()); err == nil {
			t.Error("Lanyard session still alive")
		}
		for _, c := range copies {
			if _, err := e.store.Session(context.Background(), lanyard.HashSessionID(c), e.clock.Now()); err == nil {
				t.Error("a copy on an application's host outlived the sign-out")
			}
		}
		// The IdP session is over: a new sign-in shows the login form.
		resp, err = b.follow.Get(e.base + "/t/acme/saml/login")
		if err != nil {
			t.Fatal(err)
		}
		if body := readAll(resp); !strings.Contains(body, `name="AuthState"`) {
			t.Errorf("the IdP still knows the browser after Single Logout: %s", body)
		}
	})

	t.Run("IdP-initiated", func(t *testing.T) {
		b1, b2 := newBrowser(), newBrowser()
		for _, b := range []*browser{b1, b2} {
			if a := b.post(t, e.spLogin(b, "acme", "/", "alice")); a.status != http.StatusSeeOther {
				t.Fatalf("login: %d %s", a.status, a.body)
			}
		}
		id1, id2 := e.sessionCookie(b1), e.sessionCookie(b2)
		copies1, copies2 := e.handoffCopies(t, id1, "acme", "alice"), e.handoffCopies(t, id2, "acme", "alice")
		resp, err := b1.follow.Get(e.idp.LogoutURL(e.base + "/"))
		if err != nil {
			t.Fatal(err)
		}
		body := readAll(resp)
		if resp.Request.URL.String() != e.base+"/" {
			t.Fatalf("IdP-initiated logout ended at %s (%d): %s", resp.Request.URL, resp.StatusCode, body)
		}
		ctx := context.Background()
		if _, err := e.store.Session(ctx, lanyard.HashSessionID(id1), e.clock.Now()); err == nil {
			t.Error("the session of the IdP session logged out is still alive")
		}
		if _, err := e.store.Session(ctx, lanyard.HashSessionID(id2), e.clock.Now()); err != nil {
			t.Errorf("the session of the other IdP session ended too: %v", err)
		}
		for _, c := range copies1 {
			if _, err := e.store.Session(ctx, lanyard.HashSessionID(c), e.clock.Now()); err == nil {
				t.Error("a copy of the session logged out by the IdP outlived it")
			}
		}
		for _, c := range copies2 {
			if _, err := e.store.Session(ctx, lanyard.HashSessionID(c), e.clock.Now()); err != nil {
				t.Errorf("a copy of the other IdP session's session ended: %v", err)
			}
		}
		// Another node on the same store no longer honours the cookie.
		node2 := New(Config{Store: e.store, Now: e.clock.Now})
		node2.SetReady()
		for _, tc := range []struct {
			id   string
			want bool
		}{{id1, false}, {id2, true}} {
			req := httptest.NewRequest(http.MethodGet, sessionStatePath, nil)
			req.AddCookie(&http.Cookie{Name: sessionCookieName, Value: tc.id})
			rec := httptest.NewRecorder()
			node2.ServeHTTP(rec, req)
			var st sessionState
			_ = json.Unmarshal(rec.Body.Bytes(), &st)
			if st.SignedIn != tc.want {
				t.Errorf("node 2 says signed in %v; want %v", st.SignedIn, tc.want)
			}
		}
		evs, err := e.store.AuditEvents(ctx, lanyard.AuditFilter{Action: actionSLO})
		// The copies end with their original, and are not counted.
		if err != nil || len(evs) == 0 || !strings.Contains(evs[0].Message, "ended 1 session") {
			t.Errorf("audit: %v %+v", err, evs)
		}
	})
}

// handoffCopies opens, as the gateway's hand-off does, copies of the
// session id for two applications' hosts: one with the original's IdP
// session fields, one with none (as a password session's copy has).
func (e *ssoEnv) handoffCopies(t *testing.T, id, slug, login string) []string {
	t.Helper()
	ctx := context.Background()
	orig, err := e.store.Session(ctx, lanyard.HashSessionID(id), e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	tenant, err := e.store.TenantByID(ctx, orig.TenantID)
	if err != nil {
		t.Fatal(err)
	}
	user, err := e.store.User(ctx, orig.UserID)
	if err != nil {
		t.Fatal(err)
	}
	manager := session.NewManager(e.store, session.Options{Now: e.clock.Now})
	var ids []string
	for _, meta := range []session.Meta{
		{IdPEntityID: orig.IdPEntityID, NameID: orig.NameID, NameIDFormat: orig.NameIDFormat, SessionIndex: orig.SessionIndex, Origin: "https://app.example.com", ParentHash: orig.Hash},
		{Origin: "https://wiki.example.com:8443", ParentHash: orig.Hash},
	} {
		c, _, err := manager.Open(ctx, tenant, user, orig.Kind, meta)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c)
	}
	return ids
}

// TestSingleLogoutUnsignedResponse: SimpleSAMLphp left at its default
// ('sign.logout' false) answers the sign-out unsigned; Lanyard refuses the
// answer (the Lanyard session is over all the same) and the page, the
// audit log (shown in the admin UI) and the log say which IdP setting to
// change.
func TestSingleLogoutUnsignedResponse(t *testing.T) {
	e := newSSOEnvWith(t, "sqlite", []simplesamlphp.User{idpUser("alice", "alice@example.com", "Alice", "Liddell", nil)}, simplesamlphp.Options{UnsignedLogout: true})
	acme := e.addTenant("acme", tenantOptions{settings: []string{"jit=true"}})
	b := newBrowser()
	if a := b.post(t, e.spLogin(b, "acme", "/", "alice")); a.status != http.StatusSeeOther {
		t.Fatalf("login: %d %s", a.status, a.body)
	}
	_, page := b.get(t, e.base+"/logout")
	token := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindStringSubmatch(page)
	if token == nil {
		t.Fatalf("no sign-out form: %s", page)
	}
	resp, err := b.follow.PostForm(e.base+"/logout", url.Values{csrfField: {token[1]}})
	if err != nil {
		t.Fatal(err)
	}
	next := regexp.MustCompile(`http-equiv="refresh" content="0; url=([^"]+)"`).FindStringSubmatch(readAll(resp))
	if next == nil {
		t.Fatal("the sign-out answer does not go on to the IdP")
	}
	if resp, err = b.follow.Get(html.UnescapeString(next[1])); err != nil {
		t.Fatal(err)
	}
	body := html.UnescapeString(readAll(resp))
	for _, want := range []string{"did not confirm the sign-out", "not signed", "For your administrator:", "'sign.logout' => true", "saml20-sp-remote.php"} {
		if !strings.Contains(body, want) {
			t.Errorf("signed-out page lacks %q:\n%s", want, body)
		}
	}
	if e.state(b).SignedIn {
		t.Error("still signed in to Lanyard")
	}
	evs, err := e.store.AuditEvents(context.Background(), lanyard.AuditFilter{TenantID: acme.ID, Action: actionSLO, Outcome: lanyard.OutcomeFailure})
	if err != nil || len(evs) != 1 || evs[0].Reason != "unsigned" || !strings.Contains(evs[0].Message, "'sign.logout' => true") {
		t.Errorf("audit of the unsigned LogoutResponse: %v %+v", err, evs)
	}
}
