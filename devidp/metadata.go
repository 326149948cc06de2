package devidp

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Metadata returns the IdP's metadata (SAML Metadata 2.0): an
// md:EntityDescriptor with an IDPSSODescriptor holding the signing
// certificate, the SLO endpoint (HTTP-Redirect and HTTP-POST), the NameID
// formats it issues and the SSO endpoint (HTTP-Redirect and HTTP-POST).
func (idp *IdP) Metadata() []byte {
	endpoint := func(kind, binding, path string) string {
		return element("md:"+kind, []attr{{"Binding", binding}, {"Location", idp.url(path)}})
	}
	var formats strings.Builder
	for _, f := range []string{NameIDFormatPersistent, NameIDFormatTransient, NameIDFormatEmailAddress, NameIDFormatUnspecified} {
		formats.WriteString(element("md:NameIDFormat", nil, text(f)))
	}
	cert := base64.StdEncoding.EncodeToString(idp.signer.cert.Raw)
	doc := element("md:EntityDescriptor", []attr{ns("md", nsMD), {"entityID", idp.entityID}},
		element("md:IDPSSODescriptor", []attr{{"WantAuthnRequestsSigned", "false"}, {"protocolSupportEnumeration", nsSAMLP}},
			element("md:KeyDescriptor", []attr{{"use", "signing"}},
				element("ds:KeyInfo", []attr{ns("ds", nsDSig)},
					element("ds:X509Data", nil, element("ds:X509Certificate", nil, cert)))),
			endpoint("SingleLogoutService", BindingHTTPRedirect, "/slo"),
			endpoint("SingleLogoutService", BindingHTTPPOST, "/slo"),
			formats.String(),
			endpoint("SingleSignOnService", BindingHTTPRedirect, "/sso"),
			endpoint("SingleSignOnService", BindingHTTPPOST, "/sso")))
	return []byte(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + doc + "\n")
}

// SP metadata, as read by TrustSPMetadata: only what the IdP needs.
type (
	mdEntities struct {
		Entities []mdEntity   `xml:"urn:oasis:names:tc:SAML:2.0:metadata EntityDescriptor"`
		Groups   []mdEntities `xml:"urn:oasis:names:tc:SAML:2.0:metadata EntitiesDescriptor"`
	}
	mdEntity struct {
		EntityID string `xml:"entityID,attr"`
		SPs      []mdSP `xml:"urn:oasis:names:tc:SAML:2.0:metadata SPSSODescriptor"`
	}
	mdSP struct {
		AuthnRequestsSigned string            `xml:"AuthnRequestsSigned,attr"`
		Protocols           string            `xml:"protocolSupportEnumeration,attr"`
		Keys                []mdKeyDescriptor `xml:"urn:oasis:names:tc:SAML:2.0:metadata KeyDescriptor"`
		SLO                 []mdEndpoint      `xml:"urn:oasis:names:tc:SAML:2.0:metadata SingleLogoutService"`
		ACS                 []mdEndpoint      `xml:"urn:oasis:names:tc:SAML:2.0:metadata AssertionConsumerService"`
	}
	mdKeyDescriptor struct {
		Use     string `xml:"use,attr"`
		KeyInfo struct {
			X509Data []struct {
				Certificates []string `xml:"http://www.w3.org/2000/09/xmldsig# X509Certificate"`
			} `xml:"http://www.w3.org/2000/09/xmldsig# X509Data"`
		} `xml:"http://www.w3.org/2000/09/xmldsig# KeyInfo"`
	}
	mdEndpoint struct {
		Binding          string `xml:"Binding,attr"`
		Location         string `xml:"Location,attr"`
		ResponseLocation string `xml:"ResponseLocation,attr"`
		Index            string `xml:"index,attr"`
		IsDefault        string `xml:"isDefault,attr"`
	}
)

