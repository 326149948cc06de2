package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
)

func testTenantCreateRead(t *testing.T, s lanyard.Store) {
	ctx := ctxFor(t)
	sign := false
	tn := lanyard.Tenant{
		Slug: "acme", DisplayName: "ACME Corp", EmailDomains: []string{"Acme.example", "acme.test"},
		SSO: lanyard.SSOSettings{
			Enabled: true, JIT: true, ClockSkew: lanyard.DurationOf(90 * time.Second),
			SignAuthnRequests: &sign, GroupRoles: map[string][]string{"Admins": {"admin"}},
			Attributes: lanyard.AttributeMap{Email: []string{"mail"}},
		},
	}
	must(t, s.CreateTenant(ctx, &tn), "create tenant")
	if tn.ID == 0 || tn.CreatedAt.IsZero() || tn.UpdatedAt.IsZero() {
		t.Fatalf("CreateTenant did not set ID and timestamps: %+v", tn)
	}
	wantEqual(t, "domains normalized", tn.EmailDomains, []string{"acme.example", "acme.test"})

	got, err := s.Tenant(ctx, "acme")
	must(t, err, "tenant by slug")
	wantEqual(t, "tenant by slug", got, tn)
	got, err = s.TenantByID(ctx, tn.ID)
	must(t, err, "tenant by id")
	wantEqual(t, "tenant by id", got, tn)

	dup := lanyard.Tenant{Slug: "acme"}
	wantErr(t, s.CreateTenant(ctx, &dup), lanyard.ErrConflict, "duplicate slug")

	_, err = s.Tenant(ctx, "nope")
	wantErr(t, err, lanyard.ErrNotFound, "unknown slug")
	_, err = s.TenantByID(ctx, tn.ID+1000)
	wantErr(t, err, lanyard.ErrNotFound, "unknown id")
}

func testTenantEmailDomain(t *testing.T, s lanyard.Store) {
	ctx := ctxFor(t)
	a := mkTenant(t, s, "alpha", "alpha.example", "alpha.test")
	b := mkTenant(t, s, "beta", "beta.example")
	mkTenant(t, s, "gamma")

	for domain, want := range map[string]int64{
		"alpha.example": a.ID, "ALPHA.Test": a.ID, "beta.example": b.ID, " Beta.Example ": b.ID,
	} {
		got, err := s.TenantByEmailDomain(ctx, domain)
		must(t, err, "tenant by domain "+domain)
		if got.ID != want {
			t.Fatalf("tenant by domain %q: got tenant %d, want %d", domain, got.ID, want)
		}
	}
	_, err := s.TenantByEmailDomain(ctx, "gamma.example")
	wantErr(t, err, lanyard.ErrNotFound, "unclaimed domain")

	// A domain belongs to one tenant; the failed create leaves nothing behind.
	dup := lanyard.Tenant{Slug: "delta", EmailDomains: []string{"delta.example", "Beta.example"}}
	wantErr(t, s.CreateTenant(ctx, &dup), lanyard.ErrConflict, "claimed domain")
	_, err = s.Tenant(ctx, "delta")
	wantErr(t, err, lanyard.ErrNotFound, "tenant of a failed create")
	_, err = s.TenantByEmailDomain(ctx, "delta.example")
	wantErr(t, err, lanyard.ErrNotFound, "domain of a failed create")
}

func testTenantList(t *testing.T, s lanyard.Store) {
	ctx := ctxFor(t)
	got, err := s.Tenants(ctx)
	must(t, err, "list empty")
	wantInt(t, "tenants in an empty store", len(got), 0)

	c := mkTenant(t, s, "charlie", "c.example", "b.example")
	a := mkTenant(t, s, "alpha")
	b := mkTenant(t, s, "bravo", "bravo.example")
	got, err = s.Tenants(ctx)
	must(t, err, "list")
	wantEqual(t, "tenants by slug", got, []lanyard.Tenant{a, b, c})
}

