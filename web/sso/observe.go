package sso

import (
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"hash"
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
	observedEncryptedTo     = "encrypted_to"     // SHA-256 of the SP certificate the IdP encrypted to
)

const (
	maxObservedNames   = 50
	maxObservedNameLen = 200
)

// encryptedKeyCipher is the CipherValue of the first EncryptedKey (only
// an encrypted assertion's login reads it).
var encryptedKeyCipher = regexp.MustCompile(`(?s)EncryptedKey\b.*?CipherValue>([^<]{1,1000})<`)

// loginObservations returns the observations of a login whose decoded
// message is doc ("" when unknown, e.g. the artifact binding) and whose
// validated assertion is as; keys are the SP's decryption keys, to tell
// which one an encrypted assertion was encrypted to (during a rollover:
// whether the IdP has the new key).
func loginObservations(doc string, as *saml.Assertion, keys []saml.KeyPair, now time.Time) map[string]string {
	return observeDocument(doc, now).with(as, keys)
}

// documentObservations are what the posted message alone shows. They are
// taken before the login's transaction, so that no lock is held while
// the message is scanned.
type documentObservations struct {
	doc             string
	clockOffset     string // "" when the message has no IssueInstant
	signatureMethod string
	// assertionSigned is "true" or "false" when the message holds an
	// Assertion in the clear, else "".
	assertionSigned string
}

// observeDocument scans a decoded message ("" when unknown).
func observeDocument(doc string, now time.Time) documentObservations {
	o := documentObservations{doc: doc}
	if doc == "" {
		return o
	}
	if skew := clockSkewOf(doc, now); skew != 0 || strings.Contains(doc, "IssueInstant") {
		o.clockOffset = strconv.FormatInt(int64(skew/time.Second), 10)
	}
	o.signatureMethod = firstSignatureMethod(doc)
	if body := firstAssertion(doc); body != "" {
		o.assertionSigned = strconv.FormatBool(hasSignatureStart(body))
	}
	return o
}

// with adds what the validated assertion shows: the attribute names, and
// for an encrypted assertion the key it was encrypted to.
func (o documentObservations) with(as *saml.Assertion, keys []saml.KeyPair) map[string]string {
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
			allGUIDs = allGUIDs && isGUID(strings.TrimSpace(v))
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
	if o.doc == "" {
		return out
	}
	if o.clockOffset != "" {
		out[observedClockOffset] = o.clockOffset
	}
	if o.signatureMethod != "" {
		out[observedSignatureMethod] = o.signatureMethod
	}
	if !as.Encrypted {
		if o.assertionSigned != "" {
			out[observedAssertionSigned] = o.assertionSigned
		}
	} else if fp := encryptedTo(o.doc, keys); fp != "" {
		out[observedEncryptedTo] = fp
	}
	return out
}

// encryptedTo returns the fingerprint of the key of keys that opens the
// first EncryptedKey of doc (RSA-OAEP with SHA-1 or SHA-256), "" when none
// does. The assertion was already decrypted and accepted: this only tells
// which key the IdP chose.
func encryptedTo(doc string, keys []saml.KeyPair) string {
	m := encryptedKeyCipher.FindStringSubmatch(doc)
	if m == nil {
		return ""
	}
	ct, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(m[1]), ""))
	if err != nil {
		return ""
	}
	for _, kp := range keys {
		key, ok := kp.Signer.(*rsa.PrivateKey)
		if !ok || kp.Certificate == nil {
			continue
		}
		for _, h := range []func() hash.Hash{sha1.New, sha256.New} {
			if _, err := rsa.DecryptOAEP(h(), nil, key, ct, nil); err == nil {
				return saml.Fingerprint(kp.Certificate)
			}
		}
	}
	return ""
}
