package admin

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lanyard-sso/lanyard"
)

// Bounds of the SAML tracer.
const (
	// TraceKeepPerTenant is how many traces of refused logins are kept per
	// tenant; older ones are deleted as new ones come.
	TraceKeepPerTenant = 200
	// TraceRetention is how long a trace is kept at most.
	TraceRetention = 7 * 24 * time.Hour
	// maxTraceDocument bounds the decoded message kept in a trace.
	maxTraceDocument = 64 << 10
	// shortenedLength is how many characters of a signature value,
	// certificate or cipher value a trace keeps.
	shortenedLength = 16
)

// secretElements matches the text of the XML-DSig and XML-Enc elements
// whose values a trace shortens: long, useless to read, and (for cipher
// values) not for keeping.
var secretElements = regexp.MustCompile(`(<(?:[A-Za-z_][\w.-]*:)?(?:SignatureValue|X509Certificate|CipherValue|DigestValue)\b[^>]*>)([^<]*)(<)`)

// ShortenSAML returns the SAML document with the values of SignatureValue,
// X509Certificate, CipherValue and DigestValue shortened to their first 16
// characters and the length of the rest, and the whole bounded to 64 KiB.
func ShortenSAML(doc string) string {
	out := secretElements.ReplaceAllStringFunc(doc, func(m string) string {
		parts := secretElements.FindStringSubmatch(m)
		value := strings.Join(strings.Fields(parts[2]), "")
		if utf8.RuneCountInString(value) > shortenedLength {
			value = fmt.Sprintf("%s…(%d more characters)", string([]rune(value)[:shortenedLength]), utf8.RuneCountInString(value)-shortenedLength)
		}
		return parts[1] + value + parts[3]
	})
	if len(out) > maxTraceDocument {
		out = out[:maxTraceDocument] + "\n…(cut at 64 KiB)"
	}
	return out
}

