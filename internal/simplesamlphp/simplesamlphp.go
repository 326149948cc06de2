// Package simplesamlphp starts a real SimpleSAMLphp Identity Provider for
// tests: Debian's simplesamlphp package served by `php -S` on loopback, from
// a configuration written into a temporary directory
// (SIMPLESAMLPHP_CONFIG_DIR). It also drives the IdP's login form over HTTP.
//
// When PHP or SimpleSAMLphp is missing, Start skips the test with a clear
// message, except in CI (CI=true) where a missing component is a failure.
package simplesamlphp

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"html"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// WWW is where Debian installs SimpleSAMLphp's public directory.
const WWW = "/usr/share/simplesamlphp/www"

// User is an account of the test IdP.
type User struct {
	Username   string
	Password   string
	Attributes map[string][]string
}

// SP is a Service Provider the IdP trusts (a saml20-sp-remote entry).
type SP struct {
	EntityID string
	ACSURL   string
	SLOURL   string // HTTP-Redirect SingleLogoutService; empty: none
	// CertificatePEM is the SP's certificate: the IdP encrypts to it and
	// checks signed AuthnRequests and LogoutRequests with it.
	CertificatePEM string
	// SigningCertificatePEM, when set, is the SP's signing certificate and
	// CertificatePEM only its encryption certificate (an SP with one key
	// pair per use).
	SigningCertificatePEM string
	// EncryptAssertion makes the IdP encrypt assertions to CertificatePEM.
	EncryptAssertion bool
	// SharedKeyAlgorithm for encrypted assertions, e.g.
	// "http://www.w3.org/2001/04/xmlenc#aes256-cbc". SimpleSAMLphp 1.19
	// (Debian 12) honours it only with a pre-shared symmetric key: with
	// CertificatePEM it always encrypts with AES-128-CBC under
	// RSA-OAEP-MGF1P, whatever this says.
	SharedKeyAlgorithm string
	// ValidateAuthnRequest makes the IdP require signed AuthnRequests.
	ValidateAuthnRequest bool
	// NameIDFormat sent; default persistent... empty lets SimpleSAMLphp choose (transient).
	NameIDFormat string
	// NameIDAttribute names the user attribute used as the NameID value.
	NameIDAttribute string
	// AttributeNameFormat: "basic" (default) or "uri".
	AttributeNameFormat string
	// ArtifactACS adds an HTTP-Artifact AssertionConsumerService at
	// ACSURL (index 1): the IdP answers AuthnRequests asking for that
	// binding with a SAMLart (needs Options.Artifact).
	ArtifactACS bool
	// SignResponse and SignAssertion; nil keeps SimpleSAMLphp's default (both signed).
	SignResponse, SignAssertion *bool
	// SignatureAlgorithm, when set, is the algorithm the IdP signs with
	// (e.g. "http://www.w3.org/2000/09/xmldsig#rsa-sha1", which Lanyard
	// refuses by default).
	SignatureAlgorithm string
	// Keys, when set, replace CertificatePEM and SigningCertificatePEM:
	// the SP's certificates in the order of its metadata, as an IdP that
	// reads the SP metadata holds them. SimpleSAMLphp checks signatures
	// with every signing one and encrypts to the first encryption one.
	Keys []SPKey
}

// SPKey is a certificate of an SP with its uses.
type SPKey struct {
	CertificatePEM      string
	Signing, Encryption bool
}

// IdP is a running SimpleSAMLphp.
type IdP struct {
	BaseURL     string // http://127.0.0.1:PORT (or Options.Host)
	EntityID    string
	MetadataURL string
	CertPEM     string // the IdP's signing certificate
	dir         string
	mu          sync.Mutex
	sps         map[string]SP
}

// Available reports whether PHP and SimpleSAMLphp are installed.
func Available() error {
	if _, err := exec.LookPath("php"); err != nil {
		return fmt.Errorf("php not found (Debian packages: php-cli php-xml simplesamlphp)")
	}
	if _, err := os.Stat(filepath.Join(WWW, "saml2/idp/SSOService.php")); err != nil {
		return fmt.Errorf("SimpleSAMLphp not found at %s (Debian package: simplesamlphp)", WWW)
	}
	out, err := exec.Command("php", "-m").Output()
	if err != nil || !bytes.Contains(out, []byte("dom")) {
		return fmt.Errorf("php has no DOM extension (Debian package: php-xml)")
	}
	return nil
}

