package admin

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/login"
)

// The connection doctor: checks a tenant's configuration and its last
// logins (the observations kept in sso.login audit events, the traces of
// refused logins, refused logouts) against what is known to go wrong with
// SAML connections, and says for each finding what to change on which
// side, with the exact value.

// Finding severities.
const (
	SeverityProblem = "problem" // logins fail, or will
	SeverityWarning = "warning" // works, but weak or about to break
)

// Check identifiers, stable: scripts and tests match them.
const (
	CheckSHA1              = "sha1"
	CheckUnsignedAssertion = "unsigned_assertion"
	CheckUnsignedLogout    = "unsigned_logout"
	CheckCertExpiry        = "certificate_expiry"
	CheckNextKeyNotSeen    = "next_key_not_fetched"
	CheckOldKeyInUse       = "old_key_in_use"
	CheckAttributeMissing  = "attribute_missing"
	CheckEntraGroupGUIDs   = "entra_group_guids"
	CheckEntraOverage      = "entra_group_overage"
	CheckMicrosoftClaims   = "microsoft_claim_names"
	CheckTransientNameID   = "transient_nameid"
	CheckClock             = "clock_difference"
	CheckMetadataFailing   = "metadata_url_failing"
	CheckDestination       = "destination_mismatch"
)

// Finding is one thing the doctor found.
type Finding struct {
	Check    string
	Severity string
	IdP      string // entity ID, when about one IdP
	// Summary says what is wrong; Evidence what it was seen in; Fix what
	// to change, on which side (the IdP's or Lanyard's), with the value.
	Summary  string
	Evidence string
	Fix      string
}

// Diagnosis is the doctor's report on a tenant.
type Diagnosis struct {
	Tenant   string
	Findings []Finding
	// Logins and Refusals are how many recent logins and refused logins
	// were examined.
	Logins, Refusals int
}

// Healthy reports whether nothing was found.
func (d Diagnosis) Healthy() bool { return len(d.Findings) == 0 }

// Summary is one line on the whole diagnosis.
func (d Diagnosis) Summary() string {
	if d.Healthy() {
		return fmt.Sprintf("tenant %s is healthy: no problem found in its configuration, %d recent logins and %d refused logins", d.Tenant, d.Logins, d.Refusals)
	}
	return fmt.Sprintf("tenant %s: %d finding(s) in its configuration, %d recent logins and %d refused logins", d.Tenant, len(d.Findings), d.Logins, d.Refusals)
}

// doctorWindow is how many recent logins, refusals and logouts the doctor
// reads.
const doctorWindow = 50

// Microsoft's claim names (Entra ID, ADFS).
const (
	msClaimPrefix   = "http://schemas.microsoft.com/"
	entraGroupsLink = "http://schemas.microsoft.com/claims/groups.link"
	transientFormat = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
	// clockNotice is the clock difference worth a warning even when within
	// the allowed skew.
	clockNotice = 30 * time.Second
)

var (
	destinationAttr = regexp.MustCompile(`<(?:[A-Za-z_][\w.-]*:)?Response\b[^>]*?\sDestination="([^"]*)"`)
	recipientAttr   = regexp.MustCompile(`\sRecipient="([^"]*)"`)
)