// traceHints gives, per reason code, the usual causes of a refusal and what
// to check. Reason codes are those of the audit trail (packages saml, login
// and web).
var traceHints = map[string]string{
	"expired":                 "The assertion's validity window had passed. Usual causes: the clock of the IdP or of this server drifts (check NTP on both; the measured difference is shown), or the user's browser held the IdP's answer for long (Back button): a response older than the tenant's message_lifetime plus clock_skew is refused even when its window is open. A small drift can be absorbed with the tenant's clock_skew setting.",
	"unknown_condition":       "The assertion's Conditions hold a condition this server does not evaluate (SAML Core 2.5.1 makes the assertion Indeterminate). Configure the IdP application not to add it; only AudienceRestriction, OneTimeUse and ProxyRestriction are understood.",
	"not_yet_valid":           "The assertion is dated in the future: the IdP's clock is ahead of this server's. Check NTP on both; the tenant's clock_skew setting absorbs a small drift.",
	"destination_mismatch":    "The IdP sent the response to another URL than this ACS. Usual cause: Lanyard runs behind a TLS-terminating proxy and its base URL (--base-url) says http:// or another host than the one users reach; the IdP has the public https:// URL. Set --base-url to the public URL and re-send the SP metadata.",
	"recipient_mismatch":      "The assertion's Recipient is not this ACS URL. Usual cause: the base URL behind a TLS-terminating proxy (http vs https, host or port), or an ACS URL typed by hand at the IdP. Compare with the ACS URL on the tenant's SP metadata panel.",
	"audience_mismatch":       "The assertion is meant for another SP entity ID. Usual cause: the IdP application was set up with an older or hand-typed entity ID, or the tenant's entity ID scheme changed. Copy the entity ID from the SP metadata panel into the IdP.",
	"signature_invalid":       "The signature does not verify with the IdP's certificates known here. Usual cause: the IdP rolled over its signing certificate. Refresh or re-import the IdP metadata.",
	"untrusted_key":           "The response is signed with a key that is not in the IdP metadata known here. Usual cause: certificate rollover at the IdP; refresh or re-import the IdP metadata (a metadata URL refreshes by itself).",
	"unsigned":                "Neither the response nor the assertion is signed. Configure the IdP to sign the assertion (or the response).",
	"sha1_refused":            "The IdP signs with SHA-1, refused by default. Configure the IdP to use SHA-256, or mark the IdP legacy (lanyard idp import --legacy-sha1) if it cannot.",
	"issuer_mismatch":         "The response comes from an IdP entity ID this tenant is not connected to. Import that IdP's metadata, or check which IdP application the user used.",
	"in_response_to_unknown":  "The response answers a request this server does not know: it expired, was already used, or was made by another deployment. Usual cause: the user waited long at the IdP, or several Lanyard installations share one IdP application.",
	"browser_mismatch":        "The response came back in another browser than the one that started the login.",
	"binding_cookie_missing":  "The browser sent no binding cookie: cookies blocked, a private window, a login started under another address of this site, or plain http where browsers drop cross-site cookies. Serve Lanyard over https at one address.",
	"unsolicited_not_allowed": "The IdP started the login (IdP-initiated) and the tenant does not allow it. Turn on idp_initiated for the tenant, or start logins at Lanyard.",
	"status_not_success":      "The IdP refused the login itself (its status message is in the trace): user not assigned to the application, MFA failed, or a policy at the IdP.",
	"decrypt_failed":          "The encrypted assertion could not be decrypted: the IdP encrypts for an old SP certificate. Re-send the SP metadata (with the current encryption certificate) to the IdP.",
	"no_login_name":           "No login name: the mapped login attribute is missing and there is no usable NameID. Check the attribute mapping of the tenant (attribute names or claim URIs) and the NameID format the IdP sends (emailAddress or unspecified with the UPN, not transient).",
	"no_account":              "No account matches and just-in-time provisioning is off. Create the account (or import a CSV), turn on jit for the tenant, or check that the login attribute carries the login name (UPN) the account has.",
	"account_inactive":        "The account exists but is inactive. Activate it if the user should have access.",
	"sso_not_allowed":         "The account's login method is password, not SSO. Convert the account to SSO (lanyard user convert).",
	"account_locked":          "The account is locked. Unlock it if the user should have access.",
	"no_web_access":           "The account has no web browser access. Turn web_access on for the account if it should have it.",
	"access_denied":           "The IdP's access attribute said the user may not use the application. Check the group or attribute at the IdP.",
	"sso_disabled":            "Single sign-on is off for the tenant. Turn it on (enabled=true) when the IdP is connected.",
	"replay":                  "This assertion was already used: the browser's Back button, or an attacker replaying a captured response.",
	"no_assertion":            "The response carries no assertion (or only an encrypted one that could not be read). Check the IdP application's configuration.",
	"malformed":               "The message is not well-formed SAML. Check what the IdP sends (the decoded message is below).",

	// One reason for every failure before the inner signature (no
	// decryption oracle); the log line has the detail.
	"encrypted_assertion_invalid": "The encrypted assertion could not be decrypted and verified. Every such failure gives this one reason, so that nobody can probe the encryption; the server's log line (same reference) says what failed. Usual causes: the IdP encrypts for an old SP certificate (re-send the SP metadata with the current encryption certificate), or uses 3DES-CBC or rsa-1_5 key transport (configure AES and RSA-OAEP at the IdP or, if it cannot, turn on legacy encryption for the IdP: lanyard idp import --legacy-encryption, API field legacy_encryption).",
}

// TraceHint returns the usual causes of a refusal with the reason code, or
// a generic hint.
func TraceHint(reason string) string {
	if h, ok := traceHints[reason]; ok {
		return h
	}
	return "See the message and the decoded SAML below; the audit log has the same refusal under this reason code."
}

