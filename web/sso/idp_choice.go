package sso

import (
	"cmp"
	"encoding/base64"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/saml"
	"github.com/lanyard-sso/lanyard/tenantcfg"
	"github.com/lanyard-sso/lanyard/web/internal/ui"
)

// The IdP chooser: a tenant with several IdPs asks the user which one to
// sign in with, and the browser remembers the answer for that tenant.
const (
	// idpParam names the IdP of a login (its entity ID).
	idpParam = "idp"
	// chosenParam marks a choice made on the chooser: it is remembered.
	chosenParam = "chosen"
	// chooseParam shows the chooser even when a choice is remembered: the
	// way to change it.
	chooseParam = "choose_idp"
	// idpCookieName holds the remembered IdP, per tenant (its Path is the
	// tenant's SAML endpoints). Its value is checked against the tenant's
	// IdPs on each use: a stale or planted one only shows the chooser.
	idpCookieName = "lanyard_idp"
	idpCookieTTL  = 365 * 24 * time.Hour
)

// idpChoiceView is the data of the chooser page.
type idpChoiceView struct {
	Title  string
	Tenant string // the tenant's display name
	Action string // the login address the form goes back to
	Hidden []hiddenField
	IdPs   []idpOption
}

type hiddenField struct{ Name, Value string }

// idpOption is one IdP offered: its name for people and its entity ID.
type idpOption struct {
	EntityID   string
	Name       string
	Remembered bool
}

// chooseIdP picks the IdP of an SP-initiated login: the one the request
// names, the only one, or the one this browser chose before for the
// tenant. It returns nil, and answers with the chooser page, when the user
// has to choose; it returns nil without answering when the tenant has no
// IdP. A choice made on the chooser is remembered.
func (d *Deps) chooseIdP(w http.ResponseWriter, r *http.Request, snap *tenantcfg.Snapshot, slug string, passive bool) (*saml.IdentityProvider, bool) {
	q := r.URL.Query()
	if idp := snap.IdP(q.Get(idpParam)); idp != nil {
		if q.Get(chosenParam) == "1" && len(snap.IdPs) > 1 {
			d.rememberIdP(w, slug, idp.EntityID)
		}
		return idp, false
	}
	switch len(snap.IdPs) {
	case 0:
		return nil, false
	case 1:
		return snap.IdPs[0], false
	}
	if passive {
		// A session check runs unseen (in a frame): it cannot ask. It asks
		// the IdP the session came from.
		if idp := snap.IdP(d.sessionIdP(r)); idp != nil {
			return idp, false
		}
		return cmp.Or(snap.IdP(rememberedIdP(r)), snap.IdPs[0]), false
	}
	remembered := snap.IdP(rememberedIdP(r))
	if remembered != nil && q.Get(chooseParam) == "" {
		return remembered, false
	}
	d.renderIdPChooser(w, r, snap, slug, remembered)
	return nil, true
}

// sessionIdP is the IdP of the browser's SSO session, "" when none.
func (d *Deps) sessionIdP(r *http.Request) string {
	id := d.Kit.SessionID(r)
	if id == "" {
		return ""
	}
	sess, err := d.Store.Session(r.Context(), lanyard.HashSessionID(id), d.Kit.Now())
	if err != nil {
		return ""
	}
	return sess.IdPEntityID
}

// rememberedIdP is the entity ID the browser remembers for the tenant of
// the request's path, "" when none (or not readable).
func rememberedIdP(r *http.Request) string {
	c, err := r.Cookie(idpCookieName)
	if err != nil {
		return ""
	}
	id, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil {
		return ""
	}
	return string(id)
}

// rememberIdP keeps the user's choice of IdP for the tenant.
func (d *Deps) rememberIdP(w http.ResponseWriter, slug, entityID string) {
	http.SetCookie(w, &http.Cookie{
		Name:     idpCookieName,
		Value:    base64.RawURLEncoding.EncodeToString([]byte(entityID)),
		Path:     ui.SSOPath(slug),
		MaxAge:   int(idpCookieTTL / time.Second),
		HttpOnly: true,
		Secure:   d.Kit.SecureCookies(),
		SameSite: http.SameSiteLaxMode,
	})
}

// renderIdPChooser asks which IdP to sign in with. The form goes back to
// the same login address with the same parameters, plus the choice.
func (d *Deps) renderIdPChooser(w http.ResponseWriter, r *http.Request, snap *tenantcfg.Snapshot, slug string, remembered *saml.IdentityProvider) {
	v := idpChoiceView{
		Title:  "Choose how to sign in",
		Tenant: cmp.Or(snap.Tenant.DisplayName, slug),
		Action: ui.SSOPath(slug) + "login",
	}
	keep := url.Values{}
	for k, vs := range r.URL.Query() {
		if k == idpParam || k == chosenParam || k == chooseParam {
			continue
		}
		keep[k] = vs
	}
	for _, k := range slices.Sorted(maps.Keys(keep)) {
		for _, val := range keep[k] {
			v.Hidden = append(v.Hidden, hiddenField{Name: k, Value: val})
		}
	}
	v.Hidden = append(v.Hidden, hiddenField{Name: chosenParam, Value: "1"})
	for _, idp := range snap.IdPs {
		v.IdPs = append(v.IdPs, idpOption{EntityID: idp.EntityID, Name: cmp.Or(idp.DisplayName, idp.EntityID), Remembered: idp == remembered})
	}
	w.Header().Set("Cache-Control", "no-store")
	d.Kit.Render(w, r, http.StatusOK, "idp_choose", v)
}
