package saml

import (
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard/saml/xmldsig"
)

// makeArtifact builds a type 0x0004 artifact for the entity ID.
func makeArtifact(tb testing.TB, typeCode, index uint16, entityID string) string {
	tb.Helper()
	b := make([]byte, 44)
	binary.BigEndian.PutUint16(b[0:2], typeCode)
	binary.BigEndian.PutUint16(b[2:4], index)
	src := sha1.Sum([]byte(entityID))
	copy(b[4:24], src[:])
	if _, err := rand.Read(b[24:]); err != nil {
		tb.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

func TestParseArtifact(t *testing.T) {
	good := makeArtifact(t, 4, 0, testIdPEntity)
	raw, _ := base64.StdEncoding.DecodeString(good)
	enc := func(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
	with := func(f func(b []byte) []byte) string {
		return enc(f(append([]byte{}, raw...)))
	}
	cases := []struct {
		name, in string
		want     string // substring of the message; "" accepts
	}{
		{"valid", good, ""},
		{"valid index 7", makeArtifact(t, 4, 7, testIdPEntity), ""},
		{"valid index 65535", makeArtifact(t, 4, 65535, testIdPEntity), ""},
		{"empty", "", "empty"},
		{"type 0x0001 (SAML 1.1)", with(func(b []byte) []byte { b[1] = 1; return b }), "type code 0x0001"},
		{"type 0x0002", with(func(b []byte) []byte { b[1] = 2; return b }), "type code 0x0002"},
		{"type 0x0104", with(func(b []byte) []byte { b[0] = 1; return b }), "type code 0x0104"},
		{"type 0x0000", with(func(b []byte) []byte { b[1] = 0; return b }), "type code 0x0000"},
		{"43 bytes", with(func(b []byte) []byte { return b[:43] }), "decodes to 43 bytes"},
		{"45 bytes", enc(append(append([]byte{}, raw...), 0x41)), "decodes to 45 bytes"},
		{"46 bytes", enc(append(append([]byte{}, raw...), 0x41, 0x42)), "is 64 characters"},
		{"40 bytes", with(func(b []byte) []byte { return b[:40] }), "decodes to 40 bytes"},
		{"4 bytes", enc(raw[:4]), "decodes to 4 bytes"},
		{"88 bytes", enc(append(append([]byte{}, raw...), raw...)), "characters"},
		{"bad base64 char", "!" + good[1:], "not valid base64"},
		{"url-safe alphabet", strings.NewReplacer("+", "-", "/", "_").Replace(makeArtifactWith(t, "+/")), "not valid base64"},
		{"no padding", strings.TrimRight(enc(raw[:43]), "="), "not valid base64"},
		{"space inside", good[:10] + " " + good[11:], "not valid base64"},
		{"newline inside", good[:10] + "\n" + good[10:59], "not valid base64"},
		{"percent-encoded", strings.ReplaceAll(makeArtifactWith(t, "+"), "+", "%2B"), "characters"},
		{"zero handle", with(func(b []byte) []byte { clear(b[24:]); return b }), "MessageHandle is all zero"},
		{"trailing bits set", good[:58] + "B=", "not valid base64"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, err := ParseArtifact(c.in)
			if c.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if a.String() != c.in || !a.IssuedBy(&IdentityProvider{EntityID: testIdPEntity}) || a.IssuedBy(&IdentityProvider{EntityID: testIdPEntity + "/"}) {
					t.Fatalf("parsed %+v", a)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted %q", c.in)
			}
			if ReasonOf(err) != ReasonArtifactInvalid || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want reason %s mentioning %q", err, ReasonArtifactInvalid, c.want)
			}
		})
	}
	if a, _ := ParseArtifact(makeArtifact(t, 4, 513, testIdPEntity)); a.EndpointIndex != 513 {
		t.Fatalf("EndpointIndex %d, want 513", a.EndpointIndex)
	}
}

// makeArtifactWith returns a valid artifact whose base64 holds one of chars.
func makeArtifactWith(tb testing.TB, chars string) string {
	for {
		a := makeArtifact(tb, 4, 0, testIdPEntity)
		if strings.ContainsAny(a, chars) {
			return a
		}
	}
}

// arsIdP is a fake ArtifactResolutionService: it checks the SP's signed
// ArtifactResolve and answers with what answer builds for its ID.
type arsIdP struct {
	t      *testing.T
	srv    *httptest.Server
	hits   atomic.Int32
	mu     sync.Mutex
	answer func(reqID string) string
	// artifact is the one the SP must ask for.
	artifact string
	// lastRequest is the last ArtifactResolve envelope received.
	lastRequest []byte
}

func newARS(t *testing.T, e *testEnv) *arsIdP {
	s := &arsIdP{t: t}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		body, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/xml") || r.Header.Get("SOAPAction") == "" {
			t.Errorf("ArtifactResolve sent as %s %q SOAPAction %q", r.Method, r.Header.Get("Content-Type"), r.Header.Get("SOAPAction"))
		}
		id, err := checkArtifactResolve(body, s.artifact, e.sp.EntityID)
		if err != nil {
			t.Errorf("ArtifactResolve: %v\n%s", err, body)
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		answer := s.answer
		s.lastRequest = body
		s.mu.Unlock()
		w.Header().Set("Content-Type", "text/xml")
		_, _ = io.WriteString(w, answer(id))
	}))
	t.Cleanup(s.srv.Close)
	e.idp.ArtifactResolution = []IndexedEndpoint{{Endpoint: Endpoint{Binding: BindingSOAP, Location: s.srv.URL + "/ars"}, Index: 0}}
	return s
}