// Diagnose runs every check on the tenant with the slug.
func (s *Service) Diagnose(ctx context.Context, slug string) (Diagnosis, error) {
	t, err := s.Tenant(ctx, slug)
	if err != nil {
		return Diagnosis{}, err
	}
	t.SSO.Normalize()
	conns, err := s.store.IdPs(ctx, t.ID)
	if err != nil {
		return Diagnosis{}, fmt.Errorf("doctor %s: IdPs: %w", t.Slug, err)
	}
	logins, err := s.store.AuditEvents(ctx, lanyard.AuditFilter{TenantID: t.ID, Action: "sso.login", Outcome: lanyard.OutcomeSuccess, Limit: doctorWindow})
	if err != nil {
		return Diagnosis{}, fmt.Errorf("doctor %s: logins: %w", t.Slug, err)
	}
	logouts, err := s.store.AuditEvents(ctx, lanyard.AuditFilter{TenantID: t.ID, Action: "sso.logout", Outcome: lanyard.OutcomeFailure, Limit: doctorWindow})
	if err != nil {
		return Diagnosis{}, fmt.Errorf("doctor %s: logouts: %w", t.Slug, err)
	}
	traces, err := s.store.LoginTraces(ctx, lanyard.LoginTraceFilter{TenantID: t.ID, Limit: doctorWindow})
	if err != nil {
		return Diagnosis{}, fmt.Errorf("doctor %s: refused logins: %w", t.Slug, err)
	}
	certs, err := s.tenantCertificates(ctx, t)
	if err != nil {
		return Diagnosis{}, err
	}
	rollover, err := s.SPKeyRollover(ctx, t.Slug)
	if err != nil {
		return Diagnosis{}, err
	}
	in := doctorInput{
		tenant: t, conns: conns, logins: logins, logouts: logouts, traces: traces, certs: certs, rollover: rollover,
		acsURL: s.Endpoints(t).ACSURL, now: s.now(),
	}
	return in.diagnose(), nil
}

// doctorInput is everything the checks read: they are pure functions of
// it, so that fixtures test them.
type doctorInput struct {
	tenant   lanyard.Tenant
	conns    []lanyard.IdPConnection
	logins   []lanyard.AuditEvent // successful sso.login events, newest first
	logouts  []lanyard.AuditEvent // refused sso.logout events
	traces   []lanyard.LoginTrace // refused logins, newest first
	certs    []HeldCertificate
	rollover KeyRollover
	acsURL   string
	now      time.Time
}

func (in doctorInput) diagnose() Diagnosis {
	d := Diagnosis{Tenant: in.tenant.Slug, Logins: len(in.logins)}
	for _, tr := range in.traces {
		if !strings.HasPrefix(tr.Reason, "sso_test_") {
			d.Refusals++
		}
	}
	for _, check := range []func() []Finding{
		in.checkSHA1, in.checkUnsignedAssertion, in.checkUnsignedLogout, in.checkCertificates, in.checkNextKey, in.checkOldKey,
		in.checkAttributes, in.checkEntra, in.checkTransient, in.checkClock, in.checkMetadataURL, in.checkDestination,
	} {
		d.Findings = append(d.Findings, check()...)
	}
	return d
}

func (in doctorInput) slug() string { return in.tenant.Slug }

// loginsOf returns the recent logins through the IdP (all when idp is "").
func (in doctorInput) loginsOf(idp string) []lanyard.AuditEvent {
	var out []lanyard.AuditEvent
	for _, e := range in.logins {
		if idp == "" || e.Detail["idp"] == idp {
			out = append(out, e)
		}
	}
	return out
}

func (in doctorInput) checkSHA1() []Finding {
	var out []Finding
	for _, c := range in.conns {
		seen := 0
		for _, e := range in.loginsOf(c.EntityID) {
			if strings.HasSuffix(e.Detail["signature_method"], "#rsa-sha1") {
				seen++
			}
		}
		if !c.LegacySHA1 && seen == 0 {
			continue
		}
		out = append(out, Finding{Check: CheckSHA1, Severity: SeverityWarning, IdP: c.EntityID,
			Summary:  "the IdP signs with SHA-1, which is accepted only because the connection is marked legacy",
			Evidence: fmt.Sprintf("legacy SHA-1 on; %d of the last logins signed with rsa-sha1", seen),
			Fix: "IdP side: set the signature algorithm to RSA-SHA256 (http://www.w3.org/2001/04/xmldsig-more#rsa-sha256; ADFS: relying party trust > Advanced > Secure hash algorithm SHA-256). " +
				fmt.Sprintf("Lanyard side, afterwards: import the IdP again without --legacy-sha1 (lanyard idp import --tenant %s --metadata ...)", in.slug())})
	}
	if n := in.tracesWith("sha1_refused"); n > 0 {
		out = append(out, Finding{Check: CheckSHA1, Severity: SeverityProblem,
			Summary:  "logins are refused because the IdP signs with SHA-1",
			Evidence: fmt.Sprintf("%d refused logins with reason sha1_refused", n),
			Fix:      "IdP side: set the signature and digest algorithms to SHA-256 (http://www.w3.org/2001/04/xmldsig-more#rsa-sha256, http://www.w3.org/2001/04/xmlenc#sha256). Only if the IdP cannot: lanyard idp import --tenant " + in.slug() + " --metadata ... --legacy-sha1"})
	}
	return out
}

