package api

import (
	"mime"
	"net/http"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/admin"
	"github.com/lanyard-sso/lanyard/apiv1"
)

// handleIdPList lists a tenant's IdP connections.
func handleIdPList(d Deps) endpoint {
	return jsonCall(d, http.StatusOK, func(r *http.Request, _ none, _ none) (apiv1.IdPList, error) {
		cs, err := d.IdPs.IdPs(r.Context(), r.PathValue("tenant"))
		if err != nil {
			return apiv1.IdPList{}, err
		}
		return apiv1.IdPList{IdPs: listOf(cs, idpConverter(d.Now()))}, nil
	})
}

// idpImportBodies are the two bodies of an IdP import.
var idpImportBodies = []content{
	{mediaType: "application/samlmetadata+xml", description: "the IdP's metadata document (any XML media type is read the same)"},
	jsonContent[apiv1.IdPImportURL](),
}

// handleIdPImport connects an IdP: the body is the metadata XML
// (application/samlmetadata+xml or any XML type), or JSON {"url": ...}.
func handleIdPImport(d Deps) endpoint {
	return uploadCall(d, http.StatusOK, idpImportBodies, func(w http.ResponseWriter, r *http.Request, q apiv1.IdPImportQuery) (apiv1.IdPImport, error) {
		src := admin.IdPSource{EntityID: q.EntityID, LegacySHA1: q.LegacySHA1, LegacyEncryption: q.LegacyEncryption}
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/json" {
			var in apiv1.IdPImportURL
			if err := decodeJSON(w, r, &in); err != nil {
				return apiv1.IdPImport{}, err
			}
			src.URL = in.URL
			if in.EntityID != "" {
				src.EntityID = in.EntityID
			}
		} else {
			var err error
			if src.Metadata, err = readUpload(w, r); err != nil {
				return apiv1.IdPImport{}, err
			}
		}
		c, warnings, err := d.IdPs.ImportIdP(r.Context(), actor(r), r.PathValue("tenant"), src)
		if err != nil {
			return apiv1.IdPImport{}, err
		}
		return apiv1.IdPImport{IdP: toIdP(c, d.Now()), Warnings: orEmpty(warnings)}, nil
	})
}

// handleIdPDelete removes an IdP connection (?entity_id=...).
func handleIdPDelete(d Deps) endpoint {
	return jsonCall(d, http.StatusOK, func(r *http.Request, q apiv1.IdPQuery, _ none) (apiv1.Deleted, error) {
		if err := d.IdPs.DeleteIdP(r.Context(), actor(r), r.PathValue("tenant"), q.EntityID); err != nil {
			return apiv1.Deleted{}, err
		}
		return apiv1.Deleted{Deleted: q.EntityID}, nil
	})
}

// handleIdPRefresh fetches an IdP's metadata from its URL now
// (?entity_id=...).
func handleIdPRefresh(d Deps) endpoint {
	return jsonCall(d, http.StatusOK, func(r *http.Request, q apiv1.IdPQuery, _ none) (apiv1.IdPRefresh, error) {
		c, err := d.IdPs.IdP(r.Context(), r.PathValue("tenant"), q.EntityID)
		if err != nil {
			return apiv1.IdPRefresh{}, err
		}
		res, err := d.IdPs.RefreshIdP(r.Context(), actor(r), c)
		if err != nil {
			return apiv1.IdPRefresh{}, err
		}
		return apiv1.IdPRefresh{IdP: toIdP(res.Conn, d.Now()), Changed: res.Changed, Changes: res.Changes, Warnings: orEmpty(res.Warnings)}, nil
	})
}

// toIdP is an IdP connection as the API shows it, with the certificates'
// expiry warnings as of now.
func toIdP(c lanyard.IdPConnection, now time.Time) apiv1.IdP {
	out := apiv1.IdP{ID: c.ID, EntityID: c.EntityID, SourceURL: c.SourceURL, RefreshedAt: optTime(c.RefreshedAt),
		RefreshError: c.RefreshError, LegacySHA1: c.LegacySHA1, LegacyEncryption: c.LegacyEncryption, Certificates: []apiv1.Certificate{}}
	for _, cert := range admin.DescribeIdP(c).Certificates {
		out.Certificates = append(out.Certificates, apiv1.Certificate{Subject: cert.Subject, NotAfter: cert.NotAfter, Warning: admin.CertificateWarning(cert.NotAfter, now)})
	}
	return out
}

// idpConverter is toIdP for listOf.
func idpConverter(now time.Time) func(lanyard.IdPConnection) apiv1.IdP {
	return func(c lanyard.IdPConnection) apiv1.IdP { return toIdP(c, now) }
}
