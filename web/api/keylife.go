package api

import (
	"context"
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/admin"
	"github.com/lanyard-sso/lanyard/apiv1"
)

// KeyLifeAdmin manages the life of keys and connections: SP key rollover,
// certificates, IdPs configured by hand, the connection doctor.
type KeyLifeAdmin interface {
	SPKeyRollover(ctx context.Context, slug string) (admin.KeyRollover, error)
	AddNextSPKey(ctx context.Context, actor, slug string, use lanyard.KeyUse, material *admin.SPKeyMaterial) (admin.KeyInfo, error)
	SwitchSPKey(ctx context.Context, actor, slug string, use lanyard.KeyUse) (admin.KeyInfo, error)
	RetireSPKey(ctx context.Context, actor, slug string, use lanyard.KeyUse) ([]admin.KeyInfo, error)
	Certificates(ctx context.Context, slug string) ([]admin.HeldCertificate, error)
	AddManualIdP(ctx context.Context, actor, slug string, m admin.ManualIdP) (lanyard.IdPConnection, []string, error)
	Diagnose(ctx context.Context, slug string) (admin.Diagnosis, error)
}

// keyLifeOperations are the calls of this file, appended to operations.
var keyLifeOperations = []operation{
	{pattern: "GET /api/v1/tenants/{tenant}/sp-keys", id: "getSPKeys", scope: read, access: tenant, summary: "The tenant's SP keys with their rollover stage, and who fetched the SP metadata since a next key was published", handle: handleSPKeys},
	{pattern: "POST /api/v1/tenants/{tenant}/sp-keys/next", id: "addNextSPKey", scope: write, access: tenant, summary: "Add the next SP key (generated, or your own PEM or PKCS#12 pair), published beside the current one", handle: handleSPKeyNext},
	{pattern: "POST /api/v1/tenants/{tenant}/sp-keys/switch", id: "switchSPKey", scope: write, access: tenant, summary: "Sign with the next SP key and prefer it for encryption; the previous key still decrypts", handle: handleSPKeySwitch},
	{pattern: "POST /api/v1/tenants/{tenant}/sp-keys/retire", id: "retireSPKey", scope: write, access: tenant, summary: "Withdraw the previous SP keys", handle: handleSPKeyRetire},
	{pattern: "GET /api/v1/tenants/{tenant}/certificates", id: "listCertificates", scope: read, access: tenant, summary: "Every certificate of the tenant (SP keys, IdP signing certificates, metadata pins) with its expiry, soonest first", handle: handleCertificateList},
	{pattern: "POST /api/v1/tenants/{tenant}/idps/manual", id: "addManualIdP", scope: write, access: tenant, summary: "Connect an IdP that publishes no metadata, from its entity ID, URLs and signing certificates", handle: handleManualIdP},
	{pattern: "GET /api/v1/tenants/{tenant}/doctor", id: "diagnoseTenant", scope: read, access: tenant, summary: "The connection doctor: what is wrong with the tenant's IdP connections and last logins, and what to change", handle: handleDoctor},
}

func init() { operations = append(operations, keyLifeOperations...) }

func toSPKey(k admin.KeyInfo) apiv1.SPKey {
	return apiv1.SPKey{ID: k.ID, Use: string(k.Use), Stage: k.Stage, Subject: k.Subject, Fingerprint: k.Fingerprint, NotAfter: k.NotAfter, CreatedAt: k.CreatedAt, Problem: k.Problem}
}

func toFetches(fs []lanyard.MetadataFetch) []apiv1.MetadataFetch {
	out := []apiv1.MetadataFetch{}
	for _, f := range fs {
		out = append(out, apiv1.MetadataFetch{Requester: f.Requester, UserAgent: f.UserAgent, FirstAt: f.FirstAt, LastAt: f.LastAt, Count: f.Count})
	}
	return out
}

func handleSPKeys(d Deps) endpoint {
	return jsonCall(d, http.StatusOK, func(r *http.Request, _ none, _ none) (apiv1.SPKeys, error) {
		ro, err := d.KeyLife.SPKeyRollover(r.Context(), r.PathValue("tenant"))
		if err != nil {
			return apiv1.SPKeys{}, err
		}
		out := apiv1.SPKeys{Keys: []apiv1.SPKey{}, NextSince: optTime(ro.NextSince), FetchedSince: toFetches(ro.FetchedSince), FetchedBefore: toFetches(ro.FetchedBefore)}
		for _, k := range ro.Keys {
			out.Keys = append(out.Keys, toSPKey(k))
		}
		return out, nil
	})
}

