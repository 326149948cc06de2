package admin

import (
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/saml"
	"github.com/lanyard-sso/lanyard/spkeys"
)

// Certificates that never surprise: every certificate Lanyard holds (SP
// signing and encryption keys) or trusts (IdP signing certificates,
// metadata signing pins), and the identity-token keys, with their expiry,
// for `lanyard cert list`, the admin UI, the expiry gauge and the
// warnings 30 and 7 days ahead.

// Certificate uses, as HeldCertificate.Use and the gauge's "use" label
// name them.
const (
	UseSPSigning      = "sp-signing"
	UseSPEncryption   = "sp-encryption"
	UseIdPSigning     = "idp-signing"
	UseMetadataSigner = "metadata-signer"
	UseIdentityToken  = "identity-token"
)

// Warning thresholds: a certificate is flagged 30 days before it expires,
// and flagged as urgent 7 days before.
const (
	ExpiryNotice = 30 * 24 * time.Hour
	ExpiryUrgent = 7 * 24 * time.Hour
)

// HeldCertificate is one certificate (or key) with its expiry.
type HeldCertificate struct {
	Tenant string // slug; empty for identity-token keys (cluster-wide)
	IdP    string // the IdP's entity ID, for IdP certificates and pins
	Use    string // UseSPSigning...
	// Stage is the SP key's rollover stage (StageNext...), empty otherwise.
	Stage       string
	Subject     string
	Fingerprint string // SHA-256 of the certificate; the kid for identity-token keys
	NotAfter    time.Time
	// Rotates marks keys Lanyard replaces by itself (identity-token keys):
	// their expiry is no cause for alarm while rotation runs.
	Rotates bool
}

// Warning says what an administrator should do about the certificate at
// now: "" when nothing, else a sentence naming it and what to do.
func (c HeldCertificate) Warning(now time.Time) string {
	if c.Rotates || c.Stage == StageRetired {
		return ""
	}
	left := c.NotAfter.Sub(now)
	if left >= ExpiryNotice {
		return ""
	}
	var when string
	if left <= 0 {
		when = "expired on " + c.NotAfter.UTC().Format(time.DateOnly)
	} else {
		when = fmt.Sprintf("expires in %d days (%s)", int(math.Ceil(left.Hours()/24)), c.NotAfter.UTC().Format(time.DateOnly))
	}
	return fmt.Sprintf("%s: %s; %s", c.Name(), when, c.Remedy())
}

// Urgent reports whether the certificate expires within ExpiryUrgent (or
// has expired).
func (c HeldCertificate) Urgent(now time.Time) bool {
	return !c.Rotates && c.Stage != StageRetired && c.NotAfter.Sub(now) < ExpiryUrgent
}

// Name describes the certificate in a sentence.
func (c HeldCertificate) Name() string {
	switch c.Use {
	case UseSPSigning, UseSPEncryption:
		return fmt.Sprintf("tenant %s: Lanyard's %s SP certificate (%s, SHA-256 %s)", c.Tenant, strings.TrimPrefix(c.Use, "sp-"), orNone(c.Stage), c.Fingerprint)
	case UseIdPSigning:
		return fmt.Sprintf("tenant %s: signing certificate of IdP %s (SHA-256 %s)", c.Tenant, c.IdP, c.Fingerprint)
	case UseMetadataSigner:
		return fmt.Sprintf("tenant %s: metadata signing pin of IdP %s (SHA-256 %s)", c.Tenant, c.IdP, c.Fingerprint)
	default:
		return fmt.Sprintf("identity-token key %s", c.Fingerprint)
	}
}

// Remedy says what to do before the certificate expires.
func (c HeldCertificate) Remedy() string {
	switch c.Use {
	case UseSPSigning, UseSPEncryption:
		use := strings.TrimPrefix(c.Use, "sp-")
		if c.Stage == StageNext {
			return fmt.Sprintf("this next key would not outlast the rollover: after switching to it (lanyard sp-key switch --tenant %s --use %s), roll over again to a longer-lived key", c.Tenant, use)
		}
		return fmt.Sprintf("roll it over: lanyard sp-key next --tenant %s --use %s, let the IdPs refresh Lanyard's metadata, then lanyard sp-key switch and retire", c.Tenant, use)
	case UseIdPSigning:
		return "ask the IdP administrator for the new signing certificate and re-import the IdP's metadata (lanyard idp import; for an IdP configured by hand, lanyard idp add again with --cert OLD.pem --cert NEW.pem), or wait for the refresh when it comes from a URL"
	case UseMetadataSigner:
		return "ask the federation for its new metadata signing certificate and import the IdP again with --pin-cert NEW.pem"
	default:
		return "check that lanyard serve is running: it rotates these keys"
	}
}

