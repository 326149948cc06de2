package main

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/lanyard-sso/lanyard/devidp"
)

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, " ") }
func (l *stringList) Set(s string) error { *l = append(*l, s); return nil }

// Files the development IdP keeps its key pair in, under --data.
const (
	devIdPKeyFile  = "devidp-key.pem"
	devIdPCertFile = "devidp-cert.pem"
)

// spMetadataRetry is how often SP metadata at a URL that did not answer
// is fetched again.
const spMetadataRetry = 5 * time.Second

// devIdP runs the development IdP until ctx is done.
func (a *app) devIdP(ctx context.Context, path string, args []string) error {
	fs := a.newFlagSet(path, "[flags]", "run a development SAML IdP for testing SSO on a laptop (never for real accounts)")
	addr := fs.String("addr", "127.0.0.1:8081", "listen `address`")
	baseURL := fs.String("base-url", "", "`URL` browsers reach the IdP at (default http://localhost:PORT)")
	usersFile := fs.String("users", "", "JSON `file` of users: [{\"username\":..., \"password\":..., \"attributes\":{\"mail\":[...]}}]")
	var userFlags, spMetadata stringList
	fs.Var(&userFlags, "user", "a user `NAME:PASSWORD[:ATTRS]`, e.g. alice:pw:mail=a@example.com,groups=staff;admins (repeatable; replaces the demo users)")
	fs.Var(&spMetadata, "sp-metadata", "SP metadata `FILE|URL` to trust (repeatable); a URL that does not answer is retried every 5s")
	keyFile := fs.String("key", "", "PEM `file` of the signing key (with --cert)")
	certFile := fs.String("cert", "", "PEM `file` of the signing certificate (with --key)")
	dataDir := fs.String("data", "", "`directory` to keep a generated key pair in across restarts (default: a new key at every start)")
	opaque := fs.Bool("opaque-nameid", false, "send an opaque per-SP persistent NameID instead of the username (to test linking by email)")
	signResponse := fs.Bool("sign-response", false, "sign the Response as well as the Assertion")
	encrypt := fs.Bool("encrypt", false, "encrypt assertions for SPs with an encryption certificate")
	denyFraming := fs.Bool("deny-framing", false, "forbid showing the IdP's pages in frames (to test an SP's popup fallback)")
	sessionTTL := fs.Duration("session-ttl", devidp.DefaultSessionTTL, "how long an IdP login lasts")
	fs.extra = "Without --user or --users, the users are alice (groups staff, admins) and bob (staff),\n" +
		"both with the password " + devidp.DemoPassword + ".\n" +
		"SIGINT or SIGTERM stop the IdP.\n"
	if _, err := fs.parse(args, 0, 0); err != nil {
		return err
	}

	// Every problem with the flags at once.
	var problems []string
	users, err := loadDevUsers(*usersFile, userFlags)
	if err != nil {
		problems = append(problems, err.Error())
	}
	if (*keyFile == "") != (*certFile == "") {
		problems = append(problems, "--key and --cert go together")
	}
	if *keyFile != "" && *dataDir != "" {
		problems = append(problems, "--data keeps a generated key: leave it out with --key and --cert")
	}
	if *baseURL != "" {
		if _, err := parseBaseURL(*baseURL); err != nil {
			problems = append(problems, "--base-url: "+err.Error())
		}
	}
	if len(problems) > 0 {
		return &usageError{cmd: path, msg: strings.Join(problems, "; ")}
	}

	key, cert, keySource, err := devIdPKeyPair(*keyFile, *certFile, *dataDir)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	defer ln.Close()
	if *baseURL == "" {
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		*baseURL = "http://" + net.JoinHostPort("localhost", port)
	}
	logger := newLogger(a.stderr, "text", slog.LevelInfo)
	idp, err := devidp.New(devidp.Config{
		BaseURL: *baseURL, Users: users, Key: key, Cert: cert,
		SessionTTL: *sessionTTL, OpaqueNameIDs: *opaque, SignResponse: *signResponse, EncryptAssertions: *encrypt, DenyFraming: *denyFraming,
		Logger: logger,
	})
	if err != nil {
		return err
	}
	var pending []string // SP metadata URLs that did not answer yet
	for _, src := range spMetadata {
		err := trustSPMetadata(ctx, idp, src)
		var unreachable *unreachableError
		switch {
		case errors.As(err, &unreachable):
			fmt.Fprintf(a.stderr, "lanyard devidp: %v; retrying every %s\n", err, spMetadataRetry)
			pending = append(pending, src)
		case err != nil:
			return err
		}
	}

	srv := &http.Server{
		Handler:           idp,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		WriteTimeout:      time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	printDevIdP(a.stdout, idp, keySource)
	if a.onListen != nil {
		a.onListen(ln.Addr())
	}
	for _, src := range pending {
		go retrySPMetadata(ctx, logger, idp, src)
	}

	var runErr error
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		runErr = fmt.Errorf("serve: %w", err)
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		logger.Warn("requests still in flight at shutdown were cut", "err", err)
		srv.Close()
	}
	logger.Info("stopped")
	return runErr
}