func (in doctorInput) tracesWith(reasons ...string) int {
	n := 0
	for _, tr := range in.traces {
		if slices.Contains(reasons, tr.Reason) {
			n++
		}
	}
	return n
}

func (in doctorInput) checkUnsignedAssertion() []Finding {
	var out []Finding
	for _, c := range in.conns {
		unsigned, known := 0, 0
		for _, e := range in.loginsOf(c.EntityID) {
			switch e.Detail["assertion_signed"] {
			case "false":
				unsigned++
				known++
			case "true":
				known++
			}
		}
		if unsigned == 0 {
			continue
		}
		out = append(out, Finding{Check: CheckUnsignedAssertion, Severity: SeverityWarning, IdP: c.EntityID,
			Summary:  "the IdP signs the Response but not the Assertion: the assertion cannot be kept or forwarded as signed evidence, and some SPs refuse it",
			Evidence: fmt.Sprintf("%d of %d recent logins carried an unsigned assertion", unsigned, known),
			Fix:      "IdP side: sign the assertion too (Entra ID: SAML signing certificate > Signing option: Sign SAML response and assertion; ADFS: Set-AdfsRelyingPartyTrust -SamlResponseSignature MessageAndAssertion; SimpleSAMLphp: 'saml20.sign.assertion' => true)"})
	}
	if n := in.tracesWith("unsigned"); n > 0 {
		out = append(out, Finding{Check: CheckUnsignedAssertion, Severity: SeverityProblem,
			Summary:  "logins are refused because neither the Response nor the Assertion is signed",
			Evidence: fmt.Sprintf("%d refused logins with reason unsigned", n),
			Fix:      "IdP side: sign the assertion (and the response) with the certificate in its metadata (Entra ID: Sign SAML response and assertion; SimpleSAMLphp: 'saml20.sign.assertion' => true)"})
	}
	return out
}

func (in doctorInput) checkUnsignedLogout() []Finding {
	n := 0
	for _, e := range in.logouts {
		if e.Reason == "unsigned" {
			n++
		}
	}
	if n == 0 {
		return nil
	}
	return []Finding{{Check: CheckUnsignedLogout, Severity: SeverityProblem,
		Summary:  "the IdP's logout messages (LogoutRequest, LogoutResponse) are unsigned and refused: Single Logout does not end sessions",
		Evidence: fmt.Sprintf("%d refused logouts with reason unsigned", n),
		Fix:      "IdP side: sign logout messages (SimpleSAMLphp: 'sign.logout' => true in the hosted IdP; ADFS signs them by default; Shibboleth: signRequests/signResponses for the SLO profile)"}}
}

func (in doctorInput) checkCertificates() []Finding {
	var out []Finding
	for _, c := range in.certs {
		w := c.Warning(in.now)
		if w == "" {
			continue
		}
		sev := SeverityWarning
		if c.Urgent(in.now) {
			sev = SeverityProblem
		}
		out = append(out, Finding{Check: CheckCertExpiry, Severity: sev, IdP: c.IdP, Summary: w,
			Evidence: "valid until " + c.NotAfter.UTC().Format(time.RFC3339), Fix: sideOf(c) + c.Remedy()})
	}
	return out
}

