package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/admin"
	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/web"
)

// SCIM provisioning at scale, over real HTTP (loopback), on each engine:
//
//	go test -run '^$' -bench 'SCIM' -benchtime 10000x ./web/   # creation: 10,000 POSTs
//	go test -run '^$' -bench 'SCIM(Lookup|GroupPatch)' ./web/  # 100,000 users in the store
//
// (PostgreSQL runs with LANYARD_TEST_POSTGRES_URL set.)

type scimBench struct {
	b      *testing.B
	db     lanyard.Store
	tenant lanyard.Tenant
	url    string
	token  string
	client *http.Client
}

func newSCIMBench(b *testing.B, engine string) *scimBench {
	ctx := context.Background()
	db := testdb.Open(b, engine)
	base := &url.URL{Scheme: "http", Host: "localhost:8080"}
	svc := admin.New(db, admin.Options{BaseURL: base})
	if _, err := svc.CreateTenant(ctx, "bench", "bench", "", nil); err != nil {
		b.Fatal(err)
	}
	t, err := db.Tenant(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	_, token, err := svc.CreateTenantAPIToken(ctx, "cli", "bench", "bench-scim", []string{lanyard.ScopeSCIM}, 0)
	if err != nil {
		b.Fatal(err)
	}
	srv := web.New(web.Config{BaseURL: base, Store: db, Admin: svc})
	srv.SetReady()
	hs := httptest.NewServer(srv)
	b.Cleanup(hs.Close)
	return &scimBench{b: b, db: db, tenant: t, url: hs.URL + "/t/bench/scim/v2", token: token, client: hs.Client()}
}

func (s *scimBench) do(method, path string, body any, want int) map[string]any {
	var r io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		r = bytes.NewReader(data)
	}
	req, _ := http.NewRequest(method, s.url+path, r)
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := s.client.Do(req)
	if err != nil {
		s.b.Fatal(err)
	}
	defer resp.Body.Close()
	var doc map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&doc)
	if resp.StatusCode != want {
		s.b.Fatalf("%s %s: %d %v", method, path, resp.StatusCode, doc)
	}
	return doc
}

// seed inserts n users with the bulk writer.
func (s *scimBench) seed(n int) []int64 {
	ctx := context.Background()
	var ids []int64
	for start := 0; start < n; start += 5000 {
		var batch []*lanyard.User
		for i := start; i < min(start+5000, n); i++ {
			u := &lanyard.User{TenantID: s.tenant.ID, Login: fmt.Sprintf("user%06d@bench.example", i), Email: fmt.Sprintf("user%06d@bench.example", i),
				FirstName: "User", LastName: fmt.Sprintf("Number%06d", i), Source: lanyard.SourceSCIM, WebAccess: true}
			u.Normalize()
			batch = append(batch, u)
		}
		if err := s.db.CreateUsers(ctx, batch); err != nil {
			s.b.Fatal(err)
		}
		for _, u := range batch {
			ids = append(ids, u.ID)
		}
	}
	return ids
}

// BenchmarkSCIMCreateUsers: one SCIM POST /Users per iteration; reports
// users/s.
func BenchmarkSCIMCreateUsers(b *testing.B) {
	for _, engine := range testdb.Engines {
		b.Run(engine, func(b *testing.B) {
			s := newSCIMBench(b, engine)
			start := time.Now()
			b.ResetTimer()
			for i := range b.N {
				s.do("POST", "/Users", map[string]any{
					"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}, "userName": fmt.Sprintf("new%07d@bench.example", i),
					"externalId": fmt.Sprintf("ext-%d", i), "name": map[string]any{"givenName": "New", "familyName": fmt.Sprint(i)},
					"emails": []any{map[string]any{"value": fmt.Sprintf("new%07d@bench.example", i), "type": "work", "primary": true}}, "active": true,
				}, http.StatusCreated)
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "users/s")
		})
	}
}

// BenchmarkSCIMLookup: filtered GET /Users with 100,000 users in the
// store: userName eq (what every client does before a create) and co.
func BenchmarkSCIMLookup(b *testing.B) {
	for _, engine := range testdb.Engines {
		b.Run(engine, func(b *testing.B) {
			s := newSCIMBench(b, engine)
			s.seed(100_000)
			for _, c := range []struct{ name, filter string }{
				{"userName_eq", `userName eq "user054321@bench.example"`},
				{"familyName_co", `name.familyName co "er0543"`},
			} {
				b.Run(c.name, func(b *testing.B) {
					q := "/Users?filter=" + url.QueryEscape(c.filter)
					b.ResetTimer()
					for range b.N {
						doc := s.do("GET", q, nil, http.StatusOK)
						if n := doc["totalResults"].(float64); n < 1 {
							b.Fatalf("%s: %v results", c.filter, n)
						}
					}
				})
			}
		})
	}
}

// BenchmarkSCIMGroupPatch: one PATCH adding 1,000 members to a new group
// per iteration (with the roles they map to).
func BenchmarkSCIMGroupPatch(b *testing.B) {
	for _, engine := range testdb.Engines {
		b.Run(engine, func(b *testing.B) {
			s := newSCIMBench(b, engine)
			ids := s.seed(1000)
			var members []any
			for _, id := range ids {
				members = append(members, map[string]any{"value": fmt.Sprint(id)})
			}
			patch := map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
				"Operations": []any{map[string]any{"op": "add", "path": "members", "value": members}}}
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				g := s.do("POST", "/Groups", map[string]any{"displayName": fmt.Sprint("group-", i)}, http.StatusCreated)
				b.StartTimer()
				s.do("PATCH", "/Groups/"+g["id"].(string)+"?excludedAttributes=members", patch, http.StatusOK)
			}
		})
	}
}
