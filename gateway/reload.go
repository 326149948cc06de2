package gateway

import (
	"github.com/lanyard-sso/lanyard"
)

// SetStaticRoutes replaces the routes of the config file (serve's reload)
// and puts them in use at once with the stored routes last loaded; requests
// in flight finish on the route they started on. When a route is invalid,
// nothing changes and the error names every problem.
func (g *Gateway) SetStaticRoutes(routes []lanyard.ProxyRoute) error {
	g.loadMu.Lock()
	defer g.loadMu.Unlock()
	prev := g.static
	g.static = routes
	table, err := g.buildTable(g.stored)
	if err != nil {
		g.static = prev
		return err
	}
	if !sameRoutes(g.routes.Load(), table) {
		g.logger.Info("proxy routes reloaded from the configuration", "routes", len(table.routes))
	}
	g.routes.Store(table)
	return nil
}
