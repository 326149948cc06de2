package admin

import (
	"slices"
	"testing"
)

func TestIdPEntityIDs(t *testing.T) {
	doc := []byte(`<?xml version="1.0"?>
<!-- an EntityDescriptor in a comment is not an IDPSSODescriptor -->
<EntitiesDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata">
  <EntityDescriptor entityID="https://a.test"><IDPSSODescriptor/></EntityDescriptor>
  <md:EntityDescriptor
      entityID='https://b.test'><md:IDPSSODescriptor protocolSupportEnumeration="x"></md:IDPSSODescriptor></md:EntityDescriptor>
  <md:EntityDescriptor entityID="https://sp.test"><md:SPSSODescriptor/></md:EntityDescriptor>
  <md:EntityDescriptor entityID="https://c.test"><md:IDPSSODescriptor/></md:EntityDescriptor>
  <md:EntityDescriptor entityID="https://a.test"><md:IDPSSODescriptor/></md:EntityDescriptor>
</EntitiesDescriptor>`)
	ids, total := idpEntityIDs(doc, 2)
	if total != 3 || !slices.Equal(ids, []string{"https://a.test", "https://b.test"}) {
		t.Errorf("idpEntityIDs = %q, %d; want a, b of 3", ids, total)
	}
	if !isEntitiesDescriptor(doc) || isEntitiesDescriptor([]byte(`<md:EntityDescriptor xmlns:md="x"/>`)) {
		t.Error("isEntitiesDescriptor wrong")
	}
}