func testTenantUpdate(t *testing.T, s lanyard.Store) {
	ctx := ctxFor(t)
	a := mkTenant(t, s, "alpha", "alpha.example")
	mkTenant(t, s, "beta", "beta.example")

	got, err := s.UpdateTenant(ctx, a.ID, func(tn *lanyard.Tenant) error {
		tn.DisplayName = "Alpha Inc"
		tn.SSO.Enabled = true
		tn.SSO.IgnoreOnUpdate = []string{"email"}
		tn.EmailDomains = []string{"alpha.example", "NEW.example"}
		return nil
	})
	must(t, err, "update")
	if got.DisplayName != "Alpha Inc" || !got.SSO.Enabled || got.ID != a.ID {
		t.Fatalf("update result: %+v", got)
	}
	wantEqual(t, "updated domains", got.EmailDomains, []string{"alpha.example", "new.example"})
	sameTime(t, "CreatedAt kept", got.CreatedAt, a.CreatedAt)
	read, err := s.TenantByID(ctx, a.ID)
	must(t, err, "read back")
	wantEqual(t, "read back", read, got)
	byDomain, err := s.TenantByEmailDomain(ctx, "new.example")
	must(t, err, "new domain")
	wantInt(t, "tenant of new domain", int(byDomain.ID), int(a.ID))

	// Conflicts leave the tenant unchanged.
	_, err = s.UpdateTenant(ctx, a.ID, func(tn *lanyard.Tenant) error { tn.Slug = "beta"; return nil })
	wantErr(t, err, lanyard.ErrConflict, "slug taken")
	_, err = s.UpdateTenant(ctx, a.ID, func(tn *lanyard.Tenant) error {
		tn.DisplayName = "changed"
		tn.EmailDomains = append(tn.EmailDomains, "beta.example")
		return nil
	})
	wantErr(t, err, lanyard.ErrConflict, "domain taken")
	// The function's own error is returned as is, and nothing changes.
	boom := errors.New("boom")
	_, err = s.UpdateTenant(ctx, a.ID, func(tn *lanyard.Tenant) error { tn.DisplayName = "changed"; return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("update with failing fn: got %v, want boom", err)
	}
	read, err = s.TenantByID(ctx, a.ID)
	must(t, err, "read after failed updates")
	wantEqual(t, "tenant after failed updates", read, got)

	_, err = s.UpdateTenant(ctx, a.ID+1000, func(*lanyard.Tenant) error { return nil })
	wantErr(t, err, lanyard.ErrNotFound, "update unknown")
}

func testIdPPutGet(t *testing.T, s lanyard.Store) {
	ctx := ctxFor(t)
	a := mkTenant(t, s, "alpha")
	b := mkTenant(t, s, "beta")
	c := lanyard.IdPConnection{
		TenantID: a.ID, EntityID: "https://idp.example.com/saml", MetadataXML: "<EntityDescriptor/>",
		SourceURL: "https://idp.example.com/metadata", SigningCerts: []string{"PEM1", "PEM2"}, MetadataSigners: []string{"PIN1"},
		LegacySHA1: true, LegacyEncryption: true, RefreshedAt: t0, RefreshError: "",
	}
	must(t, s.PutIdP(ctx, &c), "put")
	if c.ID == 0 || c.CreatedAt.IsZero() || c.UpdatedAt.IsZero() {
		t.Fatalf("PutIdP did not set ID and timestamps: %+v", c)
	}
	got, err := s.IdP(ctx, a.ID, c.EntityID)
	must(t, err, "get")
	wantEqual(t, "get", got, c)

	// Same tenant and entity ID: replaced, same ID, CreatedAt kept.
	c2 := lanyard.IdPConnection{
		TenantID: a.ID, EntityID: c.EntityID, MetadataXML: "<EntityDescriptor new/>",
		SigningCerts: []string{"PEM3"}, RefreshError: "fetch failed",
	}
	must(t, s.PutIdP(ctx, &c2), "put again")
	wantInt(t, "ID after upsert", int(c2.ID), int(c.ID))
	sameTime(t, "CreatedAt after upsert", c2.CreatedAt, c.CreatedAt)
	got, err = s.IdP(ctx, a.ID, c.EntityID)
	must(t, err, "get after upsert")
	wantEqual(t, "get after upsert", got, c2)

	// Same entity ID in another tenant: another connection.
	other := lanyard.IdPConnection{TenantID: b.ID, EntityID: c.EntityID}
	must(t, s.PutIdP(ctx, &other), "put in other tenant")
	if other.ID == c.ID {
		t.Fatal("connections of two tenants share an ID")
	}
	wantEqual(t, "certificates of a connection without any", other.SigningCerts, []string(nil))
	second := lanyard.IdPConnection{TenantID: a.ID, EntityID: "https://another.example.com"}
	must(t, s.PutIdP(ctx, &second), "put second")

	list, err := s.IdPs(ctx, a.ID)
	must(t, err, "list tenant")
	wantEqual(t, "entity IDs of tenant", entityIDs(list), []string{"https://another.example.com", c.EntityID})
	all, err := s.IdPs(ctx, 0)
	must(t, err, "list all")
	wantInt(t, "connections of all tenants", len(all), 3)

	_, err = s.IdP(ctx, b.ID, "https://another.example.com")
	wantErr(t, err, lanyard.ErrNotFound, "get in wrong tenant")
}

func entityIDs(cs []lanyard.IdPConnection) []string {
	out := []string{}
	for _, c := range cs {
		out = append(out, c.EntityID)
	}
	return out
}

func testIdPUpdateDelete(t *testing.T, s lanyard.Store) {
	ctx := ctxFor(t)
	a := mkTenant(t, s, "alpha")
	c := lanyard.IdPConnection{TenantID: a.ID, EntityID: "https://idp1.example.com"}
	must(t, s.PutIdP(ctx, &c), "put")
	c2 := lanyard.IdPConnection{TenantID: a.ID, EntityID: "https://idp2.example.com"}
	must(t, s.PutIdP(ctx, &c2), "put second")

	got, err := s.UpdateIdP(ctx, c.ID, func(c *lanyard.IdPConnection) error {
		c.SigningCerts = append(c.SigningCerts, "NEWPEM")
		c.RefreshedAt = t0
		c.RefreshError = ""
		c.LegacySHA1 = true
		c.LegacyEncryption = true
		return nil
	})
	must(t, err, "update")
	wantEqual(t, "updated certs", got.SigningCerts, []string{"NEWPEM"})
	read, err := s.IdP(ctx, a.ID, c.EntityID)
	must(t, err, "read back")
	wantEqual(t, "read back", read, got)

	_, err = s.UpdateIdP(ctx, c.ID, func(c *lanyard.IdPConnection) error { c.EntityID = c2.EntityID; return nil })
	wantErr(t, err, lanyard.ErrConflict, "update to a taken entity ID")
	_, err = s.UpdateIdP(ctx, c.ID+1000, func(*lanyard.IdPConnection) error { return nil })
	wantErr(t, err, lanyard.ErrNotFound, "update unknown")

	must(t, s.DeleteIdP(ctx, c.ID), "delete")
	_, err = s.IdP(ctx, a.ID, c.EntityID)
	wantErr(t, err, lanyard.ErrNotFound, "get deleted")
	wantErr(t, s.DeleteIdP(ctx, c.ID), lanyard.ErrNotFound, "delete twice")
}

func testSPKeys(t *testing.T, s lanyard.Store) {
	ctx := ctxFor(t)
	a := mkTenant(t, s, "alpha")
	b := mkTenant(t, s, "beta")
	old := lanyard.SPKey{
		TenantID: a.ID, Use: lanyard.KeySigning, PrivateKeyPEM: "PRIV1", CertificatePEM: "CERT1",
		NotAfter: t0.Add(365 * 24 * time.Hour), Active: true, CreatedAt: t0,
	}
	must(t, s.AddSPKey(ctx, &old), "add old")
	newer := lanyard.SPKey{
		TenantID: a.ID, Use: lanyard.KeyEncryption, PrivateKeyPEM: "PRIV2", CertificatePEM: "CERT2",
		NotAfter: t0.Add(730 * 24 * time.Hour), Active: true, CreatedAt: t0.Add(time.Hour),
	}
	must(t, s.AddSPKey(ctx, &newer), "add newer")
	if old.ID == 0 || newer.ID == 0 || old.ID == newer.ID {
		t.Fatalf("AddSPKey IDs: %d, %d", old.ID, newer.ID)
	}
	otherKey := lanyard.SPKey{TenantID: b.ID, Use: lanyard.KeySigning, Active: true}
	must(t, s.AddSPKey(ctx, &otherKey), "add other tenant")
	if otherKey.CreatedAt.IsZero() {
		t.Fatal("AddSPKey did not set CreatedAt")
	}

	keys, err := s.SPKeys(ctx, a.ID)
	must(t, err, "list")
	wantEqual(t, "keys newest first", keys, []lanyard.SPKey{newer, old})

	must(t, s.SetSPKeyActive(ctx, old.ID, false), "retire")
	keys, err = s.SPKeys(ctx, a.ID)
	must(t, err, "list after retire")
	old.Active = false
	wantEqual(t, "keys after retire (retired included)", keys, []lanyard.SPKey{newer, old})
	must(t, s.SetSPKeyActive(ctx, old.ID, true), "reactivate")
	keys, err = s.SPKeys(ctx, a.ID)
	must(t, err, "list after reactivate")
	if !keys[1].Active {
		t.Fatal("key not active after SetSPKeyActive(true)")
	}
	wantErr(t, s.SetSPKeyActive(ctx, newer.ID+1000, false), lanyard.ErrNotFound, "unknown key")
}

func testConfigVersion(t *testing.T, s lanyard.Store) {
	ctx := ctxFor(t)
	last, err := s.ConfigVersion(ctx)
	must(t, err, "config version")
	grows := func(what string) {
		t.Helper()
		v, err := s.ConfigVersion(ctx)
		must(t, err, "config version after "+what)
		if v <= last {
			t.Fatalf("config version after %s: %d, was %d: want it to grow", what, v, last)
		}
		last = v
	}
	same := func(what string) {
		t.Helper()
		v, err := s.ConfigVersion(ctx)
		must(t, err, "config version after "+what)
		if v != last {
			t.Fatalf("config version after %s: %d, was %d: want it unchanged", what, v, last)
		}
	}

	a := mkTenant(t, s, "alpha", "alpha.example")
	grows("CreateTenant")
	_, err = s.UpdateTenant(ctx, a.ID, func(tn *lanyard.Tenant) error { tn.SSO.JIT = true; return nil })
	must(t, err, "update tenant")
	grows("UpdateTenant")
	c := lanyard.IdPConnection{TenantID: a.ID, EntityID: "https://idp.example.com"}
	must(t, s.PutIdP(ctx, &c), "put idp")
	grows("PutIdP")
	_, err = s.UpdateIdP(ctx, c.ID, func(c *lanyard.IdPConnection) error { c.RefreshError = "x"; return nil })
	must(t, err, "update idp")
	grows("UpdateIdP")
	k := lanyard.SPKey{TenantID: a.ID, Use: lanyard.KeySigning, Active: true}
	must(t, s.AddSPKey(ctx, &k), "add key")
	grows("AddSPKey")
	must(t, s.SetSPKeyActive(ctx, k.ID, false), "retire key")
	grows("SetSPKeyActive")
	must(t, s.DeleteIdP(ctx, c.ID), "delete idp")
	grows("DeleteIdP")

	u := mkUser(t, s, a.ID, "bob")
	same("CreateUser")
	_, err = s.UpdateUser(ctx, u.ID, func(u *lanyard.User) error { u.LastLoginAt = t0; return nil })
	must(t, err, "update user")
	same("UpdateUser")
	must(t, s.LinkUser(ctx, lanyard.Link{TenantID: a.ID, UserID: u.ID, IdPEntityID: "x", NameID: "bob"}), "link")
	mkSession(t, s, u, "s1", t0.Add(time.Hour), t0.Add(2*time.Hour))
	must(t, s.AppendAudit(ctx, &lanyard.AuditEvent{Action: "sso.login"}), "audit")
	same("LinkUser, CreateSession, AppendAudit")
	must(t, s.DeleteUser(ctx, u.ID), "delete user")
	same("DeleteUser")
}

// testTenantDeleteCascades: deleting a tenant removes its domains, IdPs,
// keys, accounts with their links, sessions and tokens, and its pending
// requests; another tenant and the audit trail are untouched.
func testTenantDeleteCascades(t *testing.T, s lanyard.Store) {
	ctx := ctxFor(t)
	a := mkTenant(t, s, "alpha", "alpha.test")
	b := mkTenant(t, s, "beta", "beta.test")
	for _, tn := range []lanyard.Tenant{a, b} {
		c := lanyard.IdPConnection{TenantID: tn.ID, EntityID: "https://idp." + tn.Slug, MetadataXML: "<md/>"}
		must(t, s.PutIdP(ctx, &c), "put idp")
		k := lanyard.SPKey{TenantID: tn.ID, Use: lanyard.KeySigning, PrivateKeyPEM: "k", CertificatePEM: "c", NotAfter: t0.Add(time.Hour), Active: true}
		must(t, s.AddSPKey(ctx, &k), "add key")
		u := mkUser(t, s, tn.ID, "bob", "viewer")
		must(t, s.LinkUser(ctx, lanyard.Link{TenantID: tn.ID, UserID: u.ID, IdPEntityID: c.EntityID, NameID: "bob"}), "link")
		mkSession(t, s, u, "s-"+tn.Slug, t0.Add(time.Hour), t0.Add(2*time.Hour))
		must(t, s.SaveToken(ctx, &lanyard.OneTimeToken{Hash: []byte("tok-" + tn.Slug), Purpose: "password-reset", UserID: u.ID, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}), "token")
		must(t, s.SavePendingRequest(ctx, &lanyard.PendingRequest{ID: "_r-" + tn.Slug, TenantID: tn.ID, ExpiresAt: t0.Add(time.Hour)}), "pending")
		must(t, s.AppendAudit(ctx, &lanyard.AuditEvent{TenantID: tn.ID, Action: "user.create", UserID: u.ID}), "audit")
	}
	must(t, s.DeleteTenant(ctx, a.ID), "delete tenant")
	wantErr(t, s.DeleteTenant(ctx, a.ID), lanyard.ErrNotFound, "delete twice")
	_, err := s.TenantByID(ctx, a.ID)
	wantErr(t, err, lanyard.ErrNotFound, "deleted tenant")
	_, err = s.TenantByEmailDomain(ctx, "alpha.test")
	wantErr(t, err, lanyard.ErrNotFound, "domain of the deleted tenant")
	idps, err := s.IdPs(ctx, a.ID)
	must(t, err, "idps")
	wantInt(t, "IdPs of the deleted tenant", len(idps), 0)
	keys, err := s.SPKeys(ctx, a.ID)
	must(t, err, "keys")
	wantInt(t, "SP keys of the deleted tenant", len(keys), 0)
	n, err := s.CountUsers(ctx, lanyard.UserFilter{TenantID: a.ID})
	must(t, err, "count users")
	wantInt(t, "accounts of the deleted tenant", n, 0)
	_, err = s.UserByLink(ctx, a.ID, "https://idp.alpha", "bob")
	wantErr(t, err, lanyard.ErrNotFound, "link of the deleted tenant")
	_, err = s.Session(ctx, lanyard.HashSessionID("s-alpha"), t0)
	wantErr(t, err, lanyard.ErrNotFound, "session of the deleted tenant")
	_, err = s.TakeToken(ctx, []byte("tok-alpha"), "password-reset", t0)
	wantErr(t, err, lanyard.ErrNotFound, "token of the deleted tenant")
	_, err = s.TakePendingRequest(ctx, "_r-alpha", t0)
	wantErr(t, err, lanyard.ErrNotFound, "pending request of the deleted tenant")
	evs, err := s.AuditEvents(ctx, lanyard.AuditFilter{TenantID: a.ID})
	must(t, err, "audit")
	wantInt(t, "audit events of the deleted tenant kept", len(evs), 1)

	// The other tenant keeps everything.
	_, err = s.Session(ctx, lanyard.HashSessionID("s-beta"), t0)
	must(t, err, "session of the other tenant")
	_, err = s.UserByLink(ctx, b.ID, "https://idp.beta", "bob")
	must(t, err, "link of the other tenant")
	_, err = s.TakeToken(ctx, []byte("tok-beta"), "password-reset", t0)
	must(t, err, "token of the other tenant")
	_, err = s.TakePendingRequest(ctx, "_r-beta", t0)
	must(t, err, "pending request of the other tenant")
}