// Certificates lists every certificate of the tenant with the slug, or of
// every tenant (and the identity-token keys) when slug is empty, ordered
// by expiry, soonest first.
func (s *Service) Certificates(ctx context.Context, slug string) ([]HeldCertificate, error) {
	var tenants []lanyard.Tenant
	if slug != "" {
		t, err := s.Tenant(ctx, slug)
		if err != nil {
			return nil, err
		}
		tenants = []lanyard.Tenant{t}
	} else {
		var err error
		if tenants, err = s.store.Tenants(ctx); err != nil {
			return nil, fmt.Errorf("certificates: %w", err)
		}
	}
	var out []HeldCertificate
	for _, t := range tenants {
		certs, err := s.tenantCertificates(ctx, t)
		if err != nil {
			return nil, err
		}
		out = append(out, certs...)
	}
	if slug == "" {
		keys, err := s.store.SigningKeys(ctx, s.now())
		if err != nil {
			return nil, fmt.Errorf("certificates: identity-token keys: %w", err)
		}
		for _, k := range keys {
			out = append(out, HeldCertificate{Use: UseIdentityToken, Fingerprint: k.ID, Subject: k.Algorithm, NotAfter: k.PublishUntil, Rotates: true})
		}
	}
	slices.SortStableFunc(out, func(a, b HeldCertificate) int { return a.NotAfter.Compare(b.NotAfter) })
	return out, nil
}

func (s *Service) tenantCertificates(ctx context.Context, t lanyard.Tenant) ([]HeldCertificate, error) {
	var out []HeldCertificate
	keys, err := s.store.SPKeys(ctx, t.ID)
	if err != nil {
		return nil, fmt.Errorf("certificates of tenant %s: SP keys: %w", t.Slug, err)
	}
	stages := keyStages(keys)
	for _, k := range keys {
		if !k.Active {
			continue // retired: neither published nor used
		}
		c := HeldCertificate{Tenant: t.Slug, Use: "sp-" + string(k.Use), Stage: stages[k.ID], NotAfter: k.NotAfter}
		if cert, err := spkeys.ParseCertificate(k.CertificatePEM); err == nil {
			c.Subject, c.Fingerprint, c.NotAfter = cert.Subject.String(), spkeys.Fingerprint(cert), cert.NotAfter
		}
		out = append(out, c)
	}
	conns, err := s.store.IdPs(ctx, t.ID)
	if err != nil {
		return nil, fmt.Errorf("certificates of tenant %s: IdPs: %w", t.Slug, err)
	}
	for _, c := range conns {
		add := func(use string, certs []*x509.Certificate) {
			for _, cert := range certs {
				out = append(out, HeldCertificate{Tenant: t.Slug, IdP: c.EntityID, Use: use, Subject: cert.Subject.String(), Fingerprint: saml.Fingerprint(cert), NotAfter: cert.NotAfter})
			}
		}
		add(UseIdPSigning, pemCerts(c.SigningCerts))
		add(UseMetadataSigner, pemCerts(c.MetadataSigners))
	}
	return out, nil
}

// CertificateWarnings returns the warnings of every certificate of every
// tenant at now, urgent ones (7 days) first.
func (s *Service) CertificateWarnings(ctx context.Context) ([]string, error) {
	certs, err := s.Certificates(ctx, "")
	if err != nil {
		return nil, err
	}
	now := s.now()
	var urgent, notice []string
	for _, c := range certs {
		w := c.Warning(now)
		switch {
		case w == "":
		case c.Urgent(now):
			urgent = append(urgent, w)
		default:
			notice = append(notice, w)
		}
	}
	return append(urgent, notice...), nil
}

// DefaultCertificateWatchInterval is how often RunCertificateWatch logs
// the certificate warnings.
const DefaultCertificateWatchInterval = 12 * time.Hour

// RunCertificateWatch runs, at start and then every interval (zero means
// DefaultCertificateWatchInterval), the due steps of automatic SP key
// rollovers (RollOverDueKeys), then logs one line per certificate that
// expires within 30 days: a warning, or an error within 7 days or once
// expired. It returns when ctx is done.
func (s *Service) RunCertificateWatch(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = DefaultCertificateWatchInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		steps, err := s.RollOverDueKeys(ctx)
		for _, step := range steps {
			s.log.InfoContext(ctx, "automatic key rollover", "step", step)
		}
		if err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "automatic key rollover", "err", err)
		}
		s.logCertificateWarnings(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *Service) logCertificateWarnings(ctx context.Context) {
	certs, err := s.Certificates(ctx, "")
	if err != nil {
		if ctx.Err() == nil {
			s.log.WarnContext(ctx, "could not check certificate expiry", "err", err)
		}
		return
	}
	now := s.now()
	for _, c := range certs {
		w := c.Warning(now)
		if w == "" {
			continue
		}
		level := slog.LevelWarn
		if c.Urgent(now) {
			level = slog.LevelError
		}
		s.log.Log(ctx, level, "certificate expires soon", "tenant", c.Tenant, "idp", c.IdP, "use", c.Use,
			"sha256", c.Fingerprint, "not_after", c.NotAfter.UTC().Format(time.RFC3339), "what_to_do", w)
	}
}