func sideOf(c HeldCertificate) string {
	if c.IdP != "" {
		return "IdP side: "
	}
	return "Lanyard side: "
}

func (in doctorInput) checkNextKey() []Finding {
	r := in.rollover
	if r.NextSince.IsZero() || len(r.FetchedSince) > 0 {
		return nil
	}
	waited := in.now.Sub(r.NextSince)
	if waited < time.Hour {
		return nil // IdPs refresh every few hours at best
	}
	ev := fmt.Sprintf("next key published %s (%s ago); nobody fetched the SP metadata since", r.NextSince.UTC().Format(time.RFC3339), waited.Round(time.Minute))
	if len(r.FetchedBefore) > 0 {
		var who []string
		for _, f := range r.FetchedBefore {
			who = append(who, f.Requester+" ("+f.UserAgent+")")
		}
		ev += "; fetched before: " + strings.Join(who, ", ")
	}
	return []Finding{{Check: CheckNextKeyNotSeen, Severity: SeverityWarning,
		Summary:  "the IdPs have not picked up Lanyard's next key",
		Evidence: ev,
		Fix:      fmt.Sprintf("IdP side: refresh Lanyard's SP metadata (%s) or add the next certificate by hand; do not run lanyard sp-key switch --tenant %s before they have it", strings.TrimSuffix(in.acsURL, "acs")+"metadata", in.slug())}}
}

// checkOldKey finds IdPs whose latest encrypted assertion was encrypted to
// a previous SP key: they have not picked up the key Lanyard switched to,
// and would fail once it is retired.
func (in doctorInput) checkOldKey() []Finding {
	previous := map[string]KeyInfo{}
	for _, k := range in.rollover.Keys {
		if k.Stage == StagePrevious && k.Use == lanyard.KeyEncryption {
			previous[k.Fingerprint] = k
		}
	}
	if len(previous) == 0 {
		return nil
	}
	var out []Finding
	for _, c := range in.conns {
		for _, e := range in.loginsOf(c.EntityID) { // newest first
			fp := e.Detail["encrypted_to"]
			if fp == "" {
				continue
			}
			if k, old := previous[fp]; old {
				out = append(out, Finding{Check: CheckOldKeyInUse, Severity: SeverityWarning, IdP: c.EntityID,
					Summary:  "the IdP still encrypts to Lanyard's previous encryption key: it has not picked up the new one",
					Evidence: fmt.Sprintf("its latest encrypted login (%s) used key %d (SHA-256 %s)", e.Time.UTC().Format(time.RFC3339), k.ID, k.Fingerprint),
					Fix: fmt.Sprintf("IdP side: refresh Lanyard's SP metadata (%s) or replace the SP encryption certificate by hand. Lanyard side: do not run lanyard sp-key retire --tenant %s --use encryption before it has",
						strings.TrimSuffix(in.acsURL, "acs")+"metadata", in.slug())})
			}
			break // only the latest encrypted login says what the IdP uses now
		}
	}
	return out
}

// fieldNames pairs a mapped field with its setting and default names.
type fieldNames struct {
	field, setting string
	mapped         []string
	defaults       []string
}

func (in doctorInput) fields() []fieldNames {
	m := in.tenant.SSO.Attributes
	d := login.DefaultAttributeNames
	return []fieldNames{
		{"login name", "attr.login_id", m.LoginID, d.LoginID},
		{"first name", "attr.firstname", m.FirstName, d.FirstName},
		{"last name", "attr.lastname", m.LastName, d.LastName},
		{"email", "attr.email", m.Email, d.Email},
		{"access", "attr.access", m.Access, d.Access},
		{"groups", "attr.groups", m.Groups, d.Groups},
	}
}

func observedNames(e lanyard.AuditEvent) []string {
	if e.Detail["attributes"] == "" {
		return nil
	}
	return strings.Split(e.Detail["attributes"], "|")
}

