package admin

import (
	"context"
	"fmt"

	"github.com/lanyard-sso/lanyard"
)

// AuditQuery selects audit events for AuditLog. Zero fields match
// everything.
type AuditQuery struct {
	// Tenant is the slug of the tenant; empty means every tenant (and the
	// events outside any tenant, such as API token changes).
	Tenant string
	// User is the login of an account of Tenant.
	User string
	// Filter holds the other criteria; its TenantID and UserID are set from
	// Tenant and User.
	Filter lanyard.AuditFilter
}

// AuditLog lists audit events, newest first.
func (s *Service) AuditLog(ctx context.Context, q AuditQuery) ([]lanyard.AuditEvent, error) {
	f := q.Filter
	if q.User != "" && q.Tenant == "" {
		return nil, invalidf("a user filter needs the tenant of the user")
	}
	// A tenant administrator reads the trail of their tenant only; another
	// tenant's name is refused whether it exists or not.
	p := lanyard.PrincipalFrom(ctx)
	if !p.Operator {
		if !p.IsAdmin() {
			return nil, lanyard.ErrNotAdministrator
		}
		f.TenantID = p.TenantID
	}
	if q.Tenant != "" {
		t, err := s.Tenant(ctx, q.Tenant)
		if err != nil && p.Operator {
			return nil, err
		}
		if err := lanyard.Authorize(p, lanyard.AccessTenant, t.ID); err != nil {
			return nil, err
		}
		f.TenantID = t.ID
		if q.User != "" {
			u, err := s.userIn(ctx, t, q.User)
			if err != nil {
				return nil, err
			}
			f.UserID = u.ID
		}
	}
	if f.Limit < 0 || f.Limit > 1000 {
		return nil, invalidf("limit %d: give 1 to 1000 (0: 100)", f.Limit)
	}
	switch f.Outcome {
	case "", lanyard.OutcomeSuccess, lanyard.OutcomeFailure:
	default:
		return nil, invalidf("outcome %q: use success or failure", f.Outcome)
	}
	evs, err := s.store.AuditEvents(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	return evs, nil
}