// availableArtifact reports whether PHP can keep SimpleSAMLphp's artifacts
// (its SQL store on SQLite).
func availableArtifact() error {
	out, err := exec.Command("php", "-m").Output()
	if err != nil || !bytes.Contains(out, []byte("pdo_sqlite")) {
		return fmt.Errorf("php has no pdo_sqlite extension (Debian package: php-sqlite3)")
	}
	return nil
}

// Require skips (or, in CI, fails) the test when SimpleSAMLphp is missing.
func Require(tb testing.TB) {
	tb.Helper()
	if err := Available(); err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("SimpleSAMLphp is required in CI: %v; scripts/test.sh installs it", err)
		}
		tb.Skipf("skipping: %v; scripts/test.sh installs it", err)
	}
}

// Options change how Start configures the IdP.
type Options struct {
	// Host is the host name in the IdP's URLs. Default 127.0.0.1: another
	// site than an SP at localhost. "localhost" makes it the same site (on
	// another port), as an IdP at idp.example.com is for an SP at
	// sp.example.com: browsers then send the IdP's session cookie (which
	// has no SameSite attribute, hence Lax, and cannot be Secure on plain
	// http) when the SP shows the IdP in a frame, the hidden-frame session
	// check.
	Host string
	// Artifact lets the IdP answer through the HTTP-Artifact binding
	// (saml20.sendartifact) and publish its ArtifactResolutionService. The
	// artifacts wait in SimpleSAMLphp's SQL store, on SQLite (PHP's
	// pdo_sqlite, Debian package php-sqlite3): the store also keeps the
	// IdP's sessions then.
	Artifact bool
	// UnsignedLogout leaves the IdP's LogoutRequests and LogoutResponses
	// unsigned: SimpleSAMLphp's own default, which Lanyard refuses.
	// Default false: signed ('sign.logout' => true in the hosted IdP).
	UnsignedLogout bool
}

// Start writes a configuration with the users and starts the IdP; it is
// stopped when the test ends.
func Start(tb testing.TB, users []User) *IdP {
	tb.Helper()
	return StartWith(tb, users, Options{})
}

