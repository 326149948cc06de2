package storetest

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
)

// RunGateway runs the conformance tests of the lanyard.GatewayStore part of
// the store (signing keys and proxy routes). open must return a fresh,
// migrated, empty store.
func RunGateway(t *testing.T, open func(t *testing.T) lanyard.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s lanyard.Store)
	}{
		{"SigningKeys", testSigningKeys},
		{"SigningKeysRace", testSigningKeysRace},
		{"ProxyRoutes", testProxyRoutes},
		{"ProxyRouteInvalid", testProxyRouteInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

func testSigningKeys(t *testing.T, s lanyard.Store) {
	ctx := ctxFor(t)
	old := lanyard.SigningKey{ID: "k1", Algorithm: "ES256", PrivateKey: []byte{1, 2, 3}, CreatedAt: t0,
		SignUntil: t0.Add(time.Hour), PublishUntil: t0.Add(2 * time.Hour)}
	next := lanyard.SigningKey{ID: "k2", Algorithm: "ES256", PrivateKey: []byte{4, 5, 6}, CreatedAt: t0.Add(30 * time.Minute),
		SignUntil: t0.Add(3 * time.Hour), PublishUntil: t0.Add(4 * time.Hour)}
	must(t, s.AddSigningKey(ctx, &next), "add k2")
	must(t, s.AddSigningKey(ctx, &old), "add k1")
	dup := old
	wantErr(t, s.AddSigningKey(ctx, &dup), lanyard.ErrConflict, "add k1 again")

	keys, err := s.SigningKeys(ctx, t0)
	must(t, err, "list keys")
	wantEqual(t, "keys at t0 (oldest first)", keys, []lanyard.SigningKey{old, next})

	keys, err = s.SigningKeys(ctx, t0.Add(2*time.Hour))
	must(t, err, "list keys after k1's publication")
	wantEqual(t, "keys once k1 is no longer published", keys, []lanyard.SigningKey{next})

	n, err := s.PurgeSigningKeys(ctx, t0.Add(2*time.Hour))
	must(t, err, "purge")
	wantInt(t, "purged keys", n, 1)
	keys, err = s.SigningKeys(ctx, t0)
	must(t, err, "list after purge")
	wantEqual(t, "keys after purge", keys, []lanyard.SigningKey{next})
}

// testSigningKeysRace adds keys from several goroutines, as nodes that
// rotate at the same moment do: every key is kept.
func testSigningKeysRace(t *testing.T, s lanyard.Store) {
	ctx := ctxFor(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k := lanyard.SigningKey{ID: string(rune('a' + i)), Algorithm: "ES256", PrivateKey: []byte{byte(i)},
				CreatedAt: t0, SignUntil: t0.Add(time.Hour), PublishUntil: t0.Add(time.Hour)}
			errs <- s.AddSigningKey(ctx, &k)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, err, "concurrent add")
	}
	keys, err := s.SigningKeys(ctx, t0)
	must(t, err, "list")
	wantInt(t, "keys", len(keys), 8)
	if keys[0].ID != "a" || keys[7].ID != "h" {
		t.Fatalf("keys of the same CreatedAt are not ordered by ID: first %q, last %q", keys[0].ID, keys[7].ID)
	}
}

func testProxyRoutes(t *testing.T, s lanyard.Store) {
	ctx := ctxFor(t)
	r := lanyard.ProxyRoute{Name: "wiki", Host: "Wiki.Example.com", Upstream: "http://127.0.0.1:3000", Roles: []string{"staff", " editors "}}
	must(t, s.PutProxyRoute(ctx, &r), "put wiki")
	if r.CreatedAt.IsZero() || r.UpdatedAt.IsZero() {
		t.Fatalf("timestamps not set: %+v", r)
	}
	other := lanyard.ProxyRoute{Name: "api", PathPrefix: "/api/", Upstream: "https://10.0.0.1", Tenant: "acme", BearerToken: true, StripPrefix: true}
	must(t, s.PutProxyRoute(ctx, &other), "put api")

	routes, err := s.ProxyRoutes(ctx)
	must(t, err, "list")
	wantInt(t, "routes", len(routes), 2)
	got := routes[1]
	wantEqual(t, "wiki as read back", []any{got.Name, got.Host, got.PathPrefix, got.Upstream, got.Tenant, got.Roles, got.BearerToken},
		[]any{"wiki", "wiki.example.com", "/", "http://127.0.0.1:3000", lanyard.DefaultTenantSlug, []string{"staff", "editors"}, false})
	wantEqual(t, "api as read back", []any{routes[0].Name, routes[0].PathPrefix, routes[0].Tenant, routes[0].Roles, routes[0].BearerToken, routes[0].StripPrefix},
		[]any{"api", "/api/", "acme", []string(nil), true, true})

	// Putting the same name replaces the route and keeps its creation time.
	created := got.CreatedAt
	r2 := lanyard.ProxyRoute{Name: "wiki", Upstream: "http://127.0.0.1:4000"}
	must(t, s.PutProxyRoute(ctx, &r2), "replace wiki")
	sameTime(t, "created_at after replace", r2.CreatedAt, created)
	routes, err = s.ProxyRoutes(ctx)
	must(t, err, "list after replace")
	wantEqual(t, "replaced route", []any{routes[1].Upstream, routes[1].Host, routes[1].Roles}, []any{"http://127.0.0.1:4000", "", []string(nil)})

	must(t, s.DeleteProxyRoute(ctx, "wiki"), "delete wiki")
	wantErr(t, s.DeleteProxyRoute(ctx, "wiki"), lanyard.ErrNotFound, "delete wiki again")
	routes, err = s.ProxyRoutes(ctx)
	must(t, err, "list after delete")
	wantInt(t, "routes after delete", len(routes), 1)
}

func testProxyRouteInvalid(t *testing.T, s lanyard.Store) {
	ctx := ctxFor(t)
	r := lanyard.ProxyRoute{Name: "Bad Name", PathPrefix: "app", Upstream: "ftp://x", Tenant: "Not A Slug", Roles: []string{"a,b"}}
	err := s.PutProxyRoute(ctx, &r)
	if lanyard.ErrorKind(err) != lanyard.KindInvalid {
		t.Fatalf("put invalid route: got %v, want an error of kind invalid", err)
	}
	if msg := lanyard.ErrorMessage(err); !strings.Contains(msg, "5 problems") {
		t.Fatalf("want the 5 problems reported at once, got %q", msg)
	}
}