// checkArtifactResolve verifies what the SP sent: a SOAP envelope holding
// an ArtifactResolve signed by the SP key, for the artifact.
func checkArtifactResolve(body []byte, artifact, spEntity string) (string, error) {
	d, err := parseXML(body, xmldsig.Limits{})
	if err != nil {
		return "", err
	}
	b := d.Root().Child(nsSOAP11, "Body")
	if !d.Root().Is(nsSOAP11, "Envelope") || b == nil {
		return "", fmt.Errorf("not a SOAP 1.1 envelope")
	}
	ar := b.Child(nsSAMLP, "ArtifactResolve")
	if ar == nil {
		return "", fmt.Errorf("no ArtifactResolve")
	}
	sig, err := signatureOf(ar)
	if err != nil || sig == nil {
		return "", fmt.Errorf("ArtifactResolve not signed (%v)", err)
	}
	if err := verifyEnveloped(ar, sig, &xmldsig.VerifyOptions{Keys: []xmldsig.Key{xmldsig.NewKey(spCert)}, What: "ArtifactResolve"}); err != nil {
		return "", err
	}
	if got := ar.Child(nsSAMLP, "Artifact").TrimmedText(); got != artifact {
		return "", fmt.Errorf("Artifact %q, want %q", got, artifact)
	}
	if got := ar.Child(nsSAML, "Issuer").TrimmedText(); got != spEntity {
		return "", fmt.Errorf("Issuer %q", got)
	}
	return ar.AttrValue("ID"), nil
}

// arOpts shapes an ArtifactResponse.
type arOpts struct {
	id           string
	issuer       string // "-" for none
	inResponseTo string // "" means the request's ID
	status       string // raw Status content; "" success
	message      string // the carried message; "" the signed fixture Response, "-" none
	beforeStatus string // raw XML after the Issuer (and signature)
	extra        string // raw XML after the message
	sign         bool
	signer       sigOpts
	issueInstant time.Time
	envDecl      string // declarations on the Envelope
	header       string // a SOAP Header
	envAttrs     string
	arPrefix     string // "samlp:" unless set
	// presign signs inside the whole answer (the carried assertion, in
	// the namespace context of the envelope) before the ArtifactResponse.
	presign func(doc string) string
}

func defaultAR() arOpts {
	return arOpts{id: "_ar0001", issuer: testIdPEntity, sign: true, issueInstant: testNow.Add(-2 * time.Second)}
}

func innerResponse(tb testing.TB, f fixture) string {
	tb.Helper()
	s := f.signedAssertion(tb)
	return s[strings.Index(s, "?>")+2:]
}

