package devidp

import (
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

var (
	fuzzOnce sync.Once
	fuzzIdP  *IdP
)

// fuzzTarget returns one IdP for every fuzz input (key generation is slow).
func fuzzTarget(t testing.TB) *IdP {
	fuzzOnce.Do(func() {
		idp, err := New(Config{BaseURL: "http://localhost:8081"})
		if err != nil {
			t.Fatal(err)
		}
		idp.AddSP(SP{EntityID: "sp", ACSURL: "http://localhost:8080/acs", SLOURL: "http://localhost:8080/slo", SigningCertificates: nil})
		fuzzIdP = idp
	})
	return fuzzIdP
}

// Whatever a browser sends to the SSO and SLO endpoints, the IdP answers
// without panicking, and never with a server error.
func FuzzEndpoints(f *testing.F) {
	f.Add("SAMLRequest=fZBNa8MwDIb%2FivG9dpKVbYg4oVAKha0bW3fYzcRKYvBHZjnt%2Fv2cQQ%3D%3D&RelayState=x", `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_1" Version="2.0"><saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">sp</saml:Issuer></samlp:AuthnRequest>`)
	f.Add("SAMLResponse=&SigAlg=x&Signature=%%", `<a xmlns="urn:x"><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo/></ds:Signature></a>`)
	f.Fuzz(func(t *testing.T, query, body string) {
		idp := fuzzTarget(t)
		for _, path := range []string{"/sso", "/slo"} {
			w := httptest.NewRecorder()
			get := httptest.NewRequest(http.MethodGet, path, nil)
			get.URL.RawQuery = query
			idp.ServeHTTP(w, get)
			if w.Code >= 500 {
				t.Fatalf("GET %s?%s: %d", path, query, w.Code)
			}
			form := url.Values{"SAMLRequest": {encodeBase64(body)}}
			r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			w = httptest.NewRecorder()
			idp.ServeHTTP(w, r)
			if w.Code >= 500 {
				t.Fatalf("POST %s %q: %d", path, body, w.Code)
			}
		}
		// The verifier itself, on any document, down to goxmldsig.
		verifyEnveloped([]byte(body), []*x509.Certificate{idp.signer.cert})
	})
}
