package sso

import (
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/lanyard-sso/lanyard/saml"
)

// What a successful login shows of the IdP's habits, kept in the detail of
// its sso.login audit event for the connection doctor (admin.Diagnose):
// the attribute names sent, those whose values are all GUIDs, the clock
// offset, the signature algorithm and whether the assertion itself was
// signed. Bounded: an IdP may send hundreds of attributes.

// Detail keys of the observations (read by package admin's doctor).
const (
	observedAttributes      = "attributes"       // names, "|"-separated
	observedGUIDAttributes  = "guid_attributes"  // names whose values are all GUIDs
	observedClockOffset     = "clock_offset_s"   // IdP clock minus ours, seconds
	observedSignatureMethod = "signature_method" // first SignatureMethod of the message
	observedAssertionSigned = "assertion_signed" // "true"/"false"; absent when encrypted
)

const (
	maxObservedNames   = 50
	maxObservedNameLen = 200
)

var (
	guidValue       = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	signatureMethod = regexp.MustCompile(`SignatureMethod\s+Algorithm="([^"]{1,200})"`)
	// assertionBody is the (unencrypted) Assertion element's content.
	assertionBody  = regexp.MustCompile(`(?s)<(?:[A-Za-z_][\w.-]*:)?Assertion\b.*?</(?:[A-Za-z_][\w.-]*:)?Assertion>`)
	signatureStart = regexp.MustCompile(`<(?:[A-Za-z_][\w.-]*:)?Signature\b`)
)

// loginObservations returns the observations of a login whose decoded
// message is doc ("" when unknown, e.g. the artifact binding) and whose
// validated assertion is as.
func loginObservations(doc string, as *saml.Assertion, now time.Time) map[string]string {
	out := map[string]string{}
	var names, guids []string
	for _, a := range as.Attributes {
		if len(names) >= maxObservedNames {
			break
		}
		name := a.Name
		if len(name) > maxObservedNameLen {
			name = name[:maxObservedNameLen]
		}
		names = append(names, strings.ReplaceAll(name, "|", "_"))
		allGUIDs := len(a.Values) > 0
		for _, v := range a.Values {
			allGUIDs = allGUIDs && guidValue.MatchString(strings.TrimSpace(v))
		}
		if allGUIDs {
			guids = append(guids, names[len(names)-1])
		}
	}
	if len(names) > 0 {
		out[observedAttributes] = strings.Join(names, "|")
	}
	if len(guids) > 0 {
		out[observedGUIDAttributes] = strings.Join(guids, "|")
	}
	if doc == "" {
		return out
	}
	if skew := clockSkewOf(doc, now); skew != 0 || strings.Contains(doc, "IssueInstant") {
		out[observedClockOffset] = strconv.FormatInt(int64(skew/time.Second), 10)
	}
	if m := signatureMethod.FindStringSubmatch(doc); m != nil {
		out[observedSignatureMethod] = m[1]
	}
	if !as.Encrypted {
		if body := assertionBody.FindString(doc); body != "" {
			out[observedAssertionSigned] = strconv.FormatBool(signatureStart.MatchString(body))
		}
	}
	return out
}