func containsFold(list []string, s string) bool {
	return slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(x, s) })
}

func (in doctorInput) checkAttributes() []Finding {
	var out []Finding
	for _, c := range in.conns {
		logins := in.loginsOf(c.EntityID)
		seen := map[string]bool{}
		var order []string
		for _, e := range logins {
			for _, n := range observedNames(e) {
				if !seen[n] {
					seen[n] = true
					order = append(order, n)
				}
			}
		}
		if len(order) == 0 {
			continue // no login observed yet: nothing to compare
		}
		for _, f := range in.fields() {
			if len(f.mapped) == 0 {
				continue // the defaults apply; nothing promised
			}
			if slices.ContainsFunc(order, func(n string) bool { return containsFold(f.mapped, n) }) {
				continue
			}
			finding := Finding{Check: CheckAttributeMissing, Severity: SeverityProblem, IdP: c.EntityID,
				Summary:  fmt.Sprintf("the %s attribute the tenant maps (%s) never arrives", f.field, strings.Join(f.mapped, ", ")),
				Evidence: fmt.Sprintf("%d recent logins sent: %s", len(logins), strings.Join(order, ", "))}
			var candidates []string
			for _, n := range order {
				if containsFold(f.defaults, n) {
					candidates = append(candidates, n)
				}
			}
			if len(candidates) > 0 {
				finding.Summary = fmt.Sprintf("the %s attribute arrives under another name than the tenant maps (%s)", f.field, strings.Join(f.mapped, ", "))
				finding.Fix = fmt.Sprintf("Lanyard side: lanyard tenant set %s '%s=%s'", in.slug(), f.setting, candidates[0])
			} else {
				finding.Fix = fmt.Sprintf("IdP side: release the attribute %s to Lanyard (or tell Lanyard the name it has: lanyard tenant set %s '%s=NAME')", f.mapped[0], in.slug(), f.setting)
			}
			out = append(out, finding)
		}
	}
	return out
}

func (in doctorInput) checkEntra() []Finding {
	var out []Finding
	for _, c := range in.conns {
		var guidAttrs, msNames []string
		overage := 0
		for _, e := range in.loginsOf(c.EntityID) {
			for _, n := range strings.Split(e.Detail["guid_attributes"], "|") {
				if n != "" && !slices.Contains(guidAttrs, n) {
					guidAttrs = append(guidAttrs, n)
				}
			}
			for _, n := range observedNames(e) {
				if strings.EqualFold(n, entraGroupsLink) {
					overage++
				}
				if strings.HasPrefix(strings.ToLower(n), msClaimPrefix) && !slices.Contains(msNames, n) {
					msNames = append(msNames, n)
				}
			}
		}
		groupNames := in.tenant.SSO.Attributes.Groups
		if len(groupNames) == 0 {
			groupNames = login.DefaultAttributeNames.Groups
		}
		for _, n := range guidAttrs {
			if !containsFold(groupNames, n) {
				continue
			}
			out = append(out, Finding{Check: CheckEntraGroupGUIDs, Severity: SeverityWarning, IdP: c.EntityID,
				Summary:  "the IdP sends group object IDs (GUIDs), not group names: group_roles mappings by name never match",
				Evidence: "attribute " + n + " carries only GUIDs",
				Fix: "IdP side (Entra ID): Enterprise application > Single sign-on > Attributes & Claims > the groups claim > Source attribute: sAMAccountName (synchronised groups) or 'Cloud-only group display names'. " +
					fmt.Sprintf("Or Lanyard side: map the GUIDs themselves: lanyard tenant set %s 'group_roles.<GUID>=ROLE'", in.slug())})
		}
		if overage > 0 {
			out = append(out, Finding{Check: CheckEntraOverage, Severity: SeverityProblem, IdP: c.EntityID,
				Summary:  "Entra ID left the groups out (group overage: the user is in more than 150 groups) and sent a link to Microsoft Graph instead; Lanyard does not call Graph, so these users get no group roles",
				Evidence: fmt.Sprintf("%d recent logins carried %s", overage, entraGroupsLink),
				Fix:      "IdP side (Entra ID): Attributes & Claims > groups claim > 'Groups assigned to the application', and assign to the application only the groups that map to roles"})
		}
		var unmapped []string
		for _, n := range msNames {
			if n == entraGroupsLink {
				continue
			}
			mapped := false
			for _, f := range in.fields() {
				names := f.mapped
				if len(names) == 0 {
					names = f.defaults
				}
				mapped = mapped || containsFold(names, n)
			}
			if !mapped {
				unmapped = append(unmapped, n)
			}
		}
		if len(unmapped) > 0 {
			fix := "Lanyard side: map the claims you need, e.g. "
			var sets []string
			for _, n := range unmapped {
				if s := suggestSetting(n); s != "" {
					sets = append(sets, fmt.Sprintf("lanyard tenant set %s '%s=%s'", in.slug(), s, n))
				}
			}
			if len(sets) == 0 {
				fix = "Lanyard side: none needed unless you want these claims; or IdP side: send them under the friendly names (email, givenName, surname, groups)"
			} else {
				fix += strings.Join(sets, "; ")
			}
			out = append(out, Finding{Check: CheckMicrosoftClaims, Severity: SeverityWarning, IdP: c.EntityID,
				Summary:  "the IdP sends Microsoft claim names (http://schemas.microsoft.com/...) that no mapping reads",
				Evidence: strings.Join(unmapped, ", "),
				Fix:      fix})
		}
	}
	return out
}

