package devidp_test

import (
	"fmt"
	"net/http/httptest"

	"github.com/lanyard-sso/lanyard/devidp"
)

// An IdP embedded in a program: served at the path of its BaseURL, with
// the demo users, trusting one SP.
func ExampleNew() {
	idp, err := devidp.New(devidp.Config{BaseURL: "http://localhost:8080/devidp"})
	if err != nil {
		panic(err)
	}
	err = idp.AddSP(devidp.SP{
		EntityID: "http://localhost:8080/t/demo/saml/metadata",
		ACSURL:   "http://localhost:8080/t/demo/saml/acs",
		SLOURL:   "http://localhost:8080/t/demo/saml/slo",
	})
	if err != nil {
		panic(err)
	}
	// mux.Handle("/devidp/", idp) in a real server.
	w := httptest.NewRecorder()
	idp.ServeHTTP(w, httptest.NewRequest("GET", "/devidp/metadata", nil))
	fmt.Println(w.Code, w.Header().Get("Content-Type"))
	fmt.Println(idp.MetadataURL())
	fmt.Println(idp.InitURL("http://localhost:8080/t/demo/saml/metadata", "/welcome"))
	for _, u := range idp.Users() {
		fmt.Println(u.Username, u.Attributes["groups"])
	}
	// Output:
	// 200 application/samlmetadata+xml
	// http://localhost:8080/devidp/metadata
	// http://localhost:8080/devidp/init?RelayState=%2Fwelcome&sp=http%3A%2F%2Flocalhost%3A8080%2Ft%2Fdemo%2Fsaml%2Fmetadata
	// alice [staff admins]
	// bob [staff]
}
