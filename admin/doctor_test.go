package admin

import (
	"strings"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
)

// Fixtures: the observations and traces Lanyard keeps of logins, shaped
// like what each named IdP sends (claim names and formats from their
// documentation; the values are made up).

const (
	entraIssuer = "https://sts.windows.net/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/"
	adfsIssuer  = "http://adfs.example.org/adfs/services/trust"
	sspIssuer   = "https://idp.example.org/simplesaml/saml2/idp/metadata.php"
	testACS     = "https://sso.example.com/t/acme/saml/acs"
)

func loginEvent(idp string, detail map[string]string) lanyard.AuditEvent {
	d := map[string]string{"idp": idp}
	for k, v := range detail {
		d[k] = v
	}
	return lanyard.AuditEvent{Action: "sso.login", Outcome: lanyard.OutcomeSuccess, Detail: d}
}

// healthyInput is a tenant whose last logins went well.
func healthyInput(now time.Time) doctorInput {
	return doctorInput{
		tenant: lanyard.Tenant{Slug: "acme"},
		conns:  []lanyard.IdPConnection{{EntityID: sspIssuer}},
		logins: []lanyard.AuditEvent{loginEvent(sspIssuer, map[string]string{
			"attributes": "uid|mail|givenName|sn|groups", "clock_offset_s": "1", "assertion_signed": "true",
			"signature_method": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
			"nameid_format":    "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
		})},
		certs:  []HeldCertificate{{Tenant: "acme", Use: UseSPSigning, Stage: StageCurrent, NotAfter: now.AddDate(5, 0, 0)}},
		acsURL: testACS,
		now:    now,
	}
}

