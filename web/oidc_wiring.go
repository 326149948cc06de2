package web

import (
	"context"
	"net/http"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/web/oidc"
	"github.com/lanyard-sso/lanyard/web/sso"
)

// oidcStore is what the OpenID Connect provider needs of the store; an
// engine without it serves no provider.
type oidcStore interface {
	oidc.Store
	lanyard.SigningKeyStore
}

// oidcRoutes registers the OpenID Connect provider of every tenant when the
// store keeps OpenID Connect clients.
func (s *Server) oidcRoutes(mux *http.ServeMux, ssoDeps sso.Deps) {
	st, ok := s.store.(oidcStore)
	if !ok {
		return
	}
	s.oidc = oidc.New(oidc.Deps{
		Kit: s.kit, Store: st, Keys: oidc.NewKeys(st, s.now, s.logger),
		SingleLogout: sso.NewSingleLogout(ssoDeps), BaseURL: s.baseURL, Ready: s.requireReady,
		LogoutInterval: s.oidcLogoutInterval,
	})
	s.oidc.Routes(mux)
}

// RunOIDC runs the OpenID Connect provider's background work until ctx is
// done: back-channel logouts of ended sessions, purges, key rotation.
func (s *Server) RunOIDC(ctx context.Context) {
	if s.oidc != nil {
		s.oidc.Run(ctx)
	}
}