func (o arOpts) build(tb testing.TB, reqID string) string {
	tb.Helper()
	p := o.arPrefix
	if p == "" {
		p = "samlp:"
	}
	irt := o.inResponseTo
	if irt == "" {
		irt = reqID
	}
	msg := o.message
	switch msg {
	case "":
		msg = innerResponse(tb, defaultFixture("ssp"))
	case "-":
		msg = ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<SOAP-ENV:Envelope xmlns:SOAP-ENV="%s"%s%s>%s<SOAP-ENV:Body>`, nsSOAP11, o.envDecl, o.envAttrs, o.header)
	decl := ` xmlns:samlp="` + nsSAMLP + `" xmlns:saml="` + nsSAML + `"`
	if p != "samlp:" {
		decl = ""
	}
	fmt.Fprintf(&b, `<%sArtifactResponse%s ID="%s" Version="2.0" IssueInstant="%s" InResponseTo="%s">`, p, decl, o.id, ts(o.issueInstant), irt)
	if o.issuer != "-" {
		fmt.Fprintf(&b, `<saml:Issuer>%s</saml:Issuer>`, o.issuer)
	}
	fmt.Fprintf(&b, `<!--sig:%s-->%s`, o.id, o.beforeStatus)
	if o.status != "" {
		fmt.Fprintf(&b, `<%sStatus>%s</%sStatus>`, p, o.status, p)
	} else {
		fmt.Fprintf(&b, `<%sStatus><%sStatusCode Value="%s"/></%sStatus>`, p, p, statusSuccess, p)
	}
	fmt.Fprintf(&b, `%s%s</%sArtifactResponse></SOAP-ENV:Body></SOAP-ENV:Envelope>`, msg, o.extra, p)
	doc := b.String()
	if o.presign != nil {
		doc = o.presign(doc)
	}
	if o.sign {
		so := o.signer
		if so.key == nil {
			so.cert = idpCert
		}
		doc = signXML(tb, doc, o.id, so)
	}
	return stripMarkers(doc)
}

type artifactRun struct {
	e   *testEnv
	ars *arsIdP
	art string
}

func newArtifactRun(t *testing.T, o arOpts) *artifactRun {
	e := newEnv(t)
	e.pending(t)
	ars := newARS(t, e)
	ars.artifact = makeArtifact(t, 4, 0, testIdPEntity)
	ars.answer = func(id string) string { return o.build(t, id) }
	return &artifactRun{e: e, ars: ars, art: ars.artifact}
}

func (r *artifactRun) validate() (*Assertion, error) {
	a, err := ParseArtifact(r.art)
	if err != nil {
		return nil, err
	}
	return r.e.sp.ValidateArtifact(context.Background(), r.e.idp, ArtifactInput{Artifact: a, RelayState: "rs", BrowserBinding: testBinding}, testChannel{})
}

// testChannel is a plain HTTP back channel (package saml/soap has the real
// one, and tests its limits).
type testChannel struct{}

func (testChannel) Exchange(ctx context.Context, location string, envelope []byte, max int) ([]byte, int, error) {
	if err := CheckSOAPEndpoint(location); err != nil {
		return nil, 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, location, strings.NewReader(string(envelope)))
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Content-Type", "text/xml")
	req.Header.Set("SOAPAction", "x")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, 0, &Error{Reason: ReasonArtifactResolutionFailed, Message: "unreachable", Err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, int64(max)))
	return body, resp.StatusCode, err
}

func TestValidateArtifact(t *testing.T) {
	testKeys(t)
	r := newArtifactRun(t, defaultAR())
	a, err := r.validate()
	if err != nil {
		t.Fatalf("refused: %v", err)
	}
	if a.NameID.Value != "alice@example.com" || a.InResponseTo != testReqID || a.ReturnTo != "/app/page?x=1" || a.RelayState != "rs" {
		t.Fatalf("assertion %+v", a)
	}
	// The same artifact again: refused by us, without asking the IdP.
	_, err = r.validate()
	if ReasonOf(err) != ReasonReplay {
		t.Fatalf("second use: %v, want replay", err)
	}
	if n := r.ars.hits.Load(); n != 1 {
		t.Fatalf("the IdP was asked %d times, want 1", n)
	}
	// The SP's signature on its ArtifactResolve, checked by an independent
	// implementation.
	r.ars.mu.Lock()
	sent := r.ars.lastRequest
	r.ars.mu.Unlock()
	xmlsecVerify(t, sent, spCert)
}

// TestVerifyArtifact: resolving the artifact marks the artifact used but
// consumes nothing of the Response it stands for; Consume takes the
// request and marks the assertion, once.
func TestVerifyArtifact(t *testing.T) {
	testKeys(t)
	r := newArtifactRun(t, defaultAR())
	art, err := ParseArtifact(r.art)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	in := ArtifactInput{Artifact: art, RelayState: "rs", BrowserBinding: testBinding}
	vr, err := r.e.sp.VerifyArtifact(ctx, r.e.idp, in, testChannel{})
	if err != nil {
		t.Fatalf("refused: %v", err)
	}
	if _, err := r.e.sp.VerifyArtifact(ctx, r.e.idp, in, testChannel{}); ReasonOf(err) != ReasonReplay {
		t.Fatalf("the artifact resolved twice: %v, want replay", err)
	}
	a, err := vr.Consume(ctx)
	if err != nil {
		t.Fatalf("Consume after VerifyArtifact: %v (did VerifyArtifact take the request or mark the assertion?)", err)
	}
	if a.NameID.Value != "alice@example.com" || a.InResponseTo != testReqID || a.ReturnTo != "/app/page?x=1" {
		t.Fatalf("assertion %+v", a)
	}
	if _, err := vr.Consume(ctx); err == nil {
		t.Fatal("the Response consumed twice")
	}
}

// TestValidateArtifactResponse refuses every ArtifactResponse that is not
// the signed, addressed, successful answer to the request just sent.
func TestValidateArtifactResponse(t *testing.T) {
	testKeys(t)
	soap12 := "http://www.w3.org/2003/05/soap-envelope"
	cases := []struct {
		name string
		mod  func(o *arOpts)
		raw  func(tb testing.TB, reqID string) string // whole answer
		want Reason
		msg  string
	}{
		{name: "accepted", mod: func(o *arOpts) {}},
		{name: "namespaces declared on the envelope", mod: func(o *arOpts) {
			o.envDecl = ` xmlns:samlp="` + nsSAMLP + `" xmlns:saml="` + nsSAML + `" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"`
			o.arPrefix = "samlp:"
		}},
		{name: "assertion signed with PrefixList xs, xs declared on the envelope only", mod: func(o *arOpts) {
			// The standalone Response must keep xmlns:xs, which no element
			// uses visibly: an exclusive canonical form would drop it.
			f := defaultFixture("okta")
			msg := strings.ReplaceAll(f.responseXML(f.assertionXML()), ` xmlns:xs="http://www.w3.org/2001/XMLSchema"`, "")
			o.message = msg[strings.Index(msg, "?>")+2:]
			o.envDecl = ` xmlns:xs="http://www.w3.org/2001/XMLSchema"`
			o.presign = func(doc string) string { return signXML(t, doc, f.asID, sigOpts{prefixes: "xs", cert: idpCert}) }
		}},
		{name: "assertion signed with inclusive C14N inside the envelope", mod: func(o *arOpts) {
			// Inclusive C14N signs every namespace in scope, the
			// envelope's too: the standalone Response keeps them all.
			f := defaultFixture("ssp")
			msg := f.responseXML(f.assertionXML())
			o.message = msg[strings.Index(msg, "?>")+2:]
			o.envDecl = ` xmlns:x="urn:x"`
			o.presign = func(doc string) string { return signXML(t, doc, f.asID, sigOpts{c14n: algC14N10, cert: idpCert}) }
		}},
		{name: "signed by ECDSA rollover key", mod: func(o *arOpts) { o.signer = sigOpts{key: ecKey, cert: ecCert} }},
		{name: "unsigned", mod: func(o *arOpts) { o.sign = false }, want: ReasonUnsigned, msg: "ArtifactResponse is not signed"},
		{name: "signed by an untrusted key", mod: func(o *arOpts) { o.signer = sigOpts{key: evilKey, cert: evilCert} }, want: ReasonUntrustedKey},
		{name: "signed by an untrusted key, no KeyInfo", mod: func(o *arOpts) { o.signer = sigOpts{key: evilKey} }, want: ReasonSignatureInvalid},
		{name: "SHA-1 signature", mod: func(o *arOpts) {
			o.signer = sigOpts{key: idpKey, cert: idpCert, sigAlg: algRSASHA1, digestAlg: algSHA1}
		}, want: ReasonSHA1Refused},
		{name: "wrong InResponseTo", mod: func(o *arOpts) { o.inResponseTo = "_someotherrequest" }, want: ReasonInResponseToUnknown},
		{name: "wrong issuer", mod: func(o *arOpts) { o.issuer = "https://evil.example.com/idp" }, want: ReasonIssuerMismatch},
		{name: "issuer differing in case", mod: func(o *arOpts) { o.issuer = strings.ToUpper(testIdPEntity) }, want: ReasonIssuerMismatch},
		{name: "no issuer", mod: func(o *arOpts) { o.issuer = "-" }, want: ReasonIssuerMismatch},
		{name: "two issuers", mod: func(o *arOpts) { o.beforeStatus = `<saml:Issuer>` + testIdPEntity + `</saml:Issuer>` }, want: ReasonMalformed},
		{name: "status error", mod: func(o *arOpts) {
			o.status = `<samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Requester"/>`
			o.message = "-"
		}, want: ReasonStatusNotSuccess},
		{name: "two statuses", mod: func(o *arOpts) {
			o.beforeStatus = `<samlp:Status><samlp:StatusCode Value="` + statusSuccess + `"/></samlp:Status>`
		}, want: ReasonMalformed},
		{name: "no status", raw: func(tb testing.TB, id string) string {
			o := defaultAR()
			s := o.build(tb, id)
			i, j := strings.Index(s, "<samlp:Status>"), strings.Index(s, "</samlp:Status>")
			return s[:i] + s[j+len("</samlp:Status>"):]
		}, want: ReasonMalformed},
		{name: "no message", mod: func(o *arOpts) { o.message = "-" }, want: ReasonArtifactInvalid, msg: "holds no message"},
		{name: "two responses", mod: func(o *arOpts) {
			f := defaultFixture("ssp")
			f.respID, f.asID = "_resp2", "_as2"
			o.extra = innerResponse(t, f)
		}, want: ReasonMalformed, msg: "more than one message"},
		{name: "a LogoutRequest", mod: func(o *arOpts) {
			o.message = `<samlp:LogoutRequest ID="_lr1" Version="2.0" IssueInstant="` + ts(testNow) + `"><saml:Issuer>` + testIdPEntity + `</saml:Issuer></samlp:LogoutRequest>`
		}, want: ReasonMalformed, msg: "takes a samlp:Response"},
		{name: "inner assertion unsigned", mod: func(o *arOpts) {
			f := defaultFixture("ssp")
			o.message = stripMarkers(f.responseXML(stripMarkers(f.assertionXML())))
			o.message = o.message[strings.Index(o.message, "?>")+2:]
		}, want: ReasonUnsigned},
		{name: "inner response to another ACS", mod: func(o *arOpts) {
			f := defaultFixture("ssp")
			f.destination = "https://other.example.com/acs"
			o.message = innerResponse(t, f)
		}, want: ReasonDestinationMismatch},
		{name: "inner response for another request", mod: func(o *arOpts) {
			f := defaultFixture("ssp")
			f.inResponseTo = "_otherreq"
			o.message = innerResponse(t, f)
		}, want: ReasonInResponseToUnknown},
		{name: "inner response with a second assertion", mod: func(o *arOpts) {
			f := defaultFixture("ssp")
			f.extra = `<saml:Advice>` + stripMarkers(f.assertionXML()) + `</saml:Advice>`
			f.asID = "_asOuter"
			o.message = innerResponse(t, f)
		}, want: ReasonMultipleAssertions},
		{name: "ArtifactResponse too old", mod: func(o *arOpts) { o.issueInstant = testNow.Add(-10 * time.Minute) }, want: ReasonExpired},
		{name: "duplicate IDs", raw: func(tb testing.TB, id string) string {
			return strings.Replace(defaultAR().build(tb, id), `ID="_ar0001"`, `ID="_respssp0001"`, 1)
		}, want: ReasonDuplicateID},
		{name: "xml:lang on the envelope", mod: func(o *arOpts) { o.envAttrs = ` xml:lang="en"` }, want: ReasonMalformed, msg: "xml:lang"},
		{name: "mustUnderstand header", mod: func(o *arOpts) {
			o.header = `<SOAP-ENV:Header><x:H xmlns:x="urn:x" SOAP-ENV:mustUnderstand="1"/></SOAP-ENV:Header>`
		}, want: ReasonMalformed, msg: "mustUnderstand"},
		{name: "optional header", mod: func(o *arOpts) {
			o.header = `<SOAP-ENV:Header><x:H xmlns:x="urn:x" SOAP-ENV:mustUnderstand="0"/></SOAP-ENV:Header>`
		}},
		{name: "wrapped: signed answer in the header, forged one in the body", raw: func(tb testing.TB, id string) string {
			good := defaultAR().build(tb, id)
			good = good[strings.Index(good, "<samlp:ArtifactResponse"):strings.Index(good, "</SOAP-ENV:Body>")]
			forged := defaultAR()
			forged.sign = false
			forged.id = "_forged"
			f := defaultFixture("ssp")
			f.respID, f.asID = "_r9", "_a9"
			forged.message = innerResponse(tb, f)
			s := forged.build(tb, id)
			return strings.Replace(s, "<SOAP-ENV:Body>", `<SOAP-ENV:Header><x:Wrap xmlns:x="urn:x">`+good+`</x:Wrap></SOAP-ENV:Header><SOAP-ENV:Body>`, 1)
		}, want: ReasonUnsigned},
		{name: "wrapped: signed answer inside the forged one's Extensions", raw: func(tb testing.TB, id string) string {
			good := defaultAR().build(tb, id)
			good = good[strings.Index(good, "<samlp:ArtifactResponse"):strings.Index(good, "</SOAP-ENV:Body>")]
			forged := defaultAR()
			forged.id = "_forged"
			forged.sign = false
			forged.beforeStatus = `<samlp:Extensions>` + good + `</samlp:Extensions>`
			f := defaultFixture("ssp")
			f.respID, f.asID = "_r9", "_a9"
			forged.message = innerResponse(tb, f)
			return forged.build(tb, id)
		}, want: ReasonUnsigned},
		{name: "signature reference to the inner response", raw: func(tb testing.TB, id string) string {
			o := defaultAR()
			o.signer = sigOpts{key: idpKey, cert: idpCert, refURI: "#_respssp0001"}
			return o.build(tb, id)
		}, want: ReasonSignatureInvalid},
		{name: "two elements in the body", raw: func(tb testing.TB, id string) string {
			s := defaultAR().build(tb, id)
			return strings.Replace(s, "</SOAP-ENV:Body>", "<x xmlns=\"urn:x\"/></SOAP-ENV:Body>", 1)
		}, want: ReasonMalformed, msg: "more than one element"},
		{name: "two bodies", raw: func(tb testing.TB, id string) string {
			s := defaultAR().build(tb, id)
			return strings.Replace(s, "</SOAP-ENV:Envelope>", "<SOAP-ENV:Body/></SOAP-ENV:Envelope>", 1)
		}, want: ReasonMalformed},
		{name: "SOAP 1.2 envelope", raw: func(tb testing.TB, id string) string {
			return strings.ReplaceAll(defaultAR().build(tb, id), nsSOAP11, soap12)
		}, want: ReasonMalformed, msg: "SOAP 1.1"},
		{name: "bare ArtifactResponse", raw: func(tb testing.TB, id string) string {
			s := defaultAR().build(tb, id)
			return s[strings.Index(s, "<samlp:ArtifactResponse"):strings.Index(s, "</SOAP-ENV:Body>")]
		}, want: ReasonMalformed},
		{name: "SOAP fault", raw: func(tb testing.TB, id string) string {
			return `<SOAP-ENV:Envelope xmlns:SOAP-ENV="` + nsSOAP11 + `"><SOAP-ENV:Body><SOAP-ENV:Fault><faultcode>SOAP-ENV:Server</faultcode><faultstring>Unable to find artifact</faultstring></SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>`
		}, want: ReasonArtifactResolutionFailed, msg: "Unable to find artifact"},
		{name: "DTD", raw: func(tb testing.TB, id string) string {
			return `<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>` + strings.TrimPrefix(defaultAR().build(tb, id), `<?xml version="1.0" encoding="UTF-8"?>`+"\n")
		}, want: ReasonDTDForbidden},
		{name: "not XML", raw: func(tb testing.TB, id string) string { return "<html>hello" }, want: ReasonMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := defaultAR()
			if c.mod != nil {
				c.mod(&o)
			}
			r := newArtifactRun(t, o)
			if c.raw != nil {
				r.ars.answer = func(id string) string { return c.raw(t, id) }
			}
			a, err := r.validate()
			if c.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if a.NameID.Value != "alice@example.com" {
					t.Fatalf("NameID %q", a.NameID.Value)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted")
			}
			if ReasonOf(err) != c.want || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("got %v, want %s mentioning %q", err, c.want, c.msg)
			}
		})
	}
}