// suggestSetting guesses the setting a claim name belongs to, "" when
// nothing fits.
func suggestSetting(name string) string {
	l := strings.ToLower(name)
	switch {
	case strings.HasSuffix(l, "/groups") || strings.HasSuffix(l, "/role") || strings.HasSuffix(l, "/groupsid"):
		return "attr.groups"
	case strings.HasSuffix(l, "emailaddress") || strings.HasSuffix(l, "/email"):
		return "attr.email"
	case strings.HasSuffix(l, "/givenname"):
		return "attr.firstname"
	case strings.HasSuffix(l, "/surname"):
		return "attr.lastname"
	case strings.HasSuffix(l, "/upn") || strings.HasSuffix(l, "/windowsaccountname") || strings.HasSuffix(l, "/name"):
		return "attr.login_id"
	}
	return ""
}

func (in doctorInput) checkTransient() []Finding {
	var out []Finding
	for _, c := range in.conns {
		n := 0
		for _, e := range in.loginsOf(c.EntityID) {
			if e.Detail["nameid_format"] == transientFormat {
				n++
			}
		}
		if n == 0 {
			continue
		}
		out = append(out, Finding{Check: CheckTransientNameID, Severity: SeverityWarning, IdP: c.EntityID,
			Summary:  "the IdP sends a transient NameID (a new value at every login, as ADFS does by default): links to accounts made from it do not survive, and accounts are found only by their attributes",
			Evidence: fmt.Sprintf("%d recent logins with NameID format %s", n, transientFormat),
			Fix: "IdP side (ADFS): add an issuance transform rule 'Transform an Incoming Claim': UPN (or objectGUID) to Name ID, format Persistent Identifier (urn:oasis:names:tc:SAML:2.0:nameid-format:persistent). " +
				fmt.Sprintf("Lanyard side: ask for it: lanyard tenant set %s name_id_format=persistent", in.slug())})
	}
	return out
}

