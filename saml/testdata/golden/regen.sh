#!/usr/bin/env bash
# Regenerates the golden fixtures: SAML Responses signed and encrypted by
# xmlsec1 (Debian package xmlsec1), an implementation independent of
# Lanyard's, so that the tests of saml and saml/xmldsig check Lanyard's
# verifier and decryptor against documents Lanyard did not produce.
#
#   saml/testdata/golden/regen.sh          # keeps the keys if present
#   saml/testdata/golden/regen.sh -newkeys # new test keys too
#
# The keys in keys/ are TEST KEYS, generated here, published in the
# repository: they protect nothing and must never be trusted anywhere.
# The instants match the tests' fixed clock (2026-03-01T12:00:00Z) and
# the entity IDs and URLs their configuration (saml/fixtures_test.go).
set -euo pipefail
cd "$(dirname "$0")"
command -v xmlsec1 >/dev/null || { echo "xmlsec1 not found (apt-get install xmlsec1)" >&2; exit 1; }

if [ "${1:-}" = -newkeys ] || [ ! -f keys/idp.key.pem ]; then
  mkdir -p keys
  for who in idp sp; do
    openssl genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "keys/$who.key.pem"
    openssl req -x509 -new -key "keys/$who.key.pem" -out "keys/$who.cert.pem" -days 36500 \
      -subj "/O=Lanyard golden fixtures/CN=TEST KEY $who - never trust" 2>/dev/null
  done
fi

SAML=urn:oasis:names:tc:SAML:2.0:assertion
SAMLP=urn:oasis:names:tc:SAML:2.0:protocol
DS=http://www.w3.org/2000/09/xmldsig#
XENC=http://www.w3.org/2001/04/xmlenc#
XENC11=http://www.w3.org/2009/xmlenc11#
EXC=http://www.w3.org/2001/10/xml-exc-c14n#
EXCCOMM=http://www.w3.org/2001/10/xml-exc-c14n#WithComments
C14N10=http://www.w3.org/TR/2001/REC-xml-c14n-20010315
RSASHA256=http://www.w3.org/2001/04/xmldsig-more#rsa-sha256
RSASHA512=http://www.w3.org/2001/04/xmldsig-more#rsa-sha512
SHA256=http://www.w3.org/2001/04/xmlenc#sha256
SHA512=http://www.w3.org/2001/04/xmlenc#sha512
ENVELOPED=http://www.w3.org/2000/09/xmldsig#enveloped-signature
SP=https://sp.example.com/t/acme/saml/metadata
ACS=https://sp.example.com/t/acme/saml/acs
IDP=https://idp.example.com/saml
REQ=_req1234567890abcdef

# sigtpl ID C14N [PREFIXLIST [SIGALG DIGESTALG]]: a Signature template.
sigtpl() {
  local id=$1 c14n=$2 pl=${3:-} sigalg=${4:-$RSASHA256} digalg=${5:-$SHA256} incl=""
  [ -n "$pl" ] && incl="<ec:InclusiveNamespaces xmlns:ec=\"$EXC\" PrefixList=\"$pl\"/>"
  printf '<ds:Signature xmlns:ds="%s"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="%s">%s</ds:CanonicalizationMethod><ds:SignatureMethod Algorithm="%s"/><ds:Reference URI="#%s"><ds:Transforms><ds:Transform Algorithm="%s"/><ds:Transform Algorithm="%s">%s</ds:Transform></ds:Transforms><ds:DigestMethod Algorithm="%s"/><ds:DigestValue/></ds:Reference></ds:SignedInfo><ds:SignatureValue/><ds:KeyInfo><ds:X509Data/></ds:KeyInfo></ds:Signature>' \
    "$DS" "$c14n" "$incl" "$sigalg" "$id" "$ENVELOPED" "$c14n" "$incl" "$digalg"
}

