package admin

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/lanyard-sso/lanyard"
)

// The reverse proxy routes (lanyard.ProxyRoute) kept in the store: every
// node serves them, and a running server picks a change up within seconds.
// Routes of the config file are not listed here; a stored route of the
// same name replaces one.

// ProxyRoutes lists the stored routes by name.
func (s *Service) ProxyRoutes(ctx context.Context) ([]lanyard.ProxyRoute, error) {
	return s.store.ProxyRoutes(ctx)
}

// PutProxyRoute adds r, or replaces the route of the same name, and
// records it in the audit trail. Every problem of r is reported at once.
func (s *Service) PutProxyRoute(ctx context.Context, actor string, r lanyard.ProxyRoute) (lanyard.ProxyRoute, error) {
	r.Normalize()
	if err := r.Validate(); err != nil {
		return lanyard.ProxyRoute{}, errorf(lanyard.KindInvalid, err, "proxy route %q: %s", r.Name, lanyard.ErrorMessage(err))
	}
	err := s.store.Atomic(ctx, func(tx lanyard.Store) error {
		if err := tx.PutProxyRoute(ctx, &r); err != nil {
			return err
		}
		return s.audit(ctx, tx, lanyard.AuditEvent{Actor: actor, Action: "proxy_route.put", Subject: r.Name,
			Message: fmt.Sprintf("route %s: %s%s -> %s (tenant %s, roles %s)", r.Name, orAny(r.Host), r.PathPrefix, r.Upstream, r.Tenant, rolesOrNone(r.Roles))})
	})
	if err != nil {
		return lanyard.ProxyRoute{}, err
	}
	s.logChange(ctx, "proxy_route.put", actor, "route", r.Name, "upstream", r.Upstream)
	return r, nil
}

// DeleteProxyRoute removes the stored route with the name and records it
// in the audit trail. KindNotFound when there is none.
func (s *Service) DeleteProxyRoute(ctx context.Context, actor, name string) error {
	err := s.store.Atomic(ctx, func(tx lanyard.Store) error {
		if err := tx.DeleteProxyRoute(ctx, name); err != nil {
			return err
		}
		return s.audit(ctx, tx, lanyard.AuditEvent{Actor: actor, Action: "proxy_route.delete", Subject: name,
			Message: "removed route " + name})
	})
	if errors.Is(err, lanyard.ErrNotFound) {
		return errorf(lanyard.KindNotFound, err, "no proxy route named %q; list them with: lanyard route list", name)
	}
	if err != nil {
		return err
	}
	s.logChange(ctx, "proxy_route.delete", actor, "route", name)
	return nil
}

func orAny(host string) string {
	if host == "" {
		return "(any host)"
	}
	return host
}

func rolesOrNone(roles []string) string {
	if len(roles) == 0 {
		return "none"
	}
	return strings.Join(roles, ",")
}