// RecordLoginTrace keeps the trace of a refused SSO login: the document is
// shortened (ShortenSAML), the hint filled from the reason when empty, the
// tenant's traces bounded to TraceKeepPerTenant and traces older than
// TraceRetention deleted. It is called by the ACS on every refusal.
func (s *Service) RecordLoginTrace(ctx context.Context, t lanyard.LoginTrace) (lanyard.LoginTrace, error) {
	now := s.now().UTC()
	if t.Time.IsZero() {
		t.Time = now
	}
	if t.Hint == "" {
		t.Hint = TraceHint(t.Reason)
	}
	t.Document = ShortenSAML(t.Document)
	if err := s.store.AddLoginTrace(ctx, &t, TraceKeepPerTenant); err != nil {
		return t, fmt.Errorf("record login trace: %w", err)
	}
	if _, err := s.store.PurgeLoginTraces(ctx, now.Add(-TraceRetention)); err != nil {
		return t, fmt.Errorf("purge old login traces: %w", err)
	}
	return t, nil
}

// LoginTraces lists the tenant's traces of refused logins, newest first;
// reason, when not empty, keeps that reason code only.
func (s *Service) LoginTraces(ctx context.Context, tenantSlug, reason string, limit int, beforeID int64) ([]lanyard.LoginTrace, error) {
	t, err := s.Tenant(ctx, tenantSlug)
	if err != nil {
		return nil, err
	}
	traces, err := s.store.LoginTraces(ctx, lanyard.LoginTraceFilter{TenantID: t.ID, Reason: reason, Limit: limit, BeforeID: beforeID})
	if err != nil {
		return nil, fmt.Errorf("list login traces of %s: %w", t.Slug, err)
	}
	return traces, nil
}

// LoginTraceByRef returns the trace of the refused login whose page showed
// the reference ref (the ID of its audit event), in whatever tenant, with
// the tenant's slug.
func (s *Service) LoginTraceByRef(ctx context.Context, ref int64) (lanyard.LoginTrace, string, error) {
	traces, err := s.store.LoginTraces(ctx, lanyard.LoginTraceFilter{AuditID: ref, Limit: 1})
	if err != nil {
		return lanyard.LoginTrace{}, "", fmt.Errorf("login trace of reference %d: %w", ref, err)
	}
	// Another tenant's trace is as missing as no trace: a reference must
	// not tell a tenant administrator which tenants exist.
	if len(traces) == 0 || ref <= 0 || !lanyard.PrincipalFrom(ctx).ManagesTenant(traces[0].TenantID) {
		return lanyard.LoginTrace{}, "", errorf(lanyard.KindNotFound, lanyard.ErrNotFound,
			"no refused login with reference %d (traces are kept %s; the audit log keeps the event: lanyard audit list --id %d)", ref, TraceRetention, ref)
	}
	t, err := s.store.TenantByID(ctx, traces[0].TenantID)
	if err != nil {
		return lanyard.LoginTrace{}, "", fmt.Errorf("tenant of login trace %d: %w", traces[0].ID, err)
	}
	return traces[0], t.Slug, nil
}

// LoginTrace returns one trace of the tenant.
func (s *Service) LoginTrace(ctx context.Context, tenantSlug string, id int64) (lanyard.LoginTrace, error) {
	t, err := s.Tenant(ctx, tenantSlug)
	if err != nil {
		return lanyard.LoginTrace{}, err
	}
	tr, err := s.store.LoginTrace(ctx, id)
	if err == nil && tr.TenantID != t.ID {
		err = lanyard.ErrNotFound
	}
	if err != nil {
		if lanyard.ErrorKind(err) == lanyard.KindNotFound {
			return tr, errorf(lanyard.KindNotFound, err, "no login trace %d in tenant %q (traces are kept %s)", id, t.Slug, TraceRetention)
		}
		return tr, fmt.Errorf("login trace %d: %w", id, err)
	}
	return tr, nil
}
