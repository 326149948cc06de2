package web

import (
	"net/http"
	"time"

	"github.com/lanyard-sso/lanyard"
)

// The reverse proxy routes in the API: the same use cases as
// 'lanyard route add|list|remove' (admin.Service).

// apiRoute is a route as the API shows it.
type apiRoute struct {
	Name        string    `json:"name"`
	Host        string    `json:"host"`
	PathPrefix  string    `json:"path_prefix"`
	Upstream    string    `json:"upstream"`
	Tenant      string    `json:"tenant"`
	Roles       []string  `json:"roles"`
	BearerToken bool      `json:"bearer_token"`
	StripPrefix bool      `json:"strip_prefix"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

func toAPIRoute(r lanyard.ProxyRoute) apiRoute {
	return apiRoute{Name: r.Name, Host: r.Host, PathPrefix: r.PathPrefix, Upstream: r.Upstream, Tenant: r.Tenant,
		Roles: orEmpty(r.Roles), BearerToken: r.BearerToken, StripPrefix: r.StripPrefix, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

// handleAPIRoutes lists the routes kept in the store.
func (s *Server) handleAPIRoutes() http.Handler {
	return s.apiHandler(func(r *http.Request) (int, any, error) {
		routes, err := s.admin.ProxyRoutes(r.Context())
		if err != nil {
			return 0, nil, err
		}
		out := []apiRoute{}
		for _, rt := range routes {
			out = append(out, toAPIRoute(rt))
		}
		return http.StatusOK, map[string]any{"routes": out}, nil
	})
}

// handleAPIRoutePut adds the route named in the path, or replaces it.
func (s *Server) handleAPIRoutePut() http.Handler {
	return s.apiHandler(func(r *http.Request) (int, any, error) {
		var body struct {
			Host        string   `json:"host"`
			PathPrefix  string   `json:"path_prefix"`
			Upstream    string   `json:"upstream"`
			Tenant      string   `json:"tenant"`
			Roles       []string `json:"roles"`
			BearerToken bool     `json:"bearer_token"`
			StripPrefix bool     `json:"strip_prefix"`
		}
		if err := decodeJSON(nil, r, &body); err != nil {
			return 0, nil, err
		}
		rt, err := s.admin.PutProxyRoute(r.Context(), apiActor(r.Context()), lanyard.ProxyRoute{Name: r.PathValue("name"),
			Host: body.Host, PathPrefix: body.PathPrefix, Upstream: body.Upstream, Tenant: body.Tenant, Roles: body.Roles,
			BearerToken: body.BearerToken, StripPrefix: body.StripPrefix})
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, toAPIRoute(rt), nil
	})
}

// handleAPIRouteDelete removes the route named in the path.
func (s *Server) handleAPIRouteDelete() http.Handler {
	return s.apiHandler(func(r *http.Request) (int, any, error) {
		if err := s.admin.DeleteProxyRoute(r.Context(), apiActor(r.Context()), r.PathValue("name")); err != nil {
			return 0, nil, err
		}
		return http.StatusOK, map[string]any{"deleted": r.PathValue("name")}, nil
	})
}