// printDevIdP tells the developer where the IdP is and who can log in.
func printDevIdP(w io.Writer, idp *devidp.IdP, keySource string) {
	fmt.Fprintf(w, "Development IdP (for testing only)\n")
	fmt.Fprintf(w, "  Start page:   %s\n", idp.StartURL())
	fmt.Fprintf(w, "  Metadata URL: %s\n", idp.MetadataURL())
	fmt.Fprintf(w, "  Entity ID:    %s\n", idp.EntityID())
	fmt.Fprintf(w, "  Certificate:  SHA-256 %s (%s)\n", devidp.Fingerprint(idp.Certificate()), keySource)
	fmt.Fprintln(w, "Users:")
	tw := newTable(w)
	for _, u := range idp.Users() {
		password := "(as given)"
		if idp.DemoUsersInUse() {
			password = u.Password
		}
		var attrs []string
		for k, v := range u.Attributes {
			attrs = append(attrs, k+"="+strings.Join(v, ";"))
		}
		sort.Strings(attrs)
		fmt.Fprintf(tw, "  %s\tpassword %s\t%s\n", u.Username, password, strings.Join(attrs, " "))
	}
	tw.Flush()
	sps := idp.SPs()
	if len(sps) == 0 {
		fmt.Fprintln(w, "No SP trusted yet: restart with --sp-metadata FILE|URL (e.g. http://localhost:8080/t/SLUG/saml/metadata).")
	} else {
		fmt.Fprintln(w, "Trusted SPs:")
		for _, sp := range sps {
			fmt.Fprintf(w, "  %s\n    ACS %s\n    IdP-initiated login: %s\n", sp.EntityID, sp.ACSURL, idp.InitURL(sp.EntityID, ""))
		}
	}
	fmt.Fprintf(w, "Connect a Lanyard tenant: lanyard idp import --tenant SLUG --metadata %s\n", idp.MetadataURL())
}

// loadDevUsers reads the users of --users and --user; none means the
// IdP's demo users.
func loadDevUsers(file string, flags []string) ([]devidp.User, error) {
	var users []devidp.User
	var problems []string
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			problems = append(problems, fmt.Sprintf("--users: %v", err))
		} else {
			dec := json.NewDecoder(strings.NewReader(string(data)))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&users); err != nil {
				problems = append(problems, fmt.Sprintf("--users %s: not a JSON list of users (%v); want [{\"username\":\"alice\",\"password\":\"...\",\"attributes\":{\"mail\":[\"alice@example.com\"]}}]", file, err))
			}
		}
	}
	for _, f := range flags {
		u, err := parseDevUser(f)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		users = append(users, u)
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "; "))
	}
	return users, nil
}

// parseDevUser reads "NAME:PASSWORD[:attr=v1;v2,attr=v]".
func parseDevUser(s string) (devidp.User, error) {
	parts := strings.SplitN(s, ":", 3)
	if len(parts) < 2 || parts[0] == "" || parts[1] == "" {
		return devidp.User{}, fmt.Errorf("--user %q: want NAME:PASSWORD[:attr=v1;v2,attr=v]", s)
	}
	u := devidp.User{Username: parts[0], Password: parts[1], Attributes: map[string][]string{}}
	if len(parts) == 3 && parts[2] != "" {
		for _, kv := range strings.Split(parts[2], ",") {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				return devidp.User{}, fmt.Errorf("--user %q: attribute %q is not name=value", s, kv)
			}
			u.Attributes[k] = append(u.Attributes[k], strings.Split(v, ";")...)
		}
	}
	return u, nil
}

