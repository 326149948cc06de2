package web

import (
	"net/http"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard/apiv1"
)

func TestAPIRoutes(t *testing.T) {
	eachEngine(t, func(t *testing.T, opts envOptions) {
		e := newEnv(t, opts)
		ctx := t.Context()
		_, writerToken, err := e.admin.CreateAPIToken(ctx, "root", "provisioning", []string{"write"}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		_, readerToken, err := e.admin.CreateAPIToken(ctx, "root", "dashboards", []string{"read"}, 0)
		if err != nil {
			t.Fatal(err)
		}
		writer, reader := e.apiClient(writerToken), e.apiClient(readerToken)
		got, err := writer.PutRoute(ctx, "wiki", apiv1.RoutePut{Host: "Wiki.Example.com", Upstream: "http://127.0.0.1:3000", Roles: []string{"staff"}, BearerToken: true})
		if status, raw := writer.last.get(); err != nil || status != http.StatusOK || got.Host != "wiki.example.com" || got.Tenant != "default" || got.PathPrefix != "/" {
			t.Fatalf("PUT route: %d %v %s", status, err, raw)
		}
		if _, err := reader.PutRoute(ctx, "x", apiv1.RoutePut{Upstream: "http://127.0.0.1:1"}); !isStatus(err, http.StatusForbidden) {
			t.Errorf("PUT with a read token: %v", err)
		}
		_, err = writer.PutRoute(ctx, "Bad Name", apiv1.RoutePut{Upstream: "ftp://x", PathPrefix: "x"})
		if !isStatus(err, http.StatusBadRequest) {
			t.Errorf("invalid route: %v", err)
		} else if message(err) == "" {
			t.Errorf("invalid route without a message: %v", err)
		}
		routes, err := reader.ListRoutes(ctx)
		if status, raw := reader.last.get(); err != nil || status != http.StatusOK || len(routes.Routes) != 1 || routes.Routes[0].Name != "wiki" {
			t.Fatalf("GET routes: %d %v %s", status, err, raw)
		}
		if _, err := writer.DeleteRoute(ctx, "wiki"); err != nil {
			t.Fatalf("DELETE route: %v", err)
		}
		if _, err := writer.DeleteRoute(ctx, "wiki"); !isStatus(err, http.StatusNotFound) {
			t.Errorf("DELETE again: %v", err)
		}
		if !e.hasAudit("proxy_route.delete", "success", "") {
			t.Error("no proxy_route.delete audit event")
		}
	})
}
