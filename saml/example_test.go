package saml_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/lanyard-sso/lanyard/saml"
)

// A Go program validating a response on its own: the IdP's metadata, the
// SP's settings, and the SAMLResponse form value posted to the ACS.
// (testdata/example is produced by TestWriteExample in example_gen_test.go.)
func Example() {
	md, err := os.ReadFile("testdata/example/idp-metadata.xml")
	if err != nil {
		panic(err)
	}
	idp, err := saml.ParseIdPMetadata(md, saml.MetadataOptions{})
	if err != nil {
		panic(err)
	}
	sp := &saml.ServiceProvider{
		EntityID:         "https://sp.example.com/t/acme/saml/metadata",
		ACSURL:           "https://sp.example.com/t/acme/saml/acs",
		AllowUnsolicited: true, // this response is IdP-initiated
		Replay:           saml.NewMemoryReplayCache(),
		// The fixture was issued at this instant; a real SP uses the clock.
		Now: func() time.Time { return time.Date(2026, 3, 1, 12, 0, 30, 0, time.UTC) },
	}
	form, err := os.ReadFile("testdata/example/response.b64")
	if err != nil {
		panic(err)
	}
	in := saml.ResponseInput{SAMLResponse: string(form), RelayState: "/welcome"}

	a, err := sp.ValidateResponse(context.Background(), idp, in)
	if err != nil {
		var e *saml.Error
		if errors.As(err, &e) {
			fmt.Println("refused:", e.Reason, e.Message)
		}
		return
	}
	fmt.Println(a.NameID.Value, a.Issuer)
	fmt.Println("groups:", a.Attribute("groups"))

	// The same response again is a replay.
	_, err = sp.ValidateResponse(context.Background(), idp, in)
	fmt.Println(saml.ReasonOf(err))

	// Half an hour later it has expired, and the error says by how much.
	sp2 := &saml.ServiceProvider{EntityID: sp.EntityID, ACSURL: sp.ACSURL, AllowUnsolicited: true,
		Now: func() time.Time { return time.Date(2026, 3, 1, 12, 30, 0, 0, time.UTC) }}
	_, err = sp2.ValidateResponse(context.Background(), idp, in)
	var e *saml.Error
	if errors.As(err, &e) {
		fmt.Println(e.Reason, e.OutsideWindowBy)
	}
	// Output:
	// alice@example.com https://idp.example.com/saml
	// groups: [engineering admins]
	// replay
	// expired 22m0s
}
