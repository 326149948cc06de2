package admin

import (
	"context"

	"github.com/lanyard-sso/lanyard"
)

// guardedStore applies lanyard.CheckAccountChange to every account change
// the service makes, whichever use case makes it (edit, import, merge,
// conversion...), with the principal of the context: one rule in one place.
type guardedStore struct {
	lanyard.Store
}

func (g guardedStore) Atomic(ctx context.Context, fn func(tx lanyard.Store) error) error {
	return g.Store.Atomic(ctx, func(tx lanyard.Store) error { return fn(guardedStore{tx}) })
}

func (g guardedStore) CreateUser(ctx context.Context, u *lanyard.User) error {
	if err := lanyard.CheckAccountChange(lanyard.PrincipalFrom(ctx), nil, u); err != nil {
		return err
	}
	return g.Store.CreateUser(ctx, u)
}

func (g guardedStore) CreateUsers(ctx context.Context, users []*lanyard.User) error {
	p := lanyard.PrincipalFrom(ctx)
	for _, u := range users {
		if err := lanyard.CheckAccountChange(p, nil, u); err != nil {
			return err
		}
	}
	return g.Store.CreateUsers(ctx, users)
}

func (g guardedStore) UpdateUser(ctx context.Context, id int64, fn func(*lanyard.User) error) (lanyard.User, error) {
	return g.Store.UpdateUser(ctx, id, guardUpdate(ctx, fn))
}

func (g guardedStore) UpdateUsers(ctx context.Context, ids []int64, fn func(*lanyard.User) error) ([]lanyard.User, error) {
	return g.Store.UpdateUsers(ctx, ids, guardUpdate(ctx, fn))
}

func (g guardedStore) DeleteUser(ctx context.Context, id int64) error {
	u, err := g.Store.User(ctx, id)
	if err != nil {
		return err
	}
	if err := lanyard.CheckAccountChange(lanyard.PrincipalFrom(ctx), &u, nil); err != nil {
		return err
	}
	return g.Store.DeleteUser(ctx, id)
}

func (g guardedStore) MoveUserRecords(ctx context.Context, from, to int64) (lanyard.MovedRecords, error) {
	p := lanyard.PrincipalFrom(ctx)
	for _, id := range []int64{from, to} {
		u, err := g.Store.User(ctx, id)
		if err != nil {
			return lanyard.MovedRecords{}, err
		}
		if err := lanyard.CheckAccountChange(p, &u, &u); err != nil {
			return lanyard.MovedRecords{}, err
		}
	}
	return g.Store.MoveUserRecords(ctx, from, to)
}

// guardUpdate checks the account before and after fn.
func guardUpdate(ctx context.Context, fn func(*lanyard.User) error) func(*lanyard.User) error {
	p := lanyard.PrincipalFrom(ctx)
	return func(u *lanyard.User) error {
		before := *u
		before.Roles = append([]lanyard.RoleGrant(nil), u.Roles...)
		if err := fn(u); err != nil {
			return err
		}
		return lanyard.CheckAccountChange(p, &before, u)
	}
}
