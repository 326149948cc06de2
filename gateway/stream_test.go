package gateway_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/gateway"
	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/session"
)

// TestProxyStreamsResponses: an answer the application sends bit by bit
// (server-sent events) reaches the client bit by bit, not when it ends.
func TestProxyStreamsResponses(t *testing.T) {
	store := testdb.SQLite(t)
	e := newVerifyEnv(t, store)
	release := make(chan struct{})
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprintf(w, "data: first\n\n")
		w.(http.Flusher).Flush()
		<-release // the second event waits for the client to have the first
		fmt.Fprintf(w, "data: second\n\n")
	}))
	defer upstream.Close()
	defer close(release)

	base, _ := url.Parse("http://lanyard.test")
	mgr := session.NewManager(store, session.Options{})
	gw, err := gateway.New(gateway.Config{BaseURL: base, Sessions: session.NewCache(mgr, store, session.CacheOptions{}), AdminHost: "admin.localhost",
		StaticRoutes: []lanyard.ProxyRoute{{Name: "events", PathPrefix: "/events", Upstream: upstream.URL, Tenant: "acme"}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw.Wrap(http.NotFoundHandler()))
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/events", nil)
	req.AddCookie(&http.Cookie{Name: gateway.SessionCookie, Value: e.session})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || line != "data: first\n" {
		t.Fatalf("first event: %q, %v (the proxy held the stream back)", line, err)
	}
}