# assertion ID SIG [NAMEID [DECL]]: an Assertion valid at the tests' clock;
# SIG is the Signature template (or "") placed after the Issuer, DECL the
# namespace declarations on it (default: saml2 and xs, xsi).
assertion() {
  local id=$1 sig=$2 nameid=${3:-alice@example.com}
  local decl=${4-" xmlns:saml2=\"$SAML\" xmlns:xs=\"http://www.w3.org/2001/XMLSchema\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\""}
  cat <<XML
<saml2:Assertion$decl ID="$id" IssueInstant="2026-03-01T11:59:55Z" Version="2.0"><saml2:Issuer>$IDP</saml2:Issuer>$sig<saml2:Subject><saml2:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">$nameid</saml2:NameID><saml2:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml2:SubjectConfirmationData InResponseTo="$REQ" NotOnOrAfter="2026-03-01T12:05:00Z" Recipient="$ACS"/></saml2:SubjectConfirmation></saml2:Subject><saml2:Conditions NotBefore="2026-03-01T11:55:00Z" NotOnOrAfter="2026-03-01T12:05:00Z"><saml2:AudienceRestriction><saml2:Audience>$SP</saml2:Audience></saml2:AudienceRestriction></saml2:Conditions><saml2:AuthnStatement AuthnInstant="2026-03-01T11:59:55Z" SessionIndex="_sess$id"><saml2:AuthnContext><saml2:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml2:AuthnContextClassRef></saml2:AuthnContext></saml2:AuthnStatement><saml2:AttributeStatement><saml2:Attribute Name="email" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic"><saml2:AttributeValue xsi:type="xs:string">alice@example.com</saml2:AttributeValue></saml2:Attribute><saml2:Attribute Name="groups"><saml2:AttributeValue xsi:type="xs:string">engineering</saml2:AttributeValue><saml2:AttributeValue xsi:type="xs:string">Alice &amp; Co &lt;admins&gt;</saml2:AttributeValue></saml2:Attribute></saml2:AttributeStatement></saml2:Assertion>
XML
}

