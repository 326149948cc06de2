package login

import (
	"reflect"
	"testing"

	"github.com/lanyard-sso/lanyard"
)

func TestMapAttributesDefaults(t *testing.T) {
	const (
		basic = "urn:oasis:names:tc:SAML:2.0:attrname-format:basic"
		uri   = "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"
		unsp  = "urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified"
	)
	tests := []struct {
		name string
		a    Assertion
		want Profile
	}{
		{
			name: "friendly names, basic format (SimpleSAMLphp)",
			a: Assertion{NameID: "_transient", Attributes: []Attribute{
				{Name: "uid", NameFormat: basic, Values: []string{"alice"}},
				{Name: "mail", NameFormat: basic, Values: []string{"alice@example.com"}},
				{Name: "givenName", NameFormat: basic, Values: []string{"Alice"}},
				{Name: "sn", NameFormat: basic, Values: []string{"Liddell"}},
				{Name: "groups", NameFormat: basic, Values: []string{"staff", "eng", "staff"}},
			}},
			want: Profile{Login: "alice", Email: "alice@example.com", FirstName: "Alice", LastName: "Liddell", Groups: []string{"staff", "eng"}},
		},
		{
			name: "urn:oid names, uri format, friendly names ignored for matching",
			a: Assertion{NameID: "x", Attributes: []Attribute{
				{Name: "urn:oid:0.9.2342.19200300.100.1.1", FriendlyName: "uid", NameFormat: uri, Values: []string{"bob"}},
				{Name: "urn:oid:0.9.2342.19200300.100.1.3", NameFormat: uri, Values: []string{"bob@example.org"}},
				{Name: "urn:oid:2.5.4.42", NameFormat: uri, Values: []string{"Bob"}},
				{Name: "urn:oid:2.5.4.4", NameFormat: uri, Values: []string{"Builder"}},
			}},
			want: Profile{Login: "bob", Email: "bob@example.org", FirstName: "Bob", LastName: "Builder"},
		},
		{
			name: "Entra ID / ADFS claim URIs, unspecified format",
			a: Assertion{NameID: "carol@contoso.com", Attributes: []Attribute{
				{Name: "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn", NameFormat: unsp, Values: []string{"carol@contoso.com"}},
				{Name: "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress", Values: []string{"carol@contoso.com"}},
				{Name: "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname", Values: []string{"Carol"}},
				{Name: "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname", Values: []string{"Danvers"}},
				{Name: "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups", Values: []string{"0f1e2d3c-guid"}},
			}},
			want: Profile{Login: "carol@contoso.com", Email: "carol@contoso.com", FirstName: "Carol", LastName: "Danvers", Groups: []string{"0f1e2d3c-guid"}},
		},
		{
			name: "no login attribute: NameID is the login",
			a:    Assertion{NameID: " dave@example.com ", Attributes: []Attribute{{Name: "email", Values: []string{"dave@example.com"}}}},
			want: Profile{Login: "dave@example.com", Email: "dave@example.com", LoginFromNameID: true},
		},
		{
			name: "access attribute present and false",
			a:    Assertion{NameID: "e", Attributes: []Attribute{{Name: "access", Values: []string{"false"}}}},
			want: Profile{Login: "e", LoginFromNameID: true, AccessMapped: true, Access: false},
		},
		{
			name: "access attribute true, case-insensitive name",
			a:    Assertion{NameID: "f", Attributes: []Attribute{{Name: "Access", Values: []string{"TRUE"}}}},
			want: Profile{Login: "f", LoginFromNameID: true, AccessMapped: true, Access: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := MapAttributes(lanyard.AttributeMap{}, tt.a)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestMapAttributesConfigured(t *testing.T) {
	m := lanyard.AttributeMap{LoginID: []string{"employeeNumber"}, Email: []string{"corpMail", "mail"}, Groups: []string{"teams"}}
	a := Assertion{NameID: "n", Attributes: []Attribute{
		{Name: "uid", Values: []string{"ignored-because-mapping-says-employeeNumber"}},
		{Name: "employeeNumber", Values: []string{"E123"}},
		{Name: "mail", Values: []string{"second@example.com"}},
		{Name: "groups", Values: []string{"not-read"}},
		{Name: "teams", Values: []string{"red"}},
	}}
	got := MapAttributes(m, a)
	if got.Login != "E123" || got.Email != "second@example.com" || !reflect.DeepEqual(got.Groups, []string{"red"}) {
		t.Fatalf("configured mapping not applied: %+v", got)
	}
}

func TestRolesForGroups(t *testing.T) {
	got := RolesForGroups(map[string][]string{"eng": {"developer"}, "staff": {"viewer", "commenter"}}, []string{"staff", "unknown", "eng"})
	want := []string{"viewer", "commenter", "developer"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v want %v", got, want)
	}
}
