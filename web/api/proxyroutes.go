package api

import (
	"net/http"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/apiv1"
)

// The reverse proxy routes (/api/v1/routes): the same use cases as
// 'lanyard route add|list|remove'.

// handleRouteList lists the routes kept in the store.
func handleRouteList(d Deps) endpoint {
	return jsonCall(d, http.StatusOK, func(r *http.Request, _ none, _ none) (apiv1.RouteList, error) {
		routes, err := d.ProxyRoutes.ProxyRoutes(r.Context())
		if err != nil {
			return apiv1.RouteList{}, err
		}
		return apiv1.RouteList{Routes: listOf(routes, toRoute)}, nil
	})
}

// handleRoutePut adds the route named in the path, or replaces it.
func handleRoutePut(d Deps) endpoint {
	return jsonCall(d, http.StatusOK, func(r *http.Request, _ none, in apiv1.RoutePut) (apiv1.Route, error) {
		rt, err := d.ProxyRoutes.PutProxyRoute(r.Context(), actor(r), lanyard.ProxyRoute{Name: r.PathValue("name"),
			Host: in.Host, PathPrefix: in.PathPrefix, Upstream: in.Upstream, Tenant: in.Tenant, Roles: in.Roles,
			BearerToken: in.BearerToken, StripPrefix: in.StripPrefix})
		if err != nil {
			return apiv1.Route{}, err
		}
		return toRoute(rt), nil
	})
}

// handleRouteDelete removes the route named in the path.
func handleRouteDelete(d Deps) endpoint {
	return jsonCall(d, http.StatusOK, func(r *http.Request, _ none, _ none) (apiv1.Deleted, error) {
		name := r.PathValue("name")
		if err := d.ProxyRoutes.DeleteProxyRoute(r.Context(), actor(r), name); err != nil {
			return apiv1.Deleted{}, err
		}
		return apiv1.Deleted{Deleted: name}, nil
	})
}

func toRoute(r lanyard.ProxyRoute) apiv1.Route {
	return apiv1.Route{Name: r.Name, Host: r.Host, PathPrefix: r.PathPrefix, Upstream: r.Upstream, Tenant: r.Tenant,
		Roles: orEmpty(r.Roles), BearerToken: r.BearerToken, StripPrefix: r.StripPrefix, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}