# response ID SIG BODY [DECL]: a Response around BODY.
response() {
  local id=$1 sig=$2 body=$3
  local decl=${4:-" xmlns:saml2p=\"$SAMLP\" xmlns:saml2=\"$SAML\""}
  printf '<?xml version="1.0" encoding="UTF-8"?>\n<saml2p:Response%s ID="%s" Version="2.0" IssueInstant="2026-03-01T11:59:55Z" Destination="%s" InResponseTo="%s"><saml2:Issuer>%s</saml2:Issuer>%s<saml2p:Status><saml2p:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></saml2p:Status>%s</saml2p:Response>\n' \
    "$decl" "$id" "$ACS" "$REQ" "$IDP" "$sig" "$body"
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# sign IN OUT: signs the first Signature template of IN (document order).
sign() {
  xmlsec1 --sign --privkey-pem keys/idp.key.pem,keys/idp.cert.pem \
    --id-attr:ID "$SAML:Assertion" --id-attr:ID "$SAMLP:Response" --output "$2" "$1"
}

# signed NAME DOC: signs DOC (one template) into NAME.xml.
signed() {
  printf '%s' "$2" >"$tmp/in.xml"
  sign "$tmp/in.xml" "$1.xml"
}

# Signed assertions and responses.
signed assertion-exc "$(response _r1 '' "$(assertion _a1 "$(sigtpl _a1 $EXC)")")"
# xs and xsi are declared on the Response only: the PrefixList renders them.
signed assertion-exc-prefixlist "$(response _r2 '' "$(assertion _a2 "$(sigtpl _a2 $EXC 'xs xsi')" alice@example.com '')" \
  " xmlns:saml2p=\"$SAMLP\" xmlns:saml2=\"$SAML\" xmlns:xs=\"http://www.w3.org/2001/XMLSchema\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"")"
signed assertion-exc-default-prefixlist "$(response _r3 '' "$(assertion _a3 "$(sigtpl _a3 $EXC '#default xs')")")"
signed assertion-c14n10 "$(response _r4 '' "$(assertion _a4 "$(sigtpl _a4 $C14N10)")")"
signed assertion-rsa-sha512 "$(response _r5 '' "$(assertion _a5 "$(sigtpl _a5 $EXC '' $RSASHA512 $SHA512)")")"
# Comments in signed text: exclusive C14N without comments signs the text
# around them, which Lanyard reads joined.
signed assertion-comments "$(response _r6 '' "$(assertion _a6 "$(sigtpl _a6 $EXC)" 'alice<!-- a comment -->@example.com')")"
# The same signed with comments: Lanyard refuses #WithComments.
signed assertion-withcomments "$(response _r7 '' "$(assertion _a7 "$(sigtpl _a7 $EXCCOMM)" 'alice<!-- a comment -->@example.com')")"
signed response-signed "$(response _r8 "$(sigtpl _r8 $EXC)" "$(assertion _a8 '')")"
# Both: the assertion first, then the Response (whose template comes first
# in document order once inserted).
printf '%s' "$(response _r9 '' "$(assertion _a9 "$(sigtpl _a9 $EXC)")")" >"$tmp/in.xml"
sign "$tmp/in.xml" "$tmp/as.xml"
sed "s|<saml2:Issuer>$IDP</saml2:Issuer><saml2p:Status>|<saml2:Issuer>$IDP</saml2:Issuer>$(sigtpl _r9 $EXC)<saml2p:Status>|" "$tmp/as.xml" >"$tmp/in2.xml"
sign "$tmp/in2.xml" both-signed.xml

# Encrypted assertions: the assertion is signed alone by xmlsec1, then
# encrypted by xmlsec1 for the SP's key and put in an EncryptedAssertion.
# encrypted NAME ID CONTENT SESSIONKEY KEYTRANSPORT: KEYTRANSPORT is the
# EncryptionMethod element of the EncryptedKey.
encrypted() {
  local name=$1 id=$2 content=$3 session=$4 keyalg=$5
  printf '<?xml version="1.0" encoding="UTF-8"?>\n%s' "$(assertion "$id" "$(sigtpl "$id" $EXC)")" >"$tmp/as.xml"
  sign "$tmp/as.xml" "$tmp/as-signed.xml"
  printf '<xenc:EncryptedData xmlns:xenc="%s" Type="http://www.w3.org/2001/04/xmlenc#Element"><xenc:EncryptionMethod Algorithm="%s"/><ds:KeyInfo xmlns:ds="%s"><xenc:EncryptedKey>%s<xenc:CipherData><xenc:CipherValue/></xenc:CipherData></xenc:EncryptedKey></ds:KeyInfo><xenc:CipherData><xenc:CipherValue/></xenc:CipherData></xenc:EncryptedData>' \
    "$XENC" "$content" "$DS" "$keyalg" >"$tmp/tpl.xml"
  xmlsec1 --encrypt --pubkey-cert-pem keys/sp.cert.pem --session-key "$session" \
    --xml-data "$tmp/as-signed.xml" --node-xpath '/*' --output "$tmp/enc.xml" "$tmp/tpl.xml"
  response "_r$id" '' "<saml2:EncryptedAssertion>$(sed '1{/^<?xml/d}' "$tmp/enc.xml")</saml2:EncryptedAssertion>" >"$name.xml"
}
OAEP="<xenc:EncryptionMethod Algorithm=\"${XENC}rsa-oaep-mgf1p\"><ds:DigestMethod xmlns:ds=\"$DS\" Algorithm=\"http://www.w3.org/2000/09/xmldsig#sha1\"/></xenc:EncryptionMethod>"
# xmlsec1 1.2 knows neither xmlenc11#rsa-oaep nor an OAEP digest other than
# SHA-1: the SHA-256 and MGF variants are covered by saml's own tests only.
OAEPDEFAULT="<xenc:EncryptionMethod Algorithm=\"${XENC}rsa-oaep-mgf1p\"/>"
RSA15="<xenc:EncryptionMethod Algorithm=\"${XENC}rsa-1_5\"/>"
encrypted enc-aes128gcm-oaep _e1 "${XENC11}aes128-gcm" aes-128 "$OAEP"
encrypted enc-aes256cbc-oaep _e2 "${XENC}aes256-cbc" aes-256 "$OAEP"
encrypted enc-aes256gcm-oaep-nodigest _e3 "${XENC11}aes256-gcm" aes-256 "$OAEPDEFAULT"
encrypted enc-aes128cbc-oaep-nodigest _e4 "${XENC}aes128-cbc" aes-128 "$OAEPDEFAULT"
encrypted enc-3des-oaep _e6 "${XENC}tripledes-cbc" des-192 "$OAEP"
encrypted enc-3des-rsa15 _e5 "${XENC}tripledes-cbc" des-192 "$RSA15"

# Every signed fixture but the #WithComments one verifies with xmlsec1.
for f in assertion-*.xml response-signed.xml both-signed.xml; do
  [ "$f" = assertion-withcomments.xml ] && continue
  xmlsec1 --verify --enabled-reference-uris same-doc --pubkey-cert-pem keys/idp.cert.pem \
    --id-attr:ID "$SAML:Assertion" --id-attr:ID "$SAMLP:Response" "$f" >/dev/null 2>&1 || { echo "xmlsec1 does not verify $f" >&2; exit 1; }
done
ls *.xml