// devIdPKeyPair returns the IdP's signing key and certificate: from
// --key/--cert, from --data (generated there the first time), or nil
// (New generates one). source says which, for the start-up message.
func devIdPKeyPair(keyFile, certFile, dataDir string) (crypto.Signer, *x509.Certificate, string, error) {
	switch {
	case keyFile != "":
		key, cert, err := readKeyPair(keyFile, certFile)
		return key, cert, "from " + keyFile, err
	case dataDir == "":
		return nil, nil, "generated for this run", nil
	}
	keyPath, certPath := filepath.Join(dataDir, devIdPKeyFile), filepath.Join(dataDir, devIdPCertFile)
	if _, err := os.Stat(keyPath); err == nil {
		key, cert, err := readKeyPair(keyPath, certPath)
		return key, cert, "kept in " + dataDir, err
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, nil, "", fmt.Errorf("devidp key: %w", err)
	}
	key, cert, err := devidp.GenerateKey("Lanyard development IdP", time.Now())
	if err != nil {
		return nil, nil, "", err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, "", fmt.Errorf("devidp key: %w", err)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, nil, "", fmt.Errorf("devidp key: %w", err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return nil, nil, "", fmt.Errorf("devidp key: %w", err)
	}
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o644); err != nil {
		return nil, nil, "", fmt.Errorf("devidp certificate: %w", err)
	}
	return key, cert, "generated and kept in " + dataDir, nil
}

// readKeyPair reads a PEM private key (PKCS#8, PKCS#1 or SEC 1) and a PEM
// certificate.
func readKeyPair(keyFile, certFile string) (crypto.Signer, *x509.Certificate, error) {
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("devidp key: %w", err)
	}
	block, _ := pem.Decode(keyPEM)
	if block == nil {
		return nil, nil, fmt.Errorf("devidp key: %s holds no PEM block", keyFile)
	}
	var parsed any
	switch block.Type {
	case "RSA PRIVATE KEY":
		parsed, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		parsed, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		parsed, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("devidp key: %s: %w", keyFile, err)
	}
	key, ok := parsed.(crypto.Signer)
	if !ok {
		return nil, nil, fmt.Errorf("devidp key: %s: a %T cannot sign", keyFile, parsed)
	}
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, nil, fmt.Errorf("devidp certificate: %w", err)
	}
	block, _ = pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, nil, fmt.Errorf("devidp certificate: %s holds no PEM CERTIFICATE", certFile)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("devidp certificate: %s: %w", certFile, err)
	}
	return key, cert, nil
}

// unreachableError is SP metadata at a URL that did not answer (the SP
// may not be running yet).
type unreachableError struct{ err error }

func (e *unreachableError) Error() string { return e.err.Error() }
func (e *unreachableError) Unwrap() error { return e.err }

// trustSPMetadata reads SP metadata from a file or an http(s) URL and
// makes the IdP trust it.
func trustSPMetadata(ctx context.Context, idp *devidp.IdP, src string) error {
	var data []byte
	if strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://") {
		reqCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(reqCtx, http.MethodGet, src, nil)
		if err != nil {
			return fmt.Errorf("--sp-metadata %s: %w", src, err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return &unreachableError{fmt.Errorf("--sp-metadata %s: %w", src, err)}
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return &unreachableError{fmt.Errorf("--sp-metadata %s: HTTP status %s", src, resp.Status)}
		}
		if data, err = io.ReadAll(io.LimitReader(resp.Body, 16<<20)); err != nil {
			return &unreachableError{fmt.Errorf("--sp-metadata %s: %w", src, err)}
		}
	} else {
		var err error
		if data, err = os.ReadFile(src); err != nil {
			return fmt.Errorf("--sp-metadata: %w", err)
		}
	}
	if err := idp.TrustSPMetadata(data); err != nil {
		return fmt.Errorf("--sp-metadata %s: %w", src, err)
	}
	return nil
}

// retrySPMetadata fetches SP metadata again until it succeeds or ctx ends.
func retrySPMetadata(ctx context.Context, logger *slog.Logger, idp *devidp.IdP, src string) {
	t := time.NewTicker(spMetadataRetry)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := trustSPMetadata(ctx, idp, src)
		if err == nil {
			logger.Info("SP metadata loaded", "source", src)
			return
		}
		var unreachable *unreachableError
		if !errors.As(err, &unreachable) {
			logger.Error("SP metadata refused; not retrying", "source", src, "err", err)
			return
		}
	}
}
