package web

import (
	"net/http"
	"testing"
	"time"
)

func TestAPIRoutes(t *testing.T) {
	eachEngine(t, func(t *testing.T, opts envOptions) {
		e := newEnv(t, opts)
		ctx := t.Context()
		_, writer, err := e.admin.CreateAPIToken(ctx, "root", "provisioning", []string{"write"}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		_, reader, err := e.admin.CreateAPIToken(ctx, "root", "dashboards", []string{"read"}, 0)
		if err != nil {
			t.Fatal(err)
		}
		status, got, raw := e.apiCall(writer, "PUT", "/api/v1/routes/wiki", "application/json",
			`{"host": "Wiki.Example.com", "upstream": "http://127.0.0.1:3000", "roles": ["staff"], "bearer_token": true}`)
		if status != http.StatusOK || got["host"] != "wiki.example.com" || got["tenant"] != "default" || got["path_prefix"] != "/" {
			t.Fatalf("PUT route: %d %s", status, raw)
		}
		if status, _, raw := e.apiCall(reader, "PUT", "/api/v1/routes/x", "application/json", `{"upstream": "http://127.0.0.1:1"}`); status != http.StatusForbidden {
			t.Errorf("PUT with a read token: %d %s", status, raw)
		}
		status, got, raw = e.apiCall(writer, "PUT", "/api/v1/routes/Bad%20Name", "application/json", `{"upstream": "ftp://x", "path_prefix": "x"}`)
		if status != http.StatusBadRequest {
			t.Errorf("invalid route: %d %s", status, raw)
		} else if msg := got["error"].(map[string]any)["message"].(string); msg == "" {
			t.Errorf("invalid route without a message: %s", raw)
		}
		status, got, raw = e.apiCall(reader, "GET", "/api/v1/routes", "", "")
		routes, _ := got["routes"].([]any)
		if status != http.StatusOK || len(routes) != 1 || routes[0].(map[string]any)["name"] != "wiki" {
			t.Fatalf("GET routes: %d %s", status, raw)
		}
		if status, _, raw := e.apiCall(writer, "DELETE", "/api/v1/routes/wiki", "", ""); status != http.StatusOK {
			t.Fatalf("DELETE route: %d %s", status, raw)
		}
		if status, _, raw := e.apiCall(writer, "DELETE", "/api/v1/routes/wiki", "", ""); status != http.StatusNotFound {
			t.Errorf("DELETE again: %d %s", status, raw)
		}
		if !e.hasAudit("proxy_route.delete", "success", "") {
			t.Error("no proxy_route.delete audit event")
		}
	})
}