// TestValidateArtifactAddressing refuses artifacts that name another IdP
// or an endpoint it does not publish, before any request is sent.
func TestValidateArtifactAddressing(t *testing.T) {
	testKeys(t)
	cases := []struct {
		name string
		art  func(tb testing.TB) string
		eps  []IndexedEndpoint // nil keeps the fake IdP's
		want Reason
		msg  string
	}{
		{"unknown SourceID", func(tb testing.TB) string { return makeArtifact(tb, 4, 0, "https://evil.example.com/idp") }, nil, ReasonArtifactInvalid, "SourceID"},
		{"SourceID of the entity ID with a slash", func(tb testing.TB) string { return makeArtifact(tb, 4, 0, testIdPEntity+"/") }, nil, ReasonArtifactInvalid, "SourceID"},
		{"index mismatch", func(tb testing.TB) string { return makeArtifact(tb, 4, 1, testIdPEntity) }, nil, ReasonArtifactInvalid, "index 1"},
		{"index of a non-SOAP endpoint", func(tb testing.TB) string { return makeArtifact(tb, 4, 2, testIdPEntity) },
			[]IndexedEndpoint{{Endpoint: Endpoint{Binding: BindingHTTPPOST, Location: "https://idp.example.com/ars"}, Index: 2}}, ReasonArtifactInvalid, "index 2"},
		{"no endpoint at all", func(tb testing.TB) string { return makeArtifact(tb, 4, 0, testIdPEntity) }, []IndexedEndpoint{}, ReasonArtifactInvalid, "published: none"},
		{"plain http endpoint", func(tb testing.TB) string { return makeArtifact(tb, 4, 0, testIdPEntity) },
			[]IndexedEndpoint{{Endpoint: Endpoint{Binding: BindingSOAP, Location: "http://idp.example.com/ars"}, Index: 0}}, ReasonArtifactResolutionFailed, "plain http"},
		{"ftp endpoint", func(tb testing.TB) string { return makeArtifact(tb, 4, 0, testIdPEntity) },
			[]IndexedEndpoint{{Endpoint: Endpoint{Binding: BindingSOAP, Location: "ftp://idp.example.com/ars"}, Index: 0}}, ReasonArtifactResolutionFailed, "scheme"},
		{"relative endpoint", func(tb testing.TB) string { return makeArtifact(tb, 4, 0, testIdPEntity) },
			[]IndexedEndpoint{{Endpoint: Endpoint{Binding: BindingSOAP, Location: "/ars"}, Index: 0}}, ReasonArtifactResolutionFailed, "absolute"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newArtifactRun(t, defaultAR())
			r.art = c.art(t)
			if c.eps != nil {
				r.e.idp.ArtifactResolution = c.eps
			}
			_, err := r.validate()
			if ReasonOf(err) != c.want || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("got %v, want %s mentioning %q", err, c.want, c.msg)
			}
			if n := r.ars.hits.Load(); n != 0 {
				t.Fatalf("the IdP was asked %d times", n)
			}
		})
	}
}

