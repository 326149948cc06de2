package identity_test

import (
	"fmt"
	"net/http"

	"github.com/lanyard-sso/lanyard/identity"
)

// An application behind Lanyard checks the signed identity of each request
// instead of trusting the network: the token comes in X-Lanyard-JWT, the
// keys from Lanyard's /.well-known/jwks.json.
func ExampleVerifier() {
	verifier := &identity.Verifier{
		JWKSURL: "https://sso.example.com/.well-known/jwks.json",
		Issuer:  "https://sso.example.com",
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