func handleSPKeyNext(d Deps) endpoint {
	return jsonCall(d, http.StatusOK, func(r *http.Request, q apiv1.SPKeyQuery, in apiv1.SPKeyNext) (apiv1.SPKey, error) {
		var material *admin.SPKeyMaterial
		if in.KeyPEM != "" || in.CertificatePEM != "" || in.PKCS12Base64 != "" {
			m := admin.SPKeyMaterial{KeyPEM: []byte(in.KeyPEM), CertificatePEM: []byte(in.CertificatePEM), Password: in.Password}
			if in.PKCS12Base64 != "" {
				var err error
				if m.PKCS12, err = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(in.PKCS12Base64), "")); err != nil {
					return apiv1.SPKey{}, lanyard.Errorf(lanyard.KindInvalid, "pkcs12_base64 is not base64: encode the .p12 file with base64")
				}
			}
			material = &m
		}
		k, err := d.KeyLife.AddNextSPKey(r.Context(), actor(r), r.PathValue("tenant"), lanyard.KeyUse(q.Use), material)
		return toSPKey(k), err
	})
}

func handleSPKeySwitch(d Deps) endpoint {
	return jsonCall(d, http.StatusOK, func(r *http.Request, q apiv1.SPKeyQuery, _ none) (apiv1.SPKey, error) {
		k, err := d.KeyLife.SwitchSPKey(r.Context(), actor(r), r.PathValue("tenant"), lanyard.KeyUse(q.Use))
		return toSPKey(k), err
	})
}

func handleSPKeyRetire(d Deps) endpoint {
	return jsonCall(d, http.StatusOK, func(r *http.Request, q apiv1.SPKeyQuery, _ none) (apiv1.SPKeyRetired, error) {
		ks, err := d.KeyLife.RetireSPKey(r.Context(), actor(r), r.PathValue("tenant"), lanyard.KeyUse(q.Use))
		out := apiv1.SPKeyRetired{Retired: []apiv1.SPKey{}}
		for _, k := range ks {
			out.Retired = append(out.Retired, toSPKey(k))
		}
		return out, err
	})
}

func handleCertificateList(d Deps) endpoint {
	return jsonCall(d, http.StatusOK, func(r *http.Request, _ none, _ none) (apiv1.CertificateList, error) {
		certs, err := d.KeyLife.Certificates(r.Context(), r.PathValue("tenant"))
		if err != nil {
			return apiv1.CertificateList{}, err
		}
		now := d.Now()
		out := apiv1.CertificateList{Certificates: []apiv1.HeldCertificate{}}
		for _, c := range certs {
			out.Certificates = append(out.Certificates, apiv1.HeldCertificate{Tenant: c.Tenant, IdP: c.IdP, Use: c.Use, Stage: c.Stage, Subject: c.Subject,
				Fingerprint: c.Fingerprint, NotAfter: c.NotAfter, Warning: c.Warning(now), Urgent: c.Warning(now) != "" && c.Urgent(now)})
		}
		return out, nil
	})
}

func handleManualIdP(d Deps) endpoint {
	return jsonCall(d, http.StatusOK, func(r *http.Request, _ none, in apiv1.ManualIdP) (apiv1.IdPImport, error) {
		c, warnings, err := d.KeyLife.AddManualIdP(r.Context(), actor(r), r.PathValue("tenant"), admin.ManualIdP{
			EntityID: in.EntityID, SSOURL: in.SSOURL, SSOBinding: in.SSOBinding, SLOURL: in.SLOURL,
			SigningCertsPEM: []byte(strings.Join(in.SigningCertificates, "\n")), LegacySHA1: in.LegacySHA1,
		})
		if err != nil {
			return apiv1.IdPImport{}, err
		}
		return apiv1.IdPImport{IdP: toIdP(c, d.Now()), Warnings: orEmpty(warnings)}, nil
	})
}

func handleDoctor(d Deps) endpoint {
	return jsonCall(d, http.StatusOK, func(r *http.Request, _ none, _ none) (apiv1.Diagnosis, error) {
		diag, err := d.KeyLife.Diagnose(r.Context(), r.PathValue("tenant"))
		if err != nil {
			return apiv1.Diagnosis{}, err
		}
		return toDiagnosis(diag), nil
	})
}

func toDiagnosis(diag admin.Diagnosis) apiv1.Diagnosis {
	out := apiv1.Diagnosis{Tenant: diag.Tenant, Healthy: diag.Healthy(), Summary: diag.Summary(), Logins: diag.Logins, Refusals: diag.Refusals, Findings: []apiv1.Finding{}}
	for _, f := range diag.Findings {
		out.Findings = append(out.Findings, apiv1.Finding{Check: f.Check, Severity: f.Severity, IdP: f.IdP, Summary: f.Summary, Evidence: f.Evidence, Fix: f.Fix})
	}
	return out
}