func (in doctorInput) checkClock() []Finding {
	var offsets []time.Duration
	for _, e := range in.logins {
		if v, err := strconv.ParseInt(e.Detail["clock_offset_s"], 10, 64); err == nil {
			offsets = append(offsets, time.Duration(v)*time.Second)
		}
	}
	for _, tr := range in.traces {
		if tr.ClockSkew != 0 {
			offsets = append(offsets, tr.ClockSkew)
		}
	}
	if len(offsets) == 0 {
		return nil
	}
	worst := time.Duration(0)
	for _, o := range offsets {
		if o.Abs() > worst.Abs() {
			worst = o
		}
	}
	skew := in.tenant.SSO.Skew()
	if worst.Abs() < clockNotice && in.tracesWith("not_yet_valid", "expired") == 0 {
		return nil
	}
	dir := "ahead of"
	if worst < 0 {
		dir = "behind"
	}
	sev := SeverityWarning
	if worst.Abs() >= skew {
		sev = SeverityProblem
	}
	return []Finding{{Check: CheckClock, Severity: sev,
		Summary:  fmt.Sprintf("the clocks disagree: the IdP's clock is up to %s %s Lanyard's (allowed: %s)", worst.Abs(), dir, skew),
		Evidence: fmt.Sprintf("measured from %d recent messages (IssueInstant against Lanyard's clock)", len(offsets)),
		Fix: "IdP side and Lanyard side: synchronise both hosts with NTP (chrony, systemd-timesyncd; Windows: w32tm /resync). " +
			fmt.Sprintf("Meanwhile, Lanyard side: lanyard tenant set %s clock_skew=%ds", in.slug(), int(worst.Abs().Seconds())+60)}}
}

func (in doctorInput) checkMetadataURL() []Finding {
	var out []Finding
	for _, c := range in.conns {
		if c.SourceURL == "" || c.RefreshError == "" {
			continue
		}
		ev := "last refresh failed: " + c.RefreshError
		if !c.RefreshedAt.IsZero() {
			ev += "; last good copy from " + c.RefreshedAt.UTC().Format(time.RFC3339)
		}
		out = append(out, Finding{Check: CheckMetadataFailing, Severity: SeverityWarning, IdP: c.EntityID,
			Summary:  "the IdP's metadata URL " + c.SourceURL + " is failing: Lanyard keeps the last good copy, and misses certificate changes",
			Evidence: ev,
			Fix:      fmt.Sprintf("IdP side: check that %s answers from Lanyard's host; Lanyard side: once fixed, lanyard idp refresh --tenant %s %s (or import the metadata as a file)", c.SourceURL, in.slug(), c.EntityID)})
	}
	return out
}

func (in doctorInput) checkDestination() []Finding {
	seen := map[string]int{}
	var order []string
	for _, tr := range in.traces {
		if tr.Reason != "destination_mismatch" && tr.Reason != "recipient_mismatch" {
			continue
		}
		var got string
		if m := destinationAttr.FindStringSubmatch(tr.Document); m != nil && m[1] != in.acsURL {
			got = m[1]
		} else if m := recipientAttr.FindStringSubmatch(tr.Document); m != nil && m[1] != in.acsURL {
			got = m[1]
		}
		if got == "" {
			continue
		}
		if seen[got] == 0 {
			order = append(order, got)
		}
		seen[got]++
	}
	var out []Finding
	for _, got := range order {
		fix := fmt.Sprintf("IdP side: set the ACS (Reply) URL to %s. ", in.acsURL)
		if strings.HasPrefix(got, "http://") && strings.HasPrefix(in.acsURL, "https://") || strings.HasPrefix(got, "https://") && strings.HasPrefix(in.acsURL, "http://") {
			fix += "The scheme differs: behind a TLS proxy, Lanyard's base_url must be the public https:// URL the browser sees (and the IdP must use it); "
		}
		fix += "If " + got + " is the right public address, Lanyard side: set base_url (lanyard serve --base-url) to its scheme and host."
		out = append(out, Finding{Check: CheckDestination, Severity: SeverityProblem,
			Summary:  "the IdP sends responses to " + got + ", not to Lanyard's ACS URL " + in.acsURL,
			Evidence: fmt.Sprintf("%d refused logins (destination or recipient mismatch)", seen[got]),
			Fix:      fix})
	}
	return out
}