// StartWith is Start with options.
func StartWith(tb testing.TB, users []User, opts Options) *IdP {
	tb.Helper()
	Require(tb)
	if opts.Artifact {
		if err := availableArtifact(); err != nil {
			if os.Getenv("CI") == "true" {
				tb.Fatalf("the artifact binding of SimpleSAMLphp is required in CI: %v; scripts/test.sh installs it", err)
			}
			tb.Skipf("skipping: %v; scripts/test.sh installs it", err)
		}
	}
	dir := tb.TempDir()
	port, err := freePort()
	if err != nil {
		tb.Fatal(err)
	}
	host := opts.Host
	if host == "" {
		host = "127.0.0.1"
	}
	base := "http://" + host + ":" + strconv.Itoa(port)
	idp := &IdP{BaseURL: base, EntityID: base + "/saml2/idp/metadata.php", MetadataURL: base + "/saml2/idp/metadata.php", dir: dir, sps: map[string]SP{}}
	for _, d := range []string{"config/metadata", "cert", "data", "tmp", "log"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	keyPEM, certPEM, err := testKeyPair("SimpleSAMLphp test IdP")
	if err != nil {
		tb.Fatal(err)
	}
	idp.CertPEM = certPEM
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	write("cert/idp.pem", keyPEM)
	write("cert/idp.crt", certPEM)
	store := "'store.type' => 'phpsession',"
	if opts.Artifact {
		store = "'store.type' => 'sql',\n  'store.sql.dsn' => " + php("sqlite:"+filepath.Join(dir, "data", "store.sqlite")) + ","
	}
	write("config/config.php", fmt.Sprintf(configPHP, php(base+"/"), php(dir+"/cert/"), php(dir+"/log/"), php(dir+"/data/"), php(dir+"/tmp"), store, php(dir+"/config/metadata")))
	write("config/authsources.php", authsourcesPHP(users))
	write("config/metadata/saml20-idp-hosted.php", fmt.Sprintf(idpHostedPHP, php(idp.EntityID), phpBool(!opts.UnsignedLogout), phpBool(opts.Artifact)))
	write("config/metadata/saml20-sp-remote.php", "<?php\n")

	// The built-in server caches compiled files in OPcache and rechecks
	// their timestamps only every few seconds (whole seconds at that):
	// TrustSP's rewritten metadata must be seen on the next request.
	cmd := exec.Command("php", "-d", "opcache.enable=0", "-S", "127.0.0.1:"+strconv.Itoa(port), "-t", WWW)
	cmd.Env = append(os.Environ(), "SIMPLESAMLPHP_CONFIG_DIR="+filepath.Join(dir, "config"))
	logFile, err := os.Create(filepath.Join(dir, "log", "php-server.log"))
	if err != nil {
		tb.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start php -S: %v", err)
	}
	tb.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logFile.Close()
		if tb.Failed() {
			for _, f := range []string{"log/php-server.log", "log/simplesamlphp.log"} {
				if b, err := os.ReadFile(filepath.Join(dir, f)); err == nil {
					tb.Logf("SimpleSAMLphp %s (tail):\n%s", f, tail(b, 4000))
				}
			}
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(idp.MetadataURL)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("SimpleSAMLphp did not answer at %s within 15s: %v", idp.MetadataURL, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return idp
}

// SSORequests counts the requests the IdP received at its single sign-on
// endpoint (sign-ins and passive checks), from the built-in server's log.
func (i *IdP) SSORequests(tb testing.TB) int {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(i.dir, "log", "php-server.log"))
	if err != nil {
		tb.Fatal(err)
	}
	n := 0
	for _, line := range bytes.Split(b, []byte("\n")) {
		// [date] 127.0.0.1:PORT [302]: GET /saml2/idp/SSOService.php?...
		if bytes.Contains(line, []byte("]: GET /saml2/idp/SSOService.php")) || bytes.Contains(line, []byte("]: POST /saml2/idp/SSOService.php")) {
			n++
		}
	}
	return n
}

// Metadata fetches the IdP's metadata XML.
func (i *IdP) Metadata(tb testing.TB) []byte {
	tb.Helper()
	resp, err := http.Get(i.MetadataURL)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		tb.Fatalf("IdP metadata: status %d, %v", resp.StatusCode, err)
	}
	return b
}

// TrustSP adds or replaces a Service Provider; SimpleSAMLphp reads its
// metadata files on every request (OPcache is off), so no restart is needed.
func (i *IdP) TrustSP(tb testing.TB, sp SP) {
	tb.Helper()
	i.mu.Lock()
	defer i.mu.Unlock()
	i.sps[sp.EntityID] = sp
	var ids []string
	for id := range i.sps {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var b strings.Builder
	b.WriteString("<?php\n")
	for _, id := range ids {
		b.WriteString(spRemotePHP(i.sps[id]))
	}
	if err := os.WriteFile(filepath.Join(i.dir, "config/metadata/saml20-sp-remote.php"), []byte(b.String()), 0o644); err != nil {
		tb.Fatal(err)
	}
}

// IdPInitiatedURL is the IdP's URL that starts an IdP-initiated
// (unsolicited) login to the SP, with a RelayState when relayState is set.
func (i *IdP) IdPInitiatedURL(spEntityID, relayState string) string {
	q := url.Values{"spentityid": {spEntityID}}
	if relayState != "" {
		q.Set("RelayState", relayState)
	}
	return i.BaseURL + "/saml2/idp/SSOService.php?" + q.Encode()
}

// Form is an HTML form that auto-posts a SAML message to its action.
type Form struct {
	Action string
	Fields url.Values
}

// Login follows a redirect chain that ends at the IdP's login form, logs in
// as user with the client (which needs a cookie jar), and returns the form
// that the IdP's answer page posts to the SP. startURL is usually the SP's
// login URL or the IdP's SSO URL.
func (i *IdP) Login(client *http.Client, startURL, username, password string) (*Form, error) {
	resp, err := client.Get(startURL)
	if err != nil {
		return nil, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if f := findPostForm(body); f != nil && f.Fields.Get("SAMLResponse") != "" {
		return f, nil // an IdP session exists: no form
	}
	state := regexp.MustCompile(`name="AuthState" value="([^"]*)"`).FindSubmatch(body)
	if state == nil {
		return nil, fmt.Errorf("no login form at %s (status %d): %s", resp.Request.URL, resp.StatusCode, tail(body, 600))
	}
	form := url.Values{"AuthState": {html.UnescapeString(string(state[1]))}, "username": {username}, "password": {password}}
	loginURL := i.BaseURL + "/module.php/core/loginuserpass.php"
	resp, err = client.PostForm(loginURL, form)
	if err != nil {
		return nil, err
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	f := findPostForm(body)
	if f == nil {
		if bytes.Contains(body, []byte(`name="AuthState"`)) {
			return nil, fmt.Errorf("IdP refused the credentials of %q", username)
		}
		return nil, fmt.Errorf("IdP answered no SAML form (status %d): %s", resp.StatusCode, tail(body, 600))
	}
	return f, nil
}

// LoginArtifact is Login for the HTTP-Artifact binding: it signs in as
// user and returns the IdP's answer, a redirect to the SP's Assertion
// Consumer Service carrying a SAMLart, without following it.
func (i *IdP) LoginArtifact(client *http.Client, startURL, username, password string) (*url.URL, error) {
	idpHost := ""
	if u, err := url.Parse(i.BaseURL); err == nil {
		idpHost = u.Host
	}
	c := *client
	var answer *url.URL
	// Redirects within the IdP are followed; the first one leaving it is
	// the answer.
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Host != idpHost && len(via) > 0 && via[len(via)-1].URL.Host == idpHost {
			answer = req.URL
			return http.ErrUseLastResponse
		}
		return nil
	}
	resp, err := c.Get(startURL)
	if err != nil {
		return nil, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if answer != nil {
		return answer, nil // an IdP session exists: no form
	}
	state := regexp.MustCompile(`name="AuthState" value="([^"]*)"`).FindSubmatch(body)
	if state == nil {
		return nil, fmt.Errorf("no login form at %s (status %d): %s", resp.Request.URL, resp.StatusCode, tail(body, 600))
	}
	form := url.Values{"AuthState": {html.UnescapeString(string(state[1]))}, "username": {username}, "password": {password}}
	resp, err = c.PostForm(i.BaseURL+"/module.php/core/loginuserpass.php", form)
	if err != nil {
		return nil, err
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if answer == nil {
		if bytes.Contains(body, []byte(`name="AuthState"`)) {
			return nil, fmt.Errorf("IdP refused the credentials of %q", username)
		}
		return nil, fmt.Errorf("IdP answered no redirect to the SP (status %d): %s", resp.StatusCode, tail(body, 600))
	}
	return answer, nil
}

// Follow gets startURL with the client, following redirects, and returns
// the auto-posting SAML form the chain ends at (a Response or a
// LogoutRequest/LogoutResponse), without a login: for passive requests and
// requests answered from an existing IdP session.
func (i *IdP) Follow(client *http.Client, startURL string) (*Form, error) {
	resp, err := client.Get(startURL)
	if err != nil {
		return nil, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if f := findPostForm(body); f != nil {
		return f, nil
	}
	return nil, fmt.Errorf("no SAML form at %s (status %d): %s", resp.Request.URL, resp.StatusCode, tail(body, 600))
}

// LogoutURL is the IdP's URL that starts an IdP-initiated Single Logout of
// the browser's IdP session (a LogoutRequest to each SP of the session in
// turn), ending at returnTo.
func (i *IdP) LogoutURL(returnTo string) string {
	return i.BaseURL + "/saml2/idp/SingleLogoutService.php?" + url.Values{"ReturnTo": {returnTo}}.Encode()
}

// Post submits the form with the client, as the browser's auto-post would.
func (f *Form) Post(client *http.Client) (*http.Response, error) {
	return client.PostForm(f.Action, f.Fields)
}

var (
	formRe  = regexp.MustCompile(`(?s)<form[^>]*method="post"[^>]*action="([^"]*)"|<form[^>]*action="([^"]*)"[^>]*method="post"`)
	inputRe = regexp.MustCompile(`<input[^>]*type="hidden"[^>]*name="([^"]*)"[^>]*value="([^"]*)"`)
)

// findPostForm extracts the auto-post form of a SimpleSAMLphp answer page.
func findPostForm(body []byte) *Form {
	m := formRe.FindSubmatch(body)
	if m == nil {
		return nil
	}
	action := string(m[1])
	if action == "" {
		action = string(m[2])
	}
	f := &Form{Action: html.UnescapeString(action), Fields: url.Values{}}
	for _, in := range inputRe.FindAllSubmatch(body, -1) {
		f.Fields.Add(html.UnescapeString(string(in[1])), html.UnescapeString(string(in[2])))
	}
	if f.Fields.Get("SAMLResponse") == "" && f.Fields.Get("SAMLRequest") == "" {
		return nil
	}
	return f
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// testKeyPair makes a throwaway RSA key and self-signed certificate: test
// fixtures only, generated on every run.
func testKeyPair(cn string) (keyPEM, certPEM string, err error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", "", err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", "", err
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk})),
		string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), nil
}

// php quotes s as a PHP single-quoted string literal.
func php(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

func phpBool(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func authsourcesPHP(users []User) string {
	var b strings.Builder
	b.WriteString("<?php\n$config = [\n  'admin' => ['core:AdminPassword'],\n  'users' => ['exampleauth:UserPass',\n")
	for _, u := range users {
		fmt.Fprintf(&b, "    %s => [", php(u.Username+":"+u.Password))
		var names []string
		for n := range u.Attributes {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(&b, "%s => [", php(n))
			for _, v := range u.Attributes[n] {
				b.WriteString(php(v) + ", ")
			}
			b.WriteString("], ")
		}
		b.WriteString("],\n")
	}
	b.WriteString("  ],\n];\n")
	return b.String()
}

func spRemotePHP(sp SP) string {
	var b strings.Builder
	fmt.Fprintf(&b, "$metadata[%s] = [\n", php(sp.EntityID))
	fmt.Fprintf(&b, "  'AssertionConsumerService' => [\n    ['Binding' => 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST', 'Location' => %s, 'index' => 0],\n", php(sp.ACSURL))
	if sp.ArtifactACS {
		fmt.Fprintf(&b, "    ['Binding' => 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact', 'Location' => %s, 'index' => 1],\n", php(sp.ACSURL))
	}
	b.WriteString("  ],\n")
	if sp.SLOURL != "" {
		fmt.Fprintf(&b, "  'SingleLogoutService' => [['Binding' => 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect', 'Location' => %s]],\n", php(sp.SLOURL))
	}
	switch {
	case len(sp.Keys) > 0:
		b.WriteString("  'keys' => [\n")
		for _, k := range sp.Keys {
			if block, _ := pem.Decode([]byte(k.CertificatePEM)); block != nil {
				fmt.Fprintf(&b, "    ['type' => 'X509Certificate', 'encryption' => %s, 'signing' => %s, 'X509Certificate' => %s],\n",
					phpBool(k.Encryption), phpBool(k.Signing), php(encodeBase64(block.Bytes)))
			}
		}
		b.WriteString("  ],\n")
	case sp.SigningCertificatePEM != "":
		b.WriteString("  'keys' => [\n")
		for _, k := range []struct {
			pem                 string
			encryption, signing bool
		}{{sp.CertificatePEM, true, false}, {sp.SigningCertificatePEM, false, true}} {
			if block, _ := pem.Decode([]byte(k.pem)); block != nil {
				fmt.Fprintf(&b, "    ['type' => 'X509Certificate', 'encryption' => %s, 'signing' => %s, 'X509Certificate' => %s],\n",
					phpBool(k.encryption), phpBool(k.signing), php(encodeBase64(block.Bytes)))
			}
		}
		b.WriteString("  ],\n")
	case sp.CertificatePEM != "":
		block, _ := pem.Decode([]byte(sp.CertificatePEM))
		if block != nil {
			fmt.Fprintf(&b, "  'certData' => %s,\n", php(encodeBase64(block.Bytes)))
		}
	}
	fmt.Fprintf(&b, "  'assertion.encryption' => %s,\n", phpBool(sp.EncryptAssertion))
	if sp.SharedKeyAlgorithm != "" {
		fmt.Fprintf(&b, "  'sharedkey_algorithm' => %s,\n", php(sp.SharedKeyAlgorithm))
	}
	fmt.Fprintf(&b, "  'validate.authnrequest' => %s,\n", phpBool(sp.ValidateAuthnRequest))
	fmt.Fprintf(&b, "  'validate.logout' => %s,\n", phpBool(sp.ValidateAuthnRequest))
	if sp.NameIDFormat != "" {
		fmt.Fprintf(&b, "  'NameIDFormat' => %s,\n", php(sp.NameIDFormat))
	}
	if sp.NameIDAttribute != "" {
		fmt.Fprintf(&b, "  'simplesaml.nameidattribute' => %s,\n", php(sp.NameIDAttribute))
	}
	switch sp.AttributeNameFormat {
	case "uri":
		b.WriteString("  'attributes.NameFormat' => 'urn:oasis:names:tc:SAML:2.0:attrname-format:uri',\n")
	case "", "basic":
		b.WriteString("  'attributes.NameFormat' => 'urn:oasis:names:tc:SAML:2.0:attrname-format:basic',\n")
	}
	if sp.SignResponse != nil {
		fmt.Fprintf(&b, "  'saml20.sign.response' => %s,\n", phpBool(*sp.SignResponse))
	}
	if sp.SignAssertion != nil {
		fmt.Fprintf(&b, "  'saml20.sign.assertion' => %s,\n", phpBool(*sp.SignAssertion))
	}
	if sp.SignatureAlgorithm != "" {
		fmt.Fprintf(&b, "  'signature.algorithm' => %s,\n", php(sp.SignatureAlgorithm))
	}
	b.WriteString("];\n")
	return b.String()
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

const configPHP = `<?php
// Test configuration written by internal/simplesamlphp; not for production.
$config = [
  'baseurlpath' => %s,
  'certdir' => %s,
  'loggingdir' => %s,
  'datadir' => %s,
  'tempdir' => %s,
  'secretsalt' => 'lanyard-test-salt-not-a-secret',
  'auth.adminpassword' => 'lanyard-test-admin',
  'technicalcontact_name' => 'Lanyard tests',
  'technicalcontact_email' => 'tests@example.org',
  'timezone' => 'UTC',
  'logging.level' => SimpleSAML\Logger::DEBUG,
  'logging.handler' => 'file',
  'logging.logfile' => 'simplesamlphp.log',
  'enable.saml20-idp' => true,
  'session.cookie.secure' => false,
  'session.cookie.samesite' => null,
  'session.phpsession.cookiename' => 'SimpleSAMLSessionID',
  %s
  // ReturnTo of IdP-initiated logout: the SPs on loopback, any port.
  'trusted.url.domains' => ['localhost(:[0-9]+)?', '127\\.0\\.0\\.1(:[0-9]+)?'],
  'trusted.url.regex' => true,
  'module.enable' => ['exampleauth' => true, 'core' => true, 'saml' => true, 'admin' => true],
  'metadata.sources' => [['type' => 'flatfile', 'directory' => %s]],
];
`

const idpHostedPHP = `<?php
$metadata[%s] = [
  'host' => '__DEFAULT__',
  'privatekey' => 'idp.pem',
  'certificate' => 'idp.crt',
  'auth' => 'users',
  'signature.algorithm' => 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  'SingleLogoutServiceBinding' => 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect',
  // LogoutRequests and LogoutResponses signed, as Lanyard requires
  // (unless Options.UnsignedLogout).
  'sign.logout' => %s,
  // HTTP-Artifact binding and the ArtifactResolutionService (Options.Artifact).
  'saml20.sendartifact' => %s,
];
`
