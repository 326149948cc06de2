package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/internal/slapdtest"
	"github.com/lanyard-sso/lanyard/ldapsync"
)

// oidcDeprovisionEnv is an OpenID Connect environment whose client "app"
// registered for back-channel logout, with RunOIDC's background round
// running every 50 ms, as serve runs it.
type oidcDeprovisionEnv struct {
	*oidcEnv
	mu      sync.Mutex
	logouts []string
}

func newOIDCDeprovisionEnv(t *testing.T, opts envOptions) *oidcDeprovisionEnv {
	t.Helper()
	opts.oidcLogoutInterval = 50 * time.Millisecond
	d := &oidcDeprovisionEnv{oidcEnv: newOIDCEnv(t, opts)}
	rp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.mu.Lock()
		d.logouts = append(d.logouts, r.PostFormValue("logout_token"))
		d.mu.Unlock()
	}))
	t.Cleanup(rp.Close)
	if _, err := d.store.UpdateOIDCClient(t.Context(), d.tenant.ID, "app", func(c *lanyard.OIDCClient) error {
		c.BackChannelLogoutURI = rp.URL + "/bc"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); d.server.RunOIDC(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return d
}

// signedInTokens opens a Lanyard session of u in a fresh browser and runs
// the code flow of "app" in it.
func (d *oidcDeprovisionEnv) signedInTokens(u lanyard.User) map[string]any {
	d.t.Helper()
	id, _, err := d.server.sessions.Open(d.t.Context(), d.tenant, u, lanyard.SessionSSO, sessionMeta())
	if err != nil {
		d.t.Fatal(err)
	}
	d.browser = d.client()
	base, _ := url.Parse(d.http.URL)
	d.browser.Jar.SetCookies(base, []*http.Cookie{{Name: sessionCookieName, Value: id, Path: "/"}})
	status, m := d.exchange("default", d.code("default", d.authParams()))
	if status != http.StatusOK {
		d.t.Fatalf("code flow of %s: %d %v", u.Login, status, m)
	}
	return m
}

// ended checks that the tokens of m no longer work and that the client
// was sent one logout token for their session.
func (d *oidcDeprovisionEnv) ended(why string, m map[string]any) {
	d.t.Helper()
	if got := d.userinfo("default", m["access_token"]); got != http.StatusUnauthorized {
		d.t.Errorf("%s: userinfo %d, want 401", why, got)
	}
	status, r, _ := d.token("default", "app", d.secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {m["refresh_token"].(string)}})
	if status != http.StatusBadRequest || r["error"] != "invalid_grant" {
		d.t.Errorf("%s: refresh %d %v, want invalid_grant", why, status, r)
	}
	sid := idTokenClaims(d.t, m["id_token"])["sid"]
	deadline := time.Now().Add(10 * time.Second)
	for {
		d.mu.Lock()
		got := append([]string(nil), d.logouts...)
		d.mu.Unlock()
		if len(got) >= 1 {
			if len(got) != 1 || idTokenClaims(d.t, got[0])["sid"] != sid {
				d.t.Errorf("%s: %d logout tokens, want one for sid %v", why, len(got), sid)
			}
			return
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("%s: no back-channel logout token within 10 s", why)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// live checks that the tokens of m work and no logout was sent.
func (d *oidcDeprovisionEnv) live(m map[string]any) {
	d.t.Helper()
	if got := d.userinfo("default", m["access_token"]); got != http.StatusOK {
		d.t.Fatalf("userinfo before the deprovisioning: %d", got)
	}
	time.Sleep(150 * time.Millisecond) // a few background rounds
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.logouts) != 0 {
		d.t.Fatalf("%d logout tokens before the deprovisioning", len(d.logouts))
	}
}

// TestOIDCSCIMDeprovisionEndsSession: a SCIM client's PATCH active=false
// ends the user's OpenID Connect session: userinfo and refresh are
// refused, and the background round tells the client.
func TestOIDCSCIMDeprovisionEndsSession(t *testing.T) {
	eachEngine(t, func(t *testing.T, opts envOptions) {
		d := newOIDCDeprovisionEnv(t, opts)
		s := &scimEnv{env: d.env, base: d.http.URL + "/t/" + d.tenant.Slug + "/scim/v2"}
		_, secret, err := d.admin.CreateTenantAPIToken(t.Context(), "cli", d.tenant.Slug, "okta", []string{lanyard.ScopeSCIM}, 0)
		if err != nil {
			t.Fatal(err)
		}
		s.token = secret
		created := s.call("POST", "/Users", scimUser("ada@example.com", "Ada", "Lovelace", "ada@example.com")).must(t, http.StatusCreated)
		ada, err := d.store.UserByLogin(t.Context(), d.tenant.ID, "ada@example.com")
		if err != nil {
			t.Fatal(err)
		}
		m := d.signedInTokens(ada)
		d.live(m)
		s.call("PATCH", "/Users/"+created.str("id"), patchOp(map[string]any{"op": "replace", "path": "active", "value": false})).must(t, http.StatusOK)
		d.ended("SCIM active=false", m)
	})
}

// TestOIDCLDAPDeactivationEndsSession: a user disabled in the directory
// (a real slapd) is deactivated by the LDAP sync, which ends the user's
// OpenID Connect session: userinfo and refresh are refused, and the
// background round tells the client.
func TestOIDCLDAPDeactivationEndsSession(t *testing.T) {
	eachEngine(t, func(t *testing.T, opts envOptions) {
		slapd := slapdtest.Start(t, slapdtest.Options{})
		slapd.Add(t, slapdtest.PersonLDIF(slapdtest.Person{UID: "dave", Given: "Dave", Surname: "Dyer"})+
			slapdtest.PersonLDIF(slapdtest.Person{UID: "bob", Given: "Bob", Surname: "Baker"}))
		d := newOIDCDeprovisionEnv(t, opts)
		ctx := t.Context()
		dir := lanyard.LDAPDirectory{TenantID: d.tenant.ID, Enabled: true, URLs: []string{slapd.LDAPSURL}, CACertPEM: slapd.CACertPEM,
			BindDN: slapdtest.AdminDN, BindPassword: slapdtest.AdminPW, BaseDN: "ou=people," + slapdtest.BaseDN,
			ScopeDomains: []string{"example.org"}, MaxDeactivatePercent: 100}
		if err := d.store.PutLDAPDirectory(ctx, &dir, false); err != nil {
			t.Fatal(err)
		}
		sy := &ldapsync.Syncer{Store: d.store}
		if _, err := sy.Sync(ctx, d.tenant, ldapsync.Options{Actor: "test"}); err != nil {
			t.Fatal(err)
		}
		dave, err := d.store.UserByLogin(ctx, d.tenant.ID, "dave")
		if err != nil || dave.Source != lanyard.SourceLDAP {
			t.Fatalf("dave after the first sync: %+v, %v", dave, err)
		}
		m := d.signedInTokens(dave)
		d.live(m)
		// Disabled in the directory (userAccountControl ACCOUNTDISABLE).
		slapd.Modify(t, fmt.Sprintf("dn: %s\nchangetype: modify\nreplace: userAccountControl\nuserAccountControl: 514\n\n", slapdtest.DN("dave")))
		run, err := sy.Sync(ctx, d.tenant, ldapsync.Options{Actor: "test", Kind: lanyard.SyncFull})
		if err != nil || run.Deactivated != 1 {
			t.Fatalf("sync after dave was disabled: deactivated %d, %v", run.Deactivated, err)
		}
		d.ended("LDAP sync deactivation", m)
	})
}