func TestCheckSOAPEndpoint(t *testing.T) {
	for _, ok := range []string{"https://idp.example.com/ars", "https://10.0.0.1:8443/x", "http://127.0.0.1:8080/ars", "http://[::1]:80/ars", "http://localhost/ars", "http://LOCALHOST:9/ars", "http://127.1.2.3/x"} {
		if err := CheckSOAPEndpoint(ok); err != nil {
			t.Errorf("%s refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"http://idp.example.com/ars", "http://10.0.0.1/ars", "http://localhost.example.com/ars", "http://127.0.0.1.nip.io/ars", "ftp://idp.example.com/x", "file:///etc/passwd", "//idp.example.com/ars", "/ars", "", "https:///x", "gopher://127.0.0.1/"} {
		if err := CheckSOAPEndpoint(bad); ReasonOf(err) != ReasonArtifactResolutionFailed {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// TestArtifactACSInMetadata: the artifact ACS is advertised only when
// enabled, with an index of its own, and AuthnRequests ask for it only then.
func TestArtifactACSInMetadata(t *testing.T) {
	testKeys(t)
	for _, on := range []bool{false, true} {
		e := newEnv(t)
		sp := &ServiceProvider{EntityID: e.sp.EntityID, ACSURL: e.sp.ACSURL, SigningKeys: e.sp.SigningKeys, Requests: e.sp.Requests, ArtifactACS: on}
		md, err := sp.Metadata(SPMetadataOptions{})
		if err != nil {
			t.Fatal(err)
		}
		d, err := parseXML(md, xmldsig.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		indexes := map[string]string{}
		for n := range d.All() {
			if n.Is(nsMD, "AssertionConsumerService") {
				if _, dup := indexes[n.AttrValue("index")]; dup {
					t.Fatalf("index %s twice", n.AttrValue("index"))
				}
				indexes[n.AttrValue("index")] = n.AttrValue("Binding")
			}
		}
		if indexes["0"] != BindingHTTPPOST {
			t.Fatalf("ACS %v", indexes)
		}
		if got := indexes["1"] == BindingHTTPArtifact; got != on || len(indexes) != map[bool]int{false: 1, true: 2}[on] {
			t.Fatalf("ArtifactACS %v: ACS %v", on, indexes)
		}
		msg, err := sp.MakeAuthnRequest(context.Background(), e.idp, AuthnRequestOptions{ResponseBinding: BindingHTTPArtifact})
		if on != (err == nil) {
			t.Fatalf("ArtifactACS %v: asking for the artifact binding: %v", on, err)
		}
		if on && !strings.Contains(string(msg.XML), `ProtocolBinding="`+BindingHTTPArtifact+`"`) {
			t.Fatalf("AuthnRequest %s", msg.XML)
		}
	}
}

func TestArtifactResolutionServiceMetadata(t *testing.T) {
	testKeys(t)
	md := func(ars string) []byte {
		return []byte(`<md:EntityDescriptor xmlns:md="` + nsMD + `" xmlns:ds="` + xmldsig.NSDSig + `" entityID="` + testIdPEntity + `"><md:IDPSSODescriptor protocolSupportEnumeration="` + nsSAMLP + `"><md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>` +
			base64.StdEncoding.EncodeToString(idpCert.Raw) + `</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>` + ars +
			`<md:SingleSignOnService Binding="` + BindingHTTPRedirect + `" Location="https://idp.example.com/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>`)
	}
	idp, err := ParseIdPMetadata(md(`<md:ArtifactResolutionService Binding="`+BindingSOAP+`" Location="https://idp.example.com/ars" index="0"/><md:ArtifactResolutionService Binding="`+BindingSOAP+`" Location="https://idp.example.com/ars2" index="7" isDefault="true"/>`), MetadataOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(idp.ArtifactResolution) != 2 || idp.ArtifactResolution[1].Index != 7 || !idp.ArtifactResolution[1].IsDefault || idp.ArtifactResolution[0].Location != "https://idp.example.com/ars" || !idp.ResolvesArtifacts() {
		t.Fatalf("ArtifactResolution %+v", idp.ArtifactResolution)
	}
	if ep, ok := idp.artifactResolutionService(7); !ok || ep.Location != "https://idp.example.com/ars2" {
		t.Fatalf("index 7: %+v %v", ep, ok)
	}
	for _, bad := range []string{`index="-1"`, `index="65536"`, `index="x"`, ``, `index=""`} {
		_, err := ParseIdPMetadata(md(`<md:ArtifactResolutionService Binding="`+BindingSOAP+`" Location="https://idp.example.com/ars" `+bad+`/>`), MetadataOptions{})
		if ReasonOf(err) != ReasonMalformed {
			t.Errorf("%s: %v", bad, err)
		}
	}
	idp, err = ParseIdPMetadata(md(""), MetadataOptions{})
	if err != nil || idp.ResolvesArtifacts() {
		t.Fatalf("no ARS: %v %v", err, idp.ArtifactResolution)
	}
}

// TestArtifactAnswerStatus: an error status without a SOAP fault is a
// failed resolution, a fault is quoted.
func TestArtifactAnswerStatus(t *testing.T) {
	testKeys(t)
	e := newEnv(t)
	st, _ := e.sp.prepared()
	for _, c := range []struct {
		body   string
		status int
		msg    string
	}{
		{"oops", 500, "status 500 and no SOAP fault"},
		{"<html/>", 500, "status 500 and no SOAP fault"},
		{`<e:Envelope xmlns:e="` + nsSOAP11 + `"><e:Body><e:Fault><faultcode>e:Server</faultcode><faultstring>no such artifact</faultstring></e:Fault></e:Body></e:Envelope>`, 500, `"no such artifact"`},
	} {
		_, err := e.sp.artifactAnswer(context.Background(), st, e.idp, []byte(c.body), c.status, "https://idp.example.com/ars", "_r", ArtifactInput{})
		if ReasonOf(err) != ReasonArtifactResolutionFailed || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%q: %v", c.body, err)
		}
	}
}
