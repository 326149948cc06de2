package sso

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/saml"
	"github.com/lanyard-sso/lanyard/tenantcfg"
	"github.com/lanyard-sso/lanyard/web/internal/ui"
)

// The HTTP-Artifact binding at the ACS: the IdP sends the browser back with
// a SAMLart (a GET after a redirect, or a POST), and the Response it stands
// for is fetched from the IdP over SOAP, then validated exactly as a posted
// one (saml.ServiceProvider.ValidateArtifact), under the same per-client
// limit and refusal budget.

// reasonArtifactOff refuses an artifact at a tenant that has not turned the
// binding on.
const reasonArtifactOff = "artifact_binding_off"

// responseBinding is the binding a login asks the IdP to answer through:
// HTTP-Artifact when the tenant turned it on and the IdP can resolve
// artifacts, else HTTP-POST.
func responseBinding(sso lanyard.SSOSettings, idp *saml.IdentityProvider) string {
	if sso.ArtifactBinding && idp.ResolvesArtifacts() {
		return saml.BindingHTTPArtifact
	}
	return saml.BindingHTTPPOST
}

// handleSAMLACSGetArtifact is GET /t/{tenant}/saml/acs: a SAMLart in the
// query is an answer through the HTTP-Artifact binding; anything else is a
// bookmark or a reload, answered by handleSAMLACSGet.
func handleSAMLACSGetArtifact(d *Deps) http.Handler {
	artifact := d.requireReadySSO(d.limitClient(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := &ssoAttempt{slug: r.PathValue("tenant"), client: d.Kit.ClientAddress(r), userAgent: r.UserAgent()}
		snap, ok := d.ssoSnapshot(w, r, a)
		if !ok {
			return
		}
		q := r.URL.Query()
		d.acsArtifact(w, r, a, snap, q.Get("SAMLart"), q.Get("RelayState"))
	})))
	page := handleSAMLACSGet(d)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Has("SAMLart") {
			artifact.ServeHTTP(w, r)
			return
		}
		page.ServeHTTP(w, r)
	})
}

// acsArtifact resolves and validates the artifact, then completes the login
// as the HTTP-POST binding does.
func (d *Deps) acsArtifact(w http.ResponseWriter, r *http.Request, a *ssoAttempt, snap *tenantcfg.Snapshot, samlart, relayState string) {
	if !snap.Tenant.SSO.ArtifactBinding {
		d.refuseSSO(w, r, a, ssoRefusal{
			status: http.StatusForbidden, reason: reasonArtifactOff, title: "Sign-in failed",
			detail:  fmt.Sprintf("the IdP answered through the HTTP-Artifact binding (SAMLart), which tenant %q has turned off (turn it on with: lanyard tenant set %s artifact_binding=true, or have the IdP answer with HTTP-POST)", a.slug, a.slug),
			message: "Your identity provider answered in a way this organisation has not enabled.",
			advice:  adviceAdmin,
		})
		return
	}
	art, err := saml.ParseArtifact(samlart)
	if err != nil {
		d.refuseProtocol(w, r, a, err, false)
		return
	}
	var idp *saml.IdentityProvider
	for _, p := range snap.IdPs {
		if art.IssuedBy(p) {
			idp = p
			break
		}
	}
	if idp == nil {
		if len(snap.IdPs) == 0 {
			d.refuseSSO(w, r, a, notConfigured(a.slug, snap.Problems))
			return
		}
		names := make([]string, len(snap.IdPs))
		for i, p := range snap.IdPs {
			names[i] = p.EntityID
		}
		d.refuseProtocol(w, r, a, &saml.Error{Reason: saml.ReasonArtifactInvalid, Got: fmt.Sprintf("%x", art.SourceID), Expected: strings.Join(names, ", "),
			Message: fmt.Sprintf("the artifact's SourceID %x is the SHA-1 of none of the tenant's identity providers (%s)", art.SourceID, strings.Join(names, ", "))}, false)
		return
	}
	a.idp = idp.EntityID
	secret := ui.BindingCookie(r)
	refuse := func(err error) {
		if d.passiveCheckRefused(w, r, a, snap, err, secret) {
			return
		}
		d.refuseProtocol(w, r, a, err, secret != "")
	}
	// The artifact is resolved over the back channel before the login's
	// transaction, which holds no network call (the artifact is marked
	// resolved then: it is single-use whatever the login's outcome); the
	// Response it stands for is consumed (its request taken, its assertion
	// marked used) inside the transaction, as with HTTP-POST.
	verified, err := snap.SP.VerifyArtifact(r.Context(), idp, saml.ArtifactInput{
		Artifact:       art,
		RelayState:     relayState,
		BrowserBinding: tenantcfg.BrowserBinding(secret),
	}, d.SOAP)
	if err != nil {
		refuse(err)
		return
	}
	d.completeACS(w, r, a, snap, idp, verified.Consume, refuse)
}
