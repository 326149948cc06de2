package lanyard

import "context"

type txKey struct{}

// ContextWithTx returns a context that carries tx, a Store bound to a
// transaction (the one Atomic hands to its function). Components reached
// through an interface that takes only a context (the SAML request store
// and replay cache) then write inside that transaction, so that a login's
// writes commit together or not at all.
func ContextWithTx(ctx context.Context, tx Store) context.Context {
	return context.WithValue(ctx, txKey{}, tx)
}

// StoreFor returns the transaction ctx carries (ContextWithTx), else s.
func StoreFor[S any](ctx context.Context, s S) S {
	if tx, ok := ctx.Value(txKey{}).(Store); ok {
		if as, ok := tx.(S); ok {
			return as
		}
	}
	return s
}
