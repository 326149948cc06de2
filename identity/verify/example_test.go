package verify_test

import (
	"fmt"
	"net/http"

	"github.com/lanyard-sso/lanyard/identity/verify"
)

// An application behind Lanyard checks the signed identity of each request
// instead of trusting the network: the token comes in X-Lanyard-JWT, the
// keys from Lanyard's /.well-known/jwks.json. The token must name this
// application (its route "wiki") and this application's tenant ("acme"):
// a token Lanyard gave another application, or a user of another tenant,
// is refused.
func ExampleVerifier() {
	verifier := &verify.Verifier{
		JWKSURL:  "https://sso.example.com/.well-known/jwks.json",
		Issuer:   "https://sso.example.com",
		Audience: "wiki",
		Tenant:   "acme",
	}
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		who, err := verifier.Verify(r.Context(), r.Header.Get("X-Lanyard-JWT"))
		if err != nil {
			http.Error(w, "not signed in through Lanyard", http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, "Hello %s (%s of %s), roles %v\n", who.Name, who.Subject, who.Tenant, who.Roles)
	})
}
