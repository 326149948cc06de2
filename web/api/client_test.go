package api

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard/apiclient"
	"github.com/lanyard-sso/lanyard/apiv1"
)

// served is an httptest server of Routes that remembers the pattern of the
// route that answered the last request.
type served struct {
	*httptest.Server
	mu      sync.Mutex
	pattern string
}

func serve(t *testing.T, d Deps) *served {
	t.Helper()
	mux := http.NewServeMux()
	Routes(mux, d)
	s := &served{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, pattern := mux.Handler(r)
		s.mu.Lock()
		s.pattern = pattern
		s.mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *served) lastPattern() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pattern
}

// TestClientMethodForEveryOperation holds the rule that package apiclient
// has a method for every operation, named after its operationId.
func TestClientMethodForEveryOperation(t *testing.T) {
	client := reflect.TypeFor[*apiclient.Client]()
	for _, op := range operations {
		name := strings.ToUpper(op.id[:1]) + op.id[1:]
		if _, ok := client.MethodByName(name); !ok {
			t.Errorf("apiclient.Client has no method %s for operation %s (%s)", name, op.id, op.pattern)
		}
	}
}

// TestClientCallsEveryOperation drives every operation through the client
// and checks that the call reaches the route of its operation and the
// service method with the arguments given (path parameters unescaped,
// query parameters and bodies decoded, the token as the actor).
func TestClientCallsEveryOperation(t *testing.T) {
	f := &fakeAdmin{}
	s := serve(t, f.deps())
	c, err := apiclient.New(s.URL, "writer")
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	const tenant = "acme corp" // a space, to be escaped in the path
	since := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	no := false
	cases := map[string]struct {
		want string // the service call recorded by the fake
		call func() error
	}{
		"listTenants": {"Tenants", func() error { return errOf(c.ListTenants(ctx)) }},
		"createTenant": {"CreateTenant api:writer acme Acme [acme.com]", func() error {
			return errOf(c.CreateTenant(ctx, apiv1.TenantCreate{Slug: "acme", DisplayName: "Acme", EmailDomains: []string{"acme.com"}}))
		}},
		"getTenant": {"DescribeTenant acme corp", func() error { return errOf(c.GetTenant(ctx, tenant)) }},
		"setTenant": {"SetTenant api:writer acme corp [jit=true]", func() error {
			return errOf(c.SetTenant(ctx, tenant, map[string]string{"jit": "true"}))
		}},
		"deleteTenant": {"DeleteTenant api:writer acme corp acme corp", func() error { return errOf(c.DeleteTenant(ctx, tenant, tenant)) }},
		"deleteUser":   {"DeleteUser api:writer acme corp j/doe@acme.com", func() error { return errOf(c.DeleteUser(ctx, tenant, "j/doe@acme.com")) }},
		"listIdPs":     {"IdPs acme corp", func() error { return errOf(c.ListIdPs(ctx, tenant)) }},
		"importIdP": {"ImportIdP api:writer acme corp <EntityDescriptor/>   true", func() error {
			return errOf(c.ImportIdP(ctx, tenant, apiv1.IdPImportQuery{LegacySHA1: true}, []byte("<EntityDescriptor/>")))
		}},
		"deleteIdP": {"DeleteIdP api:writer acme corp https://idp.example.org/?a=b&c", func() error {
			return errOf(c.DeleteIdP(ctx, tenant, "https://idp.example.org/?a=b&c"))
		}},
		"refreshIdP": {"RefreshIdP api:writer https://idp.example.org", func() error {
			return errOf(c.RefreshIdP(ctx, tenant, "https://idp.example.org"))
		}},
		"listUsers": {"Users acme corp doe inactive  sso  5 10", func() error {
			return errOf(c.ListUsers(ctx, tenant, apiv1.UserQuery{Query: "doe", Status: apiv1.StatusInactive, LoginMethod: apiv1.LoginSSO, Limit: 5, Offset: 10}))
		}},
		"createUser": {"AddUser api:writer acme corp jdoe false local", func() error {
			return errOf(c.CreateUser(ctx, tenant, apiv1.UserCreate{Login: "jdoe", WebAccess: &no}))
		}},
		"getUser": {"DescribeUser acme corp j/doe@acme.com", func() error { return errOf(c.GetUser(ctx, tenant, "j/doe@acme.com")) }},
		"setUser": {"SetUser api:writer acme corp jdoe [locked=true]", func() error {
			return errOf(c.SetUser(ctx, tenant, "jdoe", map[string]string{"locked": "true"}))
		}},
		"importUsers": {"ImportUsers api:writer acme corp login\njdoe\n true", func() error {
			return errOf(c.ImportUsers(ctx, tenant, apiv1.ImportQuery{DryRun: true}, strings.NewReader("login\njdoe\n")))
		}},
		"exportUsers": {"ExportUsers acme corp", func() error {
			b, err := c.ExportUsers(ctx, tenant)
			if err == nil && string(b) != "login\njdoe\n" {
				t.Errorf("export: %q", b)
			}
			return err
		}},
		"mergeUsers": {"PreviewMerge acme corp a b", func() error {
			return errOf(c.MergeUsers(ctx, tenant, apiv1.MergeRequest{Keep: "a", Remove: "b", DryRun: true}))
		}},
		"convertUsers": {"ConvertToSSO api:writer acme corp [a] acme.com false", func() error {
			return errOf(c.ConvertUsers(ctx, tenant, apiv1.ConvertRequest{Logins: []string{"a"}, Domain: "acme.com"}))
		}},
		"listTraces": {"LoginTraces acme corp expired 0 9", func() error {
			return errOf(c.ListTraces(ctx, tenant, apiv1.TraceQuery{Reason: "expired", Before: 9}))
		}},
		"getTrace": {"LoginTrace acme corp 42", func() error { return errOf(c.GetTrace(ctx, tenant, 42)) }},
		"listAuditEvents": {"AuditLog acme  user.merge failure 2026-11-01T00:00:00Z 3 0", func() error {
			return errOf(c.ListAuditEvents(ctx, apiv1.AuditQuery{Tenant: "acme", Action: "user.merge", Outcome: apiv1.OutcomeFailure, Since: since, Limit: 3}))
		}},
		"listTokens": {"APITokens", func() error { return errOf(c.ListTokens(ctx)) }},
		"createToken": {"CreateTenantAPIToken api:writer acme ci [read] 2h0m0s", func() error {
			return errOf(c.CreateToken(ctx, apiv1.TokenCreate{Name: "ci", Tenant: "acme", Scopes: []apiv1.Scope{apiv1.ScopeRead}, ExpiresInHours: 2}))
		}},
		"revokeToken": {"RevokeAPIToken api:writer ci", func() error { return errOf(c.RevokeToken(ctx, "ci")) }},
		"listRoutes":  {"ProxyRoutes", func() error { return errOf(c.ListRoutes(ctx)) }},
		"putRoute": {"PutProxyRoute api:writer wiki http://127.0.0.1:3000 true", func() error {
			return errOf(c.PutRoute(ctx, "wiki", apiv1.RoutePut{Upstream: "http://127.0.0.1:3000", BearerToken: true}))
		}},
		"getLDAP": {"LDAPStatus acme corp 20", func() error { return errOf(c.GetLDAP(ctx, tenant)) }},
		"setLDAP": {"LDAPSet api:writer acme corp [enabled=true]", func() error {
			return errOf(c.SetLDAP(ctx, tenant, map[string]string{"enabled": "true"}))
		}},
		"testLDAP": {"LDAPTest acme corp", func() error { return errOf(c.TestLDAP(ctx, tenant)) }},
		"syncLDAP": {"LDAPSync acme corp incremental true false api:writer", func() error {
			return errOf(c.SyncLDAP(ctx, tenant, apiv1.LDAPSyncQuery{Incremental: true, DryRun: true}))
		}},
		"getLDAPRun":  {"LDAPRun acme corp 7", func() error { return errOf(c.GetLDAPRun(ctx, tenant, 7)) }},
		"deleteRoute": {"DeleteProxyRoute api:writer wiki", func() error { return errOf(c.DeleteRoute(ctx, "wiki")) }},

		"getSPKeys": {"SPKeyRollover acme corp", func() error { return errOf(c.GetSPKeys(ctx, tenant)) }},
		"addNextSPKey": {"AddNextSPKey api:writer acme corp signing generated", func() error {
			_, err := c.AddNextSPKey(ctx, tenant, "signing", apiv1.SPKeyNext{})
			if err != nil {
				return err
			}
			if _, err := c.AddNextSPKey(ctx, tenant, "encryption", apiv1.SPKeyNext{PKCS12Base64: "cDEy", Password: "pw"}); err != nil {
				return err
			}
			if got, want := f.lastCall(), "AddNextSPKey api:writer acme corp encryption //p12/pw"; got != want {
				t.Errorf("own PKCS#12: got %q, want %q", got, want)
			}
			return errOf(c.AddNextSPKey(ctx, tenant, "signing", apiv1.SPKeyNext{KeyPEM: "", CertificatePEM: ""}))
		}},
		"switchSPKey":      {"SwitchSPKey api:writer acme corp encryption", func() error { return errOf(c.SwitchSPKey(ctx, tenant, "encryption")) }},
		"retireSPKey":      {"RetireSPKey api:writer acme corp signing", func() error { return errOf(c.RetireSPKey(ctx, tenant, "signing")) }},
		"listCertificates": {"Certificates acme corp", func() error { return errOf(c.ListCertificates(ctx, tenant)) }},
		"addManualIdP": {"AddManualIdP api:writer acme corp https://idp.example.org https://idp.example.org/sso post  A\nB false", func() error {
			return errOf(c.AddManualIdP(ctx, tenant, apiv1.ManualIdP{EntityID: "https://idp.example.org", SSOURL: "https://idp.example.org/sso", SSOBinding: "post", SigningCertificates: []string{"A", "B"}}))
		}},
		"diagnoseTenant":  {"Diagnose acme corp", func() error { return errOf(c.DiagnoseTenant(ctx, tenant)) }},
		"listOIDCClients": {"OIDCClients acme corp", func() error { return errOf(c.ListOIDCClients(ctx, tenant)) }},
		"createOIDCClient": {"CreateOIDCClient api:writer acme corp grafana [redirect_uris=https://grafana.example.com/cb]", func() error {
			return errOf(c.CreateOIDCClient(ctx, tenant, apiv1.OIDCClientCreate{ClientID: "grafana", Settings: map[string]string{"redirect_uris": "https://grafana.example.com/cb"}}))
		}},
		"getOIDCClient": {"OIDCClient acme corp a/b c", func() error { return errOf(c.GetOIDCClient(ctx, tenant, "a/b c")) }},
		"setOIDCClient": {"SetOIDCClient api:writer acme corp grafana [id_token_alg=ES256]", func() error {
			return errOf(c.SetOIDCClient(ctx, tenant, "grafana", map[string]string{"id_token_alg": "ES256"}))
		}},
		"rotateOIDCClientSecret": {"RotateOIDCClientSecret api:writer acme corp grafana", func() error {
			return errOf(c.RotateOIDCClientSecret(ctx, tenant, "grafana"))
		}},
		"deleteOIDCClient": {"DeleteOIDCClient api:writer acme corp grafana", func() error { return errOf(c.DeleteOIDCClient(ctx, tenant, "grafana")) }},
	}
	for _, op := range operations {
		tc, ok := cases[op.id]
		if !ok {
			t.Errorf("%s: no client call in this test", op.id)
			continue
		}
		delete(cases, op.id)
		if err := tc.call(); err != nil {
			t.Errorf("%s: %v", op.id, err)
			continue
		}
		if got := s.lastPattern(); got != op.pattern {
			t.Errorf("%s: the client's request was served by %q, want %q", op.id, got, op.pattern)
		}
		if got := f.lastCall(); got != tc.want {
			t.Errorf("%s: service call\n got %q\nwant %q", op.id, got, tc.want)
		}
	}
	for id := range cases {
		t.Errorf("%s: tested here but not an operation", id)
	}
}

// errOf is the error of a client call, for tests that check only that.
func errOf[T any](_ T, err error) error { return err }