// ParseSPMetadata reads the service providers described by SP metadata
// (an EntityDescriptor, or an EntitiesDescriptor with several): entity ID,
// the HTTP-POST Assertion Consumer Services (the default one first: the
// one marked isDefault, else the lowest index, else the first), the SLO
// endpoint (HTTP-Redirect preferred over HTTP-POST), the signing and
// encryption certificates (a KeyDescriptor without use is both) and
// AuthnRequestsSigned. Entities without an SPSSODescriptor are skipped.
func ParseSPMetadata(data []byte) ([]SP, error) {
	if bytes.Contains(data, []byte("<!DOCTYPE")) || bytes.Contains(data, []byte("<!ENTITY")) {
		return nil, errors.New("devidp: SP metadata: documents with a DTD are refused")
	}
	dec := xml.NewDecoder(bytes.NewReader(data))
	var root xml.StartElement
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("devidp: SP metadata: no root element: %w", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			root = se
			break
		}
	}
	var entities []mdEntity
	switch root.Name {
	case xml.Name{Space: nsMD, Local: "EntityDescriptor"}:
		var e mdEntity
		if err := dec.DecodeElement(&e, &root); err != nil {
			return nil, fmt.Errorf("devidp: SP metadata: %w", err)
		}
		entities = append(entities, e)
	case xml.Name{Space: nsMD, Local: "EntitiesDescriptor"}:
		var g mdEntities
		if err := dec.DecodeElement(&g, &root); err != nil {
			return nil, fmt.Errorf("devidp: SP metadata: %w", err)
		}
		var walk func(mdEntities)
		walk = func(g mdEntities) {
			entities = append(entities, g.Entities...)
			for _, sub := range g.Groups {
				walk(sub)
			}
		}
		walk(g)
	default:
		return nil, fmt.Errorf("devidp: SP metadata: the root element is {%s}%s, expected an md:EntityDescriptor or md:EntitiesDescriptor", root.Name.Space, root.Name.Local)
	}
	var sps []SP
	var problems []string
	for _, e := range entities {
		for _, d := range e.SPs {
			if !strings.Contains(d.Protocols, nsSAMLP) {
				continue
			}
			sp, err := spFromMetadata(e.EntityID, d)
			if err != nil {
				problems = append(problems, err.Error())
				continue
			}
			sps = append(sps, sp)
			break
		}
	}
	if len(problems) > 0 {
		return nil, errors.New("devidp: SP metadata: " + strings.Join(problems, "; "))
	}
	if len(sps) == 0 {
		return nil, errors.New("devidp: SP metadata: no SAML 2.0 SPSSODescriptor found")
	}
	return sps, nil
}

func spFromMetadata(entityID string, d mdSP) (SP, error) {
	sp := SP{EntityID: strings.TrimSpace(entityID), WantRequestsSigned: d.AuthnRequestsSigned == "true" || d.AuthnRequestsSigned == "1"}
	type acs struct {
		url        string
		index      int
		def, order int
	}
	var list []acs
	for i, e := range d.ACS {
		if e.Binding != BindingHTTPPOST {
			continue
		}
		idx, err := strconv.Atoi(e.Index)
		if err != nil {
			idx = i
		}
		def := 1 // isDefault="true" first, unmarked next, "false" last
		switch e.IsDefault {
		case "true", "1":
			def = 0
		case "false", "0":
			def = 2
		}
		list = append(list, acs{url: e.Location, index: idx, def: def, order: i})
	}
	if len(list) == 0 {
		return sp, fmt.Errorf("SP %q has no AssertionConsumerService with the HTTP-POST binding", entityID)
	}
	sort.SliceStable(list, func(i, j int) bool {
		if list[i].def != list[j].def {
			return list[i].def < list[j].def
		}
		return list[i].index < list[j].index
	})
	sp.ACSURL = list[0].url
	for _, a := range list[1:] {
		sp.OtherACSURLs = append(sp.OtherACSURLs, a.url)
	}
	for _, binding := range []string{BindingHTTPRedirect, BindingHTTPPOST} {
		i := slices.IndexFunc(d.SLO, func(e mdEndpoint) bool { return e.Binding == binding })
		if i >= 0 {
			sp.SLOURL, sp.SLOBinding, sp.SLOResponseURL = d.SLO[i].Location, binding, d.SLO[i].ResponseLocation
			break
		}
	}
	for _, k := range d.Keys {
		for _, x := range k.KeyInfo.X509Data {
			for _, c := range x.Certificates {
				der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(c), ""))
				if err != nil {
					return sp, fmt.Errorf("SP %q: a certificate is not valid base64: %w", entityID, err)
				}
				cert, err := x509.ParseCertificate(der)
				if err != nil {
					return sp, fmt.Errorf("SP %q: a certificate does not parse: %w", entityID, err)
				}
				if k.Use == "" || k.Use == "signing" {
					sp.SigningCertificates = append(sp.SigningCertificates, cert)
				}
				if (k.Use == "" || k.Use == "encryption") && sp.EncryptionCertificate == nil {
					sp.EncryptionCertificate = cert
				}
			}
		}
	}
	if err := sp.validate(); err != nil {
		return sp, errors.New(strings.TrimPrefix(err.Error(), "devidp: "))
	}
	return sp, nil
}

// TrustSPMetadata trusts the service providers described by SP metadata
// (see ParseSPMetadata), replacing those with the same entity IDs.
func (idp *IdP) TrustSPMetadata(data []byte) error {
	sps, err := ParseSPMetadata(data)
	if err != nil {
		return err
	}
	idp.mu.Lock()
	defer idp.mu.Unlock()
	for _, sp := range sps {
		idp.addSP(sp)
	}
	return nil
}