func TestDoctorChecks(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	entraGroups := "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups"
	cases := []struct {
		name   string
		change func(in *doctorInput)
		check  string
		want   []string // in Summary, Evidence or Fix
	}{
		{"SHA-1 from a legacy IdP (ADFS with SHA-1 on the relying party)", func(in *doctorInput) {
			in.conns = []lanyard.IdPConnection{{EntityID: adfsIssuer, LegacySHA1: true}}
			in.logins = []lanyard.AuditEvent{loginEvent(adfsIssuer, map[string]string{"signature_method": "http://www.w3.org/2000/09/xmldsig#rsa-sha1"})}
		}, CheckSHA1, []string{"RSA-SHA256", "Secure hash algorithm SHA-256", "without --legacy-sha1", "1 of the last logins"}},
		{"SHA-1 refused", func(in *doctorInput) {
			in.traces = []lanyard.LoginTrace{{Reason: "sha1_refused"}}
		}, CheckSHA1, []string{"refused", "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"}},
		{"unsigned assertion (Entra ID signing the response only)", func(in *doctorInput) {
			in.logins[0].Detail["assertion_signed"] = "false"
		}, CheckUnsignedAssertion, []string{"Sign SAML response and assertion", "1 of 1"}},
		{"unsigned LogoutResponse", func(in *doctorInput) {
			in.logouts = []lanyard.AuditEvent{{Action: "sso.logout", Outcome: lanyard.OutcomeFailure, Reason: "unsigned"}}
		}, CheckUnsignedLogout, []string{"'sign.logout' => true"}},
		{"IdP certificate expiring in 5 days", func(in *doctorInput) {
			in.certs = append(in.certs, HeldCertificate{Tenant: "acme", IdP: sspIssuer, Use: UseIdPSigning, Fingerprint: "AA:BB", NotAfter: now.Add(5 * 24 * time.Hour)})
		}, CheckCertExpiry, []string{"IdP side:", "expires in 5 days", "AA:BB"}},
		{"Lanyard certificate expiring in 20 days", func(in *doctorInput) {
			in.certs[0].NotAfter = now.Add(20 * 24 * time.Hour)
		}, CheckCertExpiry, []string{"Lanyard side:", "lanyard sp-key next --tenant acme --use signing"}},
		{"next key not fetched", func(in *doctorInput) {
			in.rollover = KeyRollover{NextSince: now.Add(-48 * time.Hour), FetchedBefore: []lanyard.MetadataFetch{{Requester: "198.51.100.7", UserAgent: "Okta"}}}
		}, CheckNextKeyNotSeen, []string{"https://sso.example.com/t/acme/saml/metadata", "198.51.100.7 (Okta)", "do not run lanyard sp-key switch"}},
		{"old encryption key still in use after a switch", func(in *doctorInput) {
			in.rollover = KeyRollover{Keys: []KeyInfo{{ID: 9, Use: lanyard.KeyEncryption, Stage: StageCurrent, Fingerprint: "NEW"}, {ID: 4, Use: lanyard.KeyEncryption, Stage: StagePrevious, Fingerprint: "OLD"}}}
			in.logins = []lanyard.AuditEvent{loginEvent(sspIssuer, map[string]string{"encrypted_to": "OLD"}), loginEvent(sspIssuer, map[string]string{"encrypted_to": "NEW"})}
		}, CheckOldKeyInUse, []string{"key 4 (SHA-256 OLD)", "do not run lanyard sp-key retire --tenant acme --use encryption"}},
		{"mapped attribute under another name (ADFS claim URI)", func(in *doctorInput) {
			in.tenant.SSO.Attributes.Email = []string{"mail"}
			in.logins = []lanyard.AuditEvent{loginEvent(sspIssuer, map[string]string{"attributes": "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress|http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"})}
		}, CheckAttributeMissing, []string{"lanyard tenant set acme 'attr.email=http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress'"}},
		{"mapped attribute never arriving", func(in *doctorInput) {
			in.tenant.SSO.Attributes.FirstName = []string{"prenom"}
			in.logins[0].Detail["attributes"] = "uid|mail"
		}, CheckAttributeMissing, []string{"never arrives", "release the attribute prenom"}},
		{"Entra ID group GUIDs", func(in *doctorInput) {
			in.conns = []lanyard.IdPConnection{{EntityID: entraIssuer}}
			in.logins = []lanyard.AuditEvent{loginEvent(entraIssuer, map[string]string{"attributes": entraGroups, "guid_attributes": entraGroups})}
		}, CheckEntraGroupGUIDs, []string{"Cloud-only group display names", "group_roles.<GUID>=ROLE"}},
		{"Entra ID group overage", func(in *doctorInput) {
			in.conns = []lanyard.IdPConnection{{EntityID: entraIssuer}}
			in.logins = []lanyard.AuditEvent{loginEvent(entraIssuer, map[string]string{"attributes": "http://schemas.microsoft.com/claims/groups.link"})}
		}, CheckEntraOverage, []string{"more than 150 groups", "Groups assigned to the application"}},
		{"Microsoft claim names nobody maps", func(in *doctorInput) {
			in.conns = []lanyard.IdPConnection{{EntityID: entraIssuer}}
			in.logins = []lanyard.AuditEvent{loginEvent(entraIssuer, map[string]string{"attributes": "http://schemas.microsoft.com/identity/claims/displayname|http://schemas.microsoft.com/ws/2008/06/identity/claims/groupsid"})}
		}, CheckMicrosoftClaims, []string{"http://schemas.microsoft.com/identity/claims/displayname", "'attr.groups=http://schemas.microsoft.com/ws/2008/06/identity/claims/groupsid'"}},
		{"ADFS transient NameID", func(in *doctorInput) {
			in.conns = []lanyard.IdPConnection{{EntityID: adfsIssuer}}
			in.logins = []lanyard.AuditEvent{loginEvent(adfsIssuer, map[string]string{"nameid_format": "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"})}
		}, CheckTransientNameID, []string{"Persistent Identifier", "name_id_format=persistent"}},
		{"clock difference from recent logins", func(in *doctorInput) {
			in.logins[0].Detail["clock_offset_s"] = "-95"
		}, CheckClock, []string{"1m35s behind", "NTP", "clock_skew=155s"}},
		{"clock beyond the skew from a refused login", func(in *doctorInput) {
			in.traces = []lanyard.LoginTrace{{Reason: "not_yet_valid", ClockSkew: 7 * time.Minute}}
		}, CheckClock, []string{"7m0s ahead of", "allowed: 3m0s"}},
		{"metadata URL failing", func(in *doctorInput) {
			in.conns[0].SourceURL = "https://idp.example.org/metadata"
			in.conns[0].RefreshError = "GET https://idp.example.org/metadata: 503 Service Unavailable"
		}, CheckMetadataFailing, []string{"503", "lanyard idp refresh --tenant acme"}},
		{"Destination behind a TLS proxy", func(in *doctorInput) {
			in.traces = []lanyard.LoginTrace{{Reason: "destination_mismatch", Document: `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_1" Destination="http://sso.example.com/t/acme/saml/acs">`}}
		}, CheckDestination, []string{"http://sso.example.com/t/acme/saml/acs", "set the ACS (Reply) URL to " + testACS, "public https:// URL"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := healthyInput(now)
			tc.change(&in)
			d := in.diagnose()
			var got *Finding
			for i := range d.Findings {
				if d.Findings[i].Check == tc.check {
					got = &d.Findings[i]
				}
			}
			if got == nil {
				t.Fatalf("no %s finding; findings: %+v", tc.check, d.Findings)
			}
			text := got.Summary + "\n" + got.Evidence + "\n" + got.Fix
			for _, w := range tc.want {
				if !strings.Contains(text, w) {
					t.Errorf("finding lacks %q:\n%s", w, text)
				}
			}
			if !strings.Contains(got.Fix, "side") {
				t.Errorf("the fix does not say which side: %s", got.Fix)
			}
			if d.Healthy() {
				t.Error("diagnosis healthy with a finding")
			}
		})
	}
	t.Run("healthy", func(t *testing.T) {
		d := healthyInput(now).diagnose()
		if !d.Healthy() || !strings.Contains(d.Summary(), "tenant acme is healthy") {
			t.Fatalf("healthy tenant: %s %+v", d.Summary(), d.Findings)
		}
	})
}
